"""One exchange: settings and key, the API choice and its fallback, the request, the
answer written by an :class:`~pplx_cli.output.AnswerWriter`, and its record in the history.

``cli`` builds an :class:`Exchange` from the command's options and calls ``ask``,
``stream`` or ``raw``; errors propagate as :class:`~pplx_cli.errors.PplxError` for ``cli``
to map to exit codes.
"""

import sys
import time

from pplx_cli.config import Settings, read_api_choice, remember_api_choice
from pplx_cli.errors import (
    AgentAPIRequired,
    ExitCode,
    NetworkError,
    PplxError,
    StreamError,
    StreamIncomplete,
    UsageError,
    outcome,
    register_secret,
)
from pplx_cli.request import API_PATHS, RequestOptions, agent_unmapped, build_body


def request_options(p: dict, settings: Settings) -> RequestOptions:
    """The command's options as RequestOptions (model and stream mode resolved)."""
    domains = list(p["domains"]) + ["-" + d.lstrip("-") for d in p["excluded"]]
    return RequestOptions(
        model=settings.get("model"),
        system=p["system"], max_tokens=p["max_tokens"], temperature=p["temperature"], top_p=p["top_p"],
        search_mode=p["search_mode"], domains=domains, recency=p["recency"], after=p["after"],
        before=p["before"], context_size=p["context_size"], images=p["images"], related=p["related"],
        no_search=p["no_search"], reasoning_effort=p["reasoning_effort"], json_schema=p["json_schema"],
        preset=p["preset"], stream_mode=settings.get("stream_mode"), overrides=p["overrides"],
    )


def _logged_options(opts: RequestOptions, api_setting: str) -> dict:
    """The request options worth keeping in the history: the ones set."""
    from dataclasses import asdict

    out = {k: v for k, v in asdict(opts).items() if v not in (None, False, [], "")}
    out.pop("system", None)  # its own column
    out["api"] = api_setting
    return out


