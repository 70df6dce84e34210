"""One exchange: settings and key, the API choice and its fallback, the request, the
answer written by an :class:`~pplx_cli.output.writer.AnswerWriter`, and its record in the history.

A command builds an :class:`Exchange` from its options and calls ``ask``, ``stream`` or
``raw``; errors propagate as :class:`~pplx_cli.errors.PplxError` for ``cli`` to map to exit
codes. Nothing here knows click or ``sys.stdout``: streams and the note/warn callbacks
are given.
"""

import time

from pplx_cli.store.config import Settings, check_transport, read_api_choice, remember_api_choice, resolve_connection
from pplx_cli.runs import resume as runs
from pplx_cli.runs.background import BackgroundRuns
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
from pplx_cli.dialects.request import API_PATHS, RequestOptions, agent_unmapped, build_body, chat_unmapped, ignored_without_search

#: Request options a follow-up takes from its conversation unless -m, --models or --effort is given.
CONVERSATION_KEYS = ("model", "models", "effort")


def request_options(p: dict, settings: Settings) -> RequestOptions:
    """The command's options as RequestOptions (model, effort and stream mode resolved)."""
    domains = list(p["domains"]) + ["-" + d.lstrip("-") for d in p["excluded"]]
    if p["recency"] and (p["after"] or p["before"]):
        raise UsageError("--recency cannot be combined with --after or --before (the API refuses it)")
    return RequestOptions(
        model=None if p["models"] else settings.get("model"), models=p["models"], effort=settings.get("effort"),
        system=p["system"], max_tokens=p["max_tokens"], temperature=p["temperature"], top_p=p["top_p"],
        search_type=p["search_type"], max_results=p["max_results"], country=p["country"], domains=domains,
        recency=p["recency"], after=p["after"], before=p["before"], updated_after=p["updated_after"],
        updated_before=p["updated_before"], context_size=p["context_size"], fetch=p["fetch"], no_search=p["no_search"],
        search_mode=p["search_mode"], images=p["images"], related=p["related"], reasoning_effort=p["reasoning_effort"],
        json_schema=p["json_schema"], store=not p["no_store"], stream_mode=settings.get("stream_mode"),
        overrides=p["overrides"], attachments=[a.part for a in p.get("attachments") or ()],
    )


def header_meta(headers) -> dict:
    """``request_id`` and ``ratelimit`` (limit, remaining, reset, used) from response headers."""
    meta = {}
    if headers.get("x-request-id"):
        meta["request_id"] = headers["x-request-id"]
    from pplx_cli.numbers import header_whole

    limits = {}
    for name in ("limit", "remaining", "reset", "used"):
        value = header_whole(headers.get(f"x-ratelimit-{name}"))  # a date, text or a sign is no count: left out
        if value is not None:
            limits[name] = value
    if limits:
        meta["ratelimit"] = limits
    return meta


