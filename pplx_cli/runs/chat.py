"""A chat session (``pplx chat``): one conversation, prompt after prompt, each turn an
:class:`~pplx_cli.runs.exchange.Exchange`.

The session holds what carries from one turn to the next, as ``pplx ask -c`` would read it
back from the history: the conversation id, the messages so far and the response id a
follow-up continues from (``previous_response_id``); the request options (which ``/model``,
``/effort`` and ``/search`` change); the attachments for the next prompt; what the
conversation has cost. Each turn is recorded in the history as it ends, by its Exchange.

A turn sent to the background is polled to its end in a thread of its own, recorded, and
handed to ``on_end`` (called in that thread). Nothing here reads a terminal or knows click:
writers and callbacks are given.
"""

import contextlib
import threading
import time
from typing import NamedTuple

from pplx_cli.choices import Background, Conversation, Request
from pplx_cli.errors import DryRun, UsageError, outcome
from pplx_cli.numbers import number, whole
from pplx_cli.runs.exchange import Exchange


class Turn(NamedTuple):
    """A prompt as sent, and the conversation as it stood before it (what /retry restores)."""

    prompt: str
    attachments: tuple
    previous: str
    messages: tuple


class Ended(NamedTuple):
    """A background turn that has ended: its conversation, prompt and run id, the answer
    collected (an AnswerWriter that printed nothing), its exit status and error."""

    cid: str
    prompt: str
    run_id: str
    writer: object
    status: int
    error: str


class Totals:
    """What a conversation has cost in this session: exchanges sent, tokens, dollars."""

    def __init__(self):
        self.exchanges = 0
        self.tokens = 0
        self.cost = 0.0
        self.estimated = False

    def add(self, meta: dict):
        """Count one exchange's metadata (its usage, when it has one)."""
        self.exchanges += 1
        usage = meta.get("usage") if isinstance(meta.get("usage"), dict) else {}
        self.tokens += whole(usage.get("total_tokens")) or 0
        cost = usage.get("cost") if isinstance(usage.get("cost"), dict) else {}
        if number(cost.get("total_cost")) is not None and cost["total_cost"] >= 0:
            self.cost += cost["total_cost"]
            self.estimated = self.estimated or cost.get("estimated") is True


class _TurnExchange(Exchange):
    """An exchange of the session: its record is written under ``shield`` (the session's
    Ctrl-C waits for it: a turn that ended is recorded whole)."""

    shield = contextlib.nullcontext()

    def record(self, *args):
        with self.shield:
            super().record(*args)


