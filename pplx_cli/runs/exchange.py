"""One exchange: settings and key, the API choice and its fallback, the request, the
answer written by an :class:`~pplx_cli.output.writer.AnswerWriter`, and its record in the history.

A command builds an :class:`Exchange` from its options and calls ``ask``, ``stream`` or
``raw``; errors propagate as :class:`~pplx_cli.errors.PplxError` for ``cli`` to map to exit
codes. Nothing here knows click or ``sys.stdout``: streams and the note/warn callbacks
are given.
"""

import time

from pplx_cli.choices import Background, Connection, Conversation, Downloads, Request
from pplx_cli.store.caches import read_api_choice, remember_api_choice
from pplx_cli.store.config import Settings, check_transport
from pplx_cli.runs.background import BackgroundRuns
from pplx_cli.runs.conversation import Conversations
from pplx_cli.wire.bodies import header_meta
from pplx_cli.errors import (
    AgentAPIRequired,
    APIError,
    DryRun,
    NotSent,
    ExitCode,
    NetworkError,
    PplxError,
    StreamError,
    StreamIncomplete,
    Terminated,
    UsageError,
    outcome,
    register_secret,
)
from pplx_cli.dialects.pieces import META, Piece
from pplx_cli.dialects.request import (
    API_PATHS, EFFORTS, RequestOptions, agent_unmapped, build_body, chat_unmapped, ignored_without_search, unknown_effort,
)


def request_options(r: Request, settings: Settings, attachments=()) -> RequestOptions:
    """The user's request choices as RequestOptions (model, effort and stream mode resolved)."""
    domains = list(r.domains) + ["-" + d.lstrip("-") for d in r.excluded]
    if r.recency and (r.after or r.before):
        raise UsageError("--recency cannot be combined with --after or --before (the API refuses it)")
    tool_choice = r.tool_choice
    if r.force_search:
        if tool_choice not in (None, "web_search"):
            raise UsageError(f"--force-search is --tool-choice web_search, not {tool_choice}: give one of them")
        tool_choice = "web_search"
    # a profile is the configuration: the model and effort of the environment or config file
    # are defaults it replaces; only -m, --models or --effort given here count (and an effort is refused)
    model = None if r.models else r.model if r.profile else settings.get("model")
    effort = (r.effort or r.preset) if r.profile else settings.get("effort")
    return RequestOptions(
        model=model, models=list(r.models) if r.models else None,
        effort=effort, system=r.system, max_tokens=r.max_tokens, temperature=r.temperature, top_p=r.top_p,
        search_type=r.search_type, max_results=r.max_results, country=r.country, domains=domains,
        recency=r.recency, after=r.after, before=r.before, updated_after=r.updated_after,
        updated_before=r.updated_before, context_size=r.context_size, fetch=r.fetch, no_search=r.no_search,
        search_mode=r.search_mode, images=r.images, related=r.related, reasoning_effort=r.reasoning_effort,
        json_schema=r.json_schema, store=not r.no_store, stream_mode=settings.get("stream_mode"),
        overrides=list(r.overrides), attachments=[a.part for a in attachments],
        code=r.code, image_domains=list(r.image_domains), image_formats=list(r.image_formats), people=r.people,
        finance=r.finance, tool_choice=tool_choice, profile=r.profile, skills=list(r.skills),
    )