class Exchange:
    """A prompt about to be sent, with everything resolved before anything is sent."""

    def __init__(self, mode: str, prompt: str, p: dict, *, warn, note):
        self.mode = mode  # ask, stream or raw
        self.prompt = prompt
        self.p = p
        self.warn = warn
        self.note = note
        self.settings = Settings(
            {"model": p["model"], "base_url": p["base_url"], "timeout": p["timeout"], "retries": p["retries"],
             "stream_mode": p.get("stream_mode"), "api": p["api"]},
            warn=warn,
        )
        self.opts = request_options(p, self.settings)
        self.key = self.settings.api_key()
        register_secret(self.key)
        self.base_url = self.settings.get("base_url")
        self.api_setting = "agent" if p["preset"] else self.settings.get("api")
        self.timeout = float(self.settings.get("timeout"))
        self.api = None
        # history: raw records nothing; --no-log or `log = false` turn recording off
        self.log = mode != "raw" and not p.get("no_log") and self.settings.get("log")
        self.cid = None
        self.messages = []
        if self.log or p.get("cid") or p.get("continue_"):  # `stream --raw -c` continues too
            self._resolve_conversation()

    # ---- the conversation ----

    def _resolve_conversation(self):
        from pplx_cli.history import HistoryError, history_messages, history_path, new_cid

        self.history_path = history_path(self.settings.env)
        wanted = self.p.get("cid")
        if not (wanted or self.p.get("continue_")):
            self.cid = new_cid()
            return
        try:
            with self._history(create=False) as history:
                cid = wanted or history.latest_cid()
                exchanges = history.conversation(cid) if cid else []
        except HistoryError as e:
            raise UsageError(f"cannot continue: {e}") from None
        if not exchanges:
            raise UsageError(f"no conversation {wanted!r} in the history" if wanted else "no conversation to continue: the history is empty")
        self.cid = cid
        self.messages = history_messages(exchanges)
        if self.opts.system is None:
            self.opts.system = exchanges[-1]["system"]  # the conversation's system prompt, unless -s replaces it

    def _history(self, create=True):
        from pplx_cli.history import History

        return History(self.history_path, create=create)

    def record(self, writer, exit_status: int, error, duration: float):
        """Write the exchange to the history; a failure is one warning, never an error."""
        if not self.log:
            return
        from pplx_cli.history import HistoryError

        try:
            with self._history() as history:
                history.record(
                    cid=self.cid, api=self.api, model=self.opts.preset or self.opts.model, system=self.opts.system,
                    prompt=self.prompt, options=_logged_options(self.opts, self.api_setting),
                    answer=writer.answer(), reasoning="".join(writer.reasoning) or None,
                    meta=writer.metadata(error), duration=duration, exit_status=exit_status, error=error,
                )
        except HistoryError as e:
            self.warn(f"history not recorded: {e}")

    # ---- sending ----

    def send(self):
        """Send the request; on the Agent API's retirement 403 under ``auto``, fall back once."""
        from pplx_cli.client import Client

        client = Client(
            base_url=self.base_url, api_key=self.key, timeout=self.timeout, retries=int(self.settings.get("retries")),
            verbose=self.p["verbose"], quiet=self.p["quiet"], err=sys.stderr,
        )
        api = self.api_setting
        if api == "auto":
            api = read_api_choice(self.settings.env, self.base_url, self.key) or "chat"
        try:
            return self._post(client, api)
        except AgentAPIRequired as e:
            if self.api_setting != "auto":
                e.message += " (try --api agent)"
                raise
        if not self.p["quiet"]:
            self.note("Sonar chat completions are not available for this key; using the Agent API")
        remember_api_choice(self.settings.env, self.base_url, self.key, "agent")
        return self._post(client, "agent")

    def _post(self, client, api):
        self.api = api
        if api == "agent" and not self.p["quiet"]:
            for name in agent_unmapped(self.opts):
                self.note(f"{name} has no Agent API equivalent; not sent")
        stream = self.mode != "ask"
        body = build_body(api, self.prompt, self.opts, stream=stream, history=self.messages)
        return client.post(API_PATHS[api], body, stream=stream)

    # ---- the three ways to run ----

    def raw(self, out):
        """``pplx raw``: the body byte for byte, flushed per read."""
        from pplx_cli.client import iter_body

        for chunk in iter_body(self.send()):
            out.write(chunk)
            out.flush()

    def stream(self, writer):
        """``pplx stream``: each text delta written as its event completes."""
        from pplx_cli.client import check_stream_type, iter_body
        from pplx_cli.pieces import PieceStream
        from pplx_cli.sse import iter_sse

        def run():
            response = self.send()
            check_stream_type(response)
            pieces = PieceStream(iter_sse(iter_body(response)), api=self.api)
            writer.render(self._live(pieces))
            return writer

        self._recorded(run, writer)

    def ask(self, writer, raw=False):
        """``pplx ask``: the complete answer; with ``raw`` the JSON body as received."""

        def run():
            import json

            from pplx_cli.client import read_body, summarise_body
            from pplx_cli.pieces import body_pieces

            response = self.send()
            body = read_body(response)
            if raw:
                writer.out.write(body)
                writer.out.flush()
                return self._collect(body)
            try:
                obj = json.loads(body)
            except ValueError:
                summary = summarise_body(body, response.headers.get("Content-Type", ""))
                raise StreamError(f"the response is not JSON: {summary}") from None
            writer.render(body_pieces(obj, self.api))
            return writer

        self._recorded(run, writer)

    def _collect(self, body: bytes):
        """A writer that has read a raw body without printing it, for the history."""
        import io
        import json

        from pplx_cli.output import AnswerWriter
        from pplx_cli.pieces import body_pieces

        collector = AnswerWriter(io.BytesIO(), io.BytesIO(), meta=False)
        try:
            for piece in body_pieces(json.loads(body), self.api):
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
        except BaseException as e:  # errors, closed stdout, Ctrl-C, SIGTERM
            status, error = outcome(e)
            raise
        finally:
            self.record(writer, status, error, round(time.monotonic() - started, 3))

    def _live(self, stream):
        """The pieces of a live stream; an early end is a lost connection (exit 5)."""
        try:
            yield from stream
        except StreamIncomplete as e:
            raise NetworkError(f"connection lost after {e.events} events") from None
        except NetworkError as e:
            if e.timed_out:
                raise NetworkError(f"timed out after {stream.events} events: no data for {self.timeout:g}s") from None
            raise NetworkError(f"connection lost after {stream.events} events") from None