class ChatSession:
    """The state a conversation carries from turn to turn (see the module docstring)."""

    def __init__(self, request: Request, conn, conversation: Conversation, attachments=(), *, warn, note, err=None,
                 dry_run_out=None, shield=None):
        """Check the settings and the key and resolve ``-c``/``--cid`` now, before any prompt
        (a usage or key error ends the command before the session begins)."""
        from pplx_cli.store.config import Settings, new_cid

        self.request, self.conn, self.no_log = request, conn, conversation.no_log
        self.warn, self.note, self.err = warn, note, err
        self.shield = shield or contextlib.nullcontext()
        first = self._exchange("", attachments, conversation=conversation)
        first.dry_run_out = dry_run_out
        self.settings, self.log, self.client = first.settings, first.log, first.client()
        self.defaults = Settings({"api": request.api}, warn=lambda message: None)  # what a turn resolves unset options to
        self.continued = bool(conversation.cid or conversation.continue_)
        if self.continued:  # the conversation's model, effort and system prompt, unless given again
            opts = first.opts
            if not first.explicit_model:
                self.request = self.request._replace(model=opts.model, models=tuple(opts.models) if opts.models else None,
                                                     effort=opts.effort)
            self.request = self.request._replace(system=opts.system)
        self._begin(first.cid or new_cid(), list(first.messages), first.previous_response_id)
        self.pending = list(first.attachments)  # -a, and --reattach's: with the first prompt
        self.running = {}  # run id -> the Exchange of a background turn still going

    def _begin(self, cid, messages, previous):
        self.cid, self.messages, self.previous = cid, messages, previous
        self.totals = Totals()
        self.last = None  # the last Turn sent (/retry)
        self.last_writer = None  # the writer of the last answer (/sources)

    def new(self):
        """/new: a fresh conversation, with the options as they are now."""
        from pplx_cli.store.config import new_cid

        self._begin(new_cid(), [], None)

    # ---- what answers ----

    def label(self) -> str:
        """The model or effort that answers the next prompt (``fast``, ``openai/gpt-5.1``,
        ``openai/gpt-5.1 · low``), as a turn resolves it."""
        from pplx_cli.dialects.request import DEFAULT_CHAT_MODEL, DEFAULT_EFFORT

        r = self.request
        if r.models:
            return r.models[0] + (f" +{len(r.models) - 1}" if len(r.models) > 1 else "")
        model = r.model or self.defaults.get("model")
        if (r.api or self.defaults.get("api")) == "chat":
            return model or DEFAULT_CHAT_MODEL
        effort = r.effort or r.preset or self.defaults.get("effort")
        return " · ".join(x for x in (model, effort) if x) or DEFAULT_EFFORT

    def set_model(self, model: str):
        """/model ID: the prompts that follow are answered by ``model`` (in place of the
        session's model, fallback chain or effort)."""
        if (self.request.api or self.defaults.get("api")) == "agent":
            from pplx_cli.dialects.request import agent_model

            agent_model(model)  # a model id the Agent API cannot take is a usage error now, not at the next prompt
        self.request = self.request._replace(model=model, models=None, effort=None, preset=None)

    def set_effort(self, effort: str):
        """/effort LEVEL: the prompts that follow are answered with ``effort`` (in place of the
        session's model, fallback chain or effort)."""
        from pplx_cli.dialects.request import check_effort

        try:
            check_effort(effort)
        except ValueError as e:
            raise UsageError(str(e)) from None
        self.request = self.request._replace(effort=effort, model=None, models=None, preset=None)

    def set_search(self, on: bool):
        """/search on|off."""
        self.request = self.request._replace(no_search=not on)

    def attach(self, spec: str):
        """/attach PATH|URL: read and check it now; it goes with the next prompt."""
        from pplx_cli.runs.attachments import read_attachments

        if spec == "-":
            raise UsageError("stdin is the conversation: attach a file or a URL")
        [attachment] = read_attachments([spec])
        self.pending.append(attachment)
        return attachment

    # ---- turns ----

    def ask(self, prompt: str, writer):
        """One turn, its answer streamed to ``writer`` and recorded as it ends; its error (or
        Ctrl-C) is raised once the conversation has taken what arrived."""
        attachments, self.pending = tuple(self.pending), []
        self.last = Turn(prompt, attachments, self.previous, tuple(self.messages))
        self._send(self.last, writer)

    def retry(self, writer):
        """/retry: the last prompt again, from where the conversation stood before it."""
        if self.last is None:
            raise UsageError("there is no prompt to retry yet")
        self.previous, self.messages = self.last.previous, list(self.last.messages)
        self._send(self.last, writer)

    def _send(self, turn: Turn, writer):
        exchange = self._exchange(turn.prompt, turn.attachments)
        self.last_writer = writer
        try:
            exchange.stream(writer)
        except (DryRun, UsageError):  # nothing was sent
            raise
        except BaseException as e:
            self._took(exchange, turn.prompt, writer, outcome(e)[0])
            raise
        self._took(exchange, turn.prompt, writer, 0)

    def _took(self, exchange, prompt, writer, status):
        """The conversation after a turn, as the history has it: an answer (even one cut
        short) joins the messages; a complete, stored Agent API answer is the next turn's
        ``previous_response_id``."""
        self.totals.add(writer.meta)
        answer = writer.answer()
        if not answer:
            return
        self.messages += [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]
        rid = writer.meta.get("id")
        continuable = exchange.api == "agent" and status == 0 and exchange.opts.store and isinstance(rid, str) and rid
        self.previous = rid if continuable else None

    def _exchange(self, prompt, attachments, *, conversation=None, background=False):
        run = Background(background=True, detach=True) if background else Background()
        exchange = _TurnExchange("ask" if background else "stream", prompt, request=self.request, conn=self.conn,
                                 conversation=conversation or Conversation(no_log=self.no_log), run=run,
                                 attachments=attachments, warn=self.warn, note=self.note, err=self.err)
        exchange.shield = self.shield
        if conversation is None:  # a turn of this session: its conversation as the session holds it
            exchange.cid, exchange.messages, exchange.previous_response_id = self.cid, list(self.messages), self.previous
            exchange.shared_client = self.client
        return exchange

    # ---- background turns ----

    def send_background(self, prompt: str, on_end) -> str:
        """/background: send ``prompt`` as a background run of this conversation and return
        its id at once; a thread polls it to its end, records it, and calls ``on_end(Ended)``.
        The conversation's next turns do not wait for it (nor continue from it)."""
        import io

        from pplx_cli.output.writer import AnswerWriter

        attachments, self.pending = tuple(self.pending), []
        exchange = self._exchange(prompt, attachments, background=True)
        exchange.shield = contextlib.nullcontext()  # recorded in the watching thread, which Ctrl-C never reaches
        exchange.ask(AnswerWriter(io.BytesIO(), io.BytesIO(), meta=False))  # the run's id, written nowhere
        self.running[exchange.run_id] = exchange
        threading.Thread(target=self._watch, args=(exchange, on_end), name=f"pplx chat {exchange.run_id}",
                         daemon=True).start()
        return exchange.run_id

    def _watch(self, exchange, on_end):
        import io

        from pplx_cli.dialects.pieces import META, Piece
        from pplx_cli.dialects.stream import body_pieces
        from pplx_cli.output.writer import AnswerWriter
        from pplx_cli.runs.resume import poll

        started = time.monotonic()
        collected = AnswerWriter(io.BytesIO(), io.BytesIO(), meta=False)
        status, error = 0, None
        try:
            final = poll(exchange._client, exchange.run_id)
            exchange.run_status = final.get("status") if isinstance(final.get("status"), str) else None
            collected.write(Piece(META, {}))
            collected.render(body_pieces(final, "agent"))
        except Exception as e:  # the run failed, or could not be followed: its one line, in the announcement
            status, error = outcome(e)
        exchange.log_exchange = True  # its answer is recorded now that it has one (the run, when it began)
        exchange.record(collected, status, error, round(time.monotonic() - started, 3))
        self.running.pop(exchange.run_id, None)
        on_end(Ended(exchange.cid, exchange.prompt, exchange.run_id, collected, status, error))

    def count(self, ended: Ended):
        """A background answer's cost, counted in its conversation's totals when announced
        (unless /new has begun another since it was sent)."""
        if ended.cid == self.cid:
            self.totals.add(ended.writer.meta)

    # ---- the record ----

    def records(self) -> list:
        """The conversation as the history holds it (decoded records); a PplxError when
        nothing is recorded (--no-log, ``log = false``) or nothing is there yet."""
        from pplx_cli.errors import PplxError
        from pplx_cli.store.history import History, HistoryError, decode_record
        from pplx_cli.store.paths import history_path

        if not self.log:
            raise PplxError("this session records nothing in the history (--no-log, or log = false): there is nothing to save")
        try:
            with History(history_path(self.settings.env), create=False) as history:
                rows = history.conversation(self.cid)
        except HistoryError as e:
            raise PplxError(f"cannot read the history: {e}") from None
        if not rows:
            raise PplxError(f"the conversation {self.cid} has no exchange in the history yet")
        return [decode_record(row) for row in rows]