class Exchange(Conversations, BackgroundRuns):
    """A prompt about to be sent, with everything resolved before anything is sent."""

    def __init__(self, mode: str, prompt: str, *, request: Request, conn: Connection, conversation: Conversation = None,
                 run: Background = None, attachments=(), downloads: Downloads = None, warn, note, err=None):
        self.mode = mode  # ask, stream or raw
        self.prompt = prompt
        self.conversation = conversation or Conversation()
        self.run = run or Background()
        self.attachments = list(attachments)  # read and checked; --reattach adds the conversation's
        self.downloads = downloads  # where the run's shared files go; None: a batch line's, not looked at
        self.warn = warn
        self.note = note
        self.err = err
        self.conn = conn
        effort = request.effort or request.preset
        if request.preset and not conn.quiet:
            note("--preset is deprecated; use --effort (it sends the same field)")
        self.settings = Settings(
            {"model": request.model, "effort": effort, "base_url": conn.base_url, "timeout": conn.timeout,
             "retries": conn.retries, "stream_mode": request.stream_mode, "api": request.api, "ca_bundle": conn.cacert},
            warn=warn,
        )
        self.explicit_model = bool(request.model or request.models or effort or request.profile)
        self.opts = request_options(request, self.settings, self.attachments)
        if unknown_effort(self.opts.effort) and not conn.quiet:
            note(f"effort {self.opts.effort!r} is not one of the documented levels ({', '.join(EFFORTS)}): "
                 "sent as given; the service says if it does not know it")
        self.key = self.settings.api_key()
        register_secret(self.key)
        self.base_url = check_transport(self.settings.get("base_url"), self.conn.allow_http)
        self.api_setting = self.settings.get("api")
        self.timeout = float(self.settings.get("timeout"))
        self.api = None
        self.requested = None  # the model (or effort) the request named, for the history
        self.headers_meta = {}
        # history: raw records nothing; --no-log or `log = false` turn recording off
        self.log = mode != "raw" and not self.conversation.no_log and self.settings.get("log")
        self.cid = None
        self.messages = []
        self.previous_response_id = None
        self.background = False  # the request runs in the background (set when it is built)
        self.run_id = None
        self.run_status = None
        self._client = None
        self.shared_client = None  # pplx batch: one client (connection pool, rate limiter) for every line
        self.shared_history = None  # pplx batch: one history (a SharedHistory) for every line
        self.dry_run_out = None  # --dry-run: where the request is printed instead of sent
        self.batch_id = None
        self.exchange_id = None  # the history's id of this exchange, once recorded
        self._sleep = time.sleep
        self.log_exchange = True
        self.answered = None  # called once the answer is written, before the history (pplx ask lets go of stdout)
        if self.log or self.conversation.cid or self.conversation.continue_:  # `stream --raw -c` continues too
            self._resolve_conversation()

    # ---- the conversation ----


    # ---- sending ----

    def client(self):
        """The HTTP client for this exchange's base URL and key."""
        if self.shared_client is not None:
            return self.shared_client
        from pplx_cli.wire.client import Client

        client = Client(
            base_url=self.base_url, api_key=self.key, timeout=self.timeout, retries=int(self.settings.get("retries")),
            verbose=self.conn.verbose, quiet=self.conn.quiet, say=self.warn_line if self.err is not None else None,
            **dict(zip(("ca_bundle", "ca_source"), self.settings.ca_bundle(self.base_url))),
        )
        client.dry_run = self.dry_run_out
        client.key_hint = self.settings.key_hint(self.key)
        return client

    def send(self):
        """Send the request; on the retirement 403 under ``--api auto``, fall back to the Agent API once."""
        client = self._client = self.client()
        api = self.api_setting
        if api == "auto":
            api = read_api_choice(self.settings.env, self.base_url, self.key) or "chat"
        try:
            return self._post(client, api)
        except AgentAPIRequired:
            if self.api_setting != "auto":
                raise
        if not self.conn.quiet:
            self.note("Sonar chat completions are not available for this key; using the Agent API")
        remember_api_choice(self.settings.env, self.base_url, self.key, "agent")
        return self._post(client, "agent")

    def _notes(self, api):
        """Say which options were not sent to the API that answered."""
        if self.conn.quiet:
            return
        for name in (agent_unmapped if api == "agent" else chat_unmapped)(self.opts):
            self.note(f"{name} has no {'Agent API' if api == 'agent' else 'chat completions'} equivalent; not sent")
        for name in ignored_without_search(self.opts):
            self.note(f"{name} does nothing with --no-search; not sent")

    def _post(self, client, api):
        self.api = api
        stream = self.mode != "ask"
        previous = self.previous_response_id if api == "agent" else None
        history = () if previous else self.messages
        body = build_body(api, self.prompt, self.opts, stream=stream, history=history, previous_response_id=previous)
        self._background(api, body, stream)
        models = body.get("models")
        self.requested = body.get("model") or (models[0] if isinstance(models, list) and models else None) or body.get("effort")
        try:
            response = client.post(API_PATHS[api], body, stream=body["stream"] if "background" in body else stream)
        except APIError as e:
            if not (previous and e.status == 400):
                raise
            # the stored response is gone (expired, or another account's): send the conversation instead
            if not self.conn.quiet:
                self.note("the previous response could not be continued; sending the conversation instead")
            self.previous_response_id = None
            body = build_body(api, self.prompt, self.opts, stream=stream, history=self.messages)
            response = client.post(API_PATHS[api], body, stream=stream)
        self.headers_meta = header_meta(response.headers)
        self._notes(api)  # after the answer began: under --api auto the API that answers is known only now
        return response

    # ---- the three ways to run ----

    def raw(self, out):
        """``pplx raw``: the body byte for byte, flushed per read."""
        from pplx_cli.wire.bodies import iter_body

        from pplx_cli.output.streams import write_error

        for chunk in iter_body(self.send()):
            try:
                out.write(chunk)
                out.flush()
            except BrokenPipeError:
                raise
            except OSError as e:
                raise write_error(e) from None

    def stream(self, writer):
        """``pplx stream``: each text delta written as its event completes."""
        from pplx_cli.wire.bodies import check_stream_type, iter_body
        from pplx_cli.dialects.stream import PieceStream
        from pplx_cli.wire.sse import iter_sse

        def run():
            response = self.send()
            if self.run.detach and self.background:
                return self._submit(response, writer)
            writer.write(Piece(META, self.headers_meta))
            check_stream_type(response)
            events = iter_sse(iter_body(response))
            if self.background:
                events = self._resuming(events)
            pieces = PieceStream(events, api=self.api)
            try:
                writer.render(self._live(pieces))
            except (KeyboardInterrupt, Terminated):
                self._detached()
                raise
            finally:
                self._say_unknown(pieces.parser)
            self._finished(writer)
            return writer

        self._recorded(run, writer)
        self._save_files(writer)

    def warn_line(self, line: str):
        """A line already prefixed (pplx: ...), on stderr."""
        from pplx_cli.output.messages import say

        say(line)

    def ask(self, writer, raw=False):
        """``pplx ask``: the complete answer; with ``raw`` the JSON body as received."""

        def run():
            from pplx_cli import jsonsafe
            from pplx_cli.wire.bodies import read_body, summarise_body
            from pplx_cli.dialects.stream import body_pieces

            response = self.send()
            if self.run.detach and self.background:
                return self._submit(response, writer)
            writer.write(Piece(META, self.headers_meta))
            body = read_body(response)
            if self.background and not raw:
                body = self._poll_body(body, writer)
            if raw:
                writer.stop_status()
                writer.out.write(body)
                writer.out.flush()
                return self._collect(body)
            try:
                obj = jsonsafe.loads(body)
            except ValueError:
                summary = summarise_body(body, response.headers.get("Content-Type", ""))
                raise StreamError(f"the response is not JSON: {summary}") from None
            pieces = body_pieces(obj, self.api)
            try:
                writer.render(pieces)
            finally:
                self._say_unknown(getattr(pieces, "parser", None))
            return writer

        self._recorded(run, writer)
        if not raw:
            self._save_files(writer)

    def _save_files(self, writer):
        """After the answer and its record: the files the run shared, saved (-O) or said to be there."""
        if self.downloads is None or self.run.detach or self.api != "agent":
            return
        if self.downloads.directory is None and not writer.meta.get("files"):
            return  # nothing shared and nowhere asked to save: the download machinery is not imported
        from pplx_cli.runs.files import save_shared

        save_shared(self._client, writer.meta, self.downloads, note=self.note, warn=self.warn, quiet=self.conn.quiet)

    def _say_unknown(self, parser):
        """With -v: how many events, and output items, of types pplx does not know were ignored."""
        if not self.conn.verbose:
            return
        tools = getattr(parser, "tools", None)
        for unknown, what in ((getattr(parser, "unknown", None), "event"), (getattr(tools, "unknown", None), "output item")):
            if unknown:
                kinds = ", ".join(f"{kind} ({n})" for kind, n in sorted(unknown.items()))
                total = sum(unknown.values())
                self.note(f"ignored {total} {what}{'s' if total != 1 else ''} of unknown "
                          f"type{'s' if len(unknown) != 1 else ''}: {kinds}")

    def _collect(self, body: bytes):
        """A writer that has read a raw body without printing it, for the history."""
        import io

        from pplx_cli import jsonsafe
        from pplx_cli.output.writer import AnswerWriter
        from pplx_cli.dialects.stream import body_pieces

        collector = AnswerWriter(io.BytesIO(), io.BytesIO(), meta=False)
        collector.write(Piece(META, self.headers_meta))
        try:
            for piece in body_pieces(jsonsafe.loads(body), self.api):
                collector.write(piece)
        except (ValueError, PplxError):
            pass  # the body was printed as received; the history keeps what could be read of it
        return collector

    def _recorded(self, run, writer):
        """Run, then record the exchange whatever happened (with what arrived and the error)."""
        started = time.monotonic()
        status, error = int(ExitCode.OK), None
        try:
            writer = run() or writer
            if self.answered is not None:
                self.answered()
        except (DryRun, NotSent, UsageError):
            self.log_exchange = False  # nothing was sent (a usage error is found before sending): nothing to record
            raise
        except BaseException as e:  # errors, closed stdout, Ctrl-C, SIGTERM
            status, error = outcome(e)
            if isinstance(e, BrokenPipeError) and getattr(writer, "delivered", False):
                status, error = int(ExitCode.OK), None  # the reader had the whole answer before it went
            raise
        finally:
            self.record(writer, status, error, round(time.monotonic() - started, 3))

    def _live(self, stream):
        """The pieces of a live stream; an early end is a lost connection (exit 5)."""
        try:
            yield from stream
        except StreamIncomplete as e:
            raise NetworkError(f"connection lost after {_events(e.events)}") from None
        except NetworkError as e:
            if e.timed_out:
                raise NetworkError(f"timed out after {_events(stream.events)}: no data for {self.timeout:g}s") from None
            raise NetworkError(f"connection lost after {_events(stream.events)}") from None


def _events(n: int) -> str:
    return f"{n} event" if n == 1 else f"{n} events"