class Exchange(BackgroundRuns):
    """A prompt about to be sent, with everything resolved before anything is sent."""

    def __init__(self, mode: str, prompt: str, p: dict, *, warn, note, err=None):
        self.mode = mode  # ask, stream or raw
        self.prompt = prompt
        self.p = p
        self.warn = warn
        self.note = note
        self.err = err
        self.conn = resolve_connection(p)
        effort = p["effort"] or p["preset"]
        if p["preset"] and not self.conn.quiet:
            note("--preset is deprecated; use --effort (it sends the same field)")
        self.settings = Settings(
            {"model": p["model"], "effort": effort, "base_url": self.conn.base_url, "timeout": self.conn.timeout,
             "retries": self.conn.retries, "stream_mode": p.get("stream_mode"), "api": p["api"], "ca_bundle": self.conn.cacert},
            warn=warn,
        )
        self.explicit_model = bool(p["model"] or p["models"] or effort)
        self.opts = request_options(p, self.settings)
        self.key = self.settings.api_key()
        register_secret(self.key)
        self.base_url = check_transport(self.settings.get("base_url"), self.conn.allow_http)
        self.api_setting = self.settings.get("api")
        self.timeout = float(self.settings.get("timeout"))
        self.api = None
        self.requested = None  # the model (or effort) the request named, for the history
        self.headers_meta = {}
        # history: raw records nothing; --no-log or `log = false` turn recording off
        self.log = mode != "raw" and not p.get("no_log") and self.settings.get("log")
        self.cid = None
        self.messages = []
        self.previous_response_id = None
        self.background = False  # the request runs in the background (set when it is built)
        self.run_id = None
        self.run_status = None
        self._client = None
        self.shared_client = None  # pplx batch: one client (connection pool, rate limiter) for every line
        self.dry_run_out = None  # --dry-run: where the request is printed instead of sent
        self.batch_id = None
        self._sleep = time.sleep
        self.log_exchange = True
        if self.log or p.get("cid") or p.get("continue_"):  # `stream --raw -c` continues too
            self._resolve_conversation()

    # ---- the conversation ----

    def _resolve_conversation(self):
        from pplx_cli.store.config import history_path, new_cid

        self.history_path = history_path(self.settings.env)
        wanted = self.p.get("cid")
        if not (wanted or self.p.get("continue_")):
            self.cid = new_cid()
            return
        from pplx_cli.store.history import HistoryError, history_messages

        try:
            with self._history(create=False) as history:
                cid = wanted or history.latest_cid()
                exchanges = history.conversation(cid) if cid else []
        except HistoryError as e:
            raise UsageError(f"cannot continue: {e}") from None
        if not exchanges:
            raise UsageError(f"no conversation {wanted!r} in the history" if wanted else "no conversation to continue: the history holds no ask or stream exchange")
        self.cid = cid
        self.messages = history_messages(exchanges)
        last = exchanges[-1]
        if self.opts.system is None:
            self.opts.system = last["system"]  # the conversation's system prompt, unless -s replaces it
        answered = [e for e in exchanges if e["answer"]]
        options = _options_of(answered[-1] if answered else last)
        if not self.explicit_model:  # the conversation's model and effort, unless given again
            for key in CONVERSATION_KEYS:
                setattr(self.opts, key, options.get(key))
        if answered:
            self.previous_response_id = _continuable_id(answered[-1])
        if self.p.get("reattach"):
            self._reattach(exchanges)

    def _reattach(self, exchanges):
        """--reattach: the conversation's earlier attachments, read again from where they
        were (a file that changed since, by its SHA-256, or is gone is a usage error)."""
        from pplx_cli.runs.attachments import read_attachments

        earlier = [a for e in exchanges for a in (_options_of(e).get("attachments") or []) if isinstance(a, dict)]
        for record in earlier:
            source = record.get("source")
            if not isinstance(source, str) or source == "-":
                raise UsageError(f"cannot reattach {record.get('name')}: it was read from stdin")
            [again] = read_attachments([source])
            if record.get("sha256") and again.sha256 != record["sha256"]:
                raise UsageError(f"cannot reattach {source}: it has changed since it was sent")
            self.p["attachments"] = list(self.p.get("attachments") or []) + [again]
            self.opts.attachments.append(again.part)

    def _history(self, create=True):
        from pplx_cli.store.history import History

        return History(self.history_path, create=create)

    def logged_options(self) -> dict:
        """The request options worth keeping in the history: the ones set."""
        from dataclasses import asdict

        out = {k: v for k, v in asdict(self.opts).items() if v not in (None, False, [], "") and k != "attachments"}
        out.pop("system", None)  # its own column
        if self.p.get("attachments"):  # what they were, never their bytes
            out["attachments"] = [a.record() for a in self.p["attachments"]]
        out["store"] = self.opts.store
        out["api"] = self.api_setting
        return out

    def record(self, writer, exit_status: int, error, duration: float):
        """Write the exchange to the history; a failure is one warning, never an error."""
        if not self.log or not self.log_exchange:
            return
        from pplx_cli.store.history import HistoryError

        try:
            with self._history() as history:
                exchange_id = history.record(
                    cid=self.cid, api=self.api, model=self.requested, system=self.opts.system,
                    prompt=self.prompt, options=self.logged_options(),
                    answer=writer.answer(), reasoning="".join(writer.reasoning) or None,
                    meta=writer.metadata(error), duration=duration, exit_status=exit_status, error=error,
                    batch=self.batch_id,
                )
                if self.run_id and runs.ended(self.run_status):
                    history.set_run(self.run_id, self.run_status, exchange_id)
        except HistoryError as e:
            self.warn(f"history not recorded: {e}")

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
            if self.p.get("detach") and self.background:
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
            if self.p.get("detach") and self.background:
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
            writer.render(body_pieces(obj, self.api))
            return writer

        self._recorded(run, writer)

    def _say_unknown(self, parser):
        """With -v: how many events of types pplx does not know were ignored."""
        unknown = getattr(parser, "unknown", None)
        if self.conn.verbose and unknown:
            kinds = ", ".join(f"{kind} ({n})" for kind, n in sorted(unknown.items()))
            total = sum(unknown.values())
            self.note(f"ignored {total} event{'s' if total != 1 else ''} of unknown type{'s' if len(unknown) != 1 else ''}: {kinds}")

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


def _options_of(exchange) -> dict:
    from pplx_cli import jsonsafe

    try:
        options = jsonsafe.loads(exchange.get("options") or "{}")
    except ValueError:
        return {}
    return options if isinstance(options, dict) else {}


def _continuable_id(exchange):
    """The response id a follow-up can continue from: an Agent API exchange that completed
    and was stored (``store`` sent as true), else None."""
    from pplx_cli import jsonsafe

    if exchange.get("api") != "agent" or exchange.get("exit_status") != 0 or _options_of(exchange).get("store") is not True:
        return None
    try:
        meta = jsonsafe.loads(exchange.get("meta") or "{}")
    except ValueError:
        return None
    rid = meta.get("id") if isinstance(meta, dict) else None
    return rid if isinstance(rid, str) and rid else None
