"""Background runs on the Agent API (``background: true, store: true``): streams that resume
after a lost connection, polling a run to its end, and cancelling it.

The service keeps a background run on its side: ``GET /v1/responses/{id}`` reports it,
``GET /v1/responses/{id}?stream=true&starting_after=N`` replays its events after event N,
``POST /v1/responses/{id}/cancel`` stops it. Nothing here writes to stdout or knows click.
"""

import json
import re
import time

from pplx_cli.errors import APIError, NetworkError, PplxError, RateLimitError
from pplx_cli.runs.statuses import GOING, TERMINAL, ended
from pplx_cli.wire.sse import Event

#: Polling starts at FIRST_POLL seconds and grows by POLL_GROWTH to at most LAST_POLL; a
#: Retry-After wins, but never below POLL_FLOOR (a server that says 0 is not polled flat out).
FIRST_POLL, POLL_GROWTH, LAST_POLL, POLL_FLOOR = 1.0, 1.5, 15.0, 0.5
#: Polls in a row whose answer names no status before polling gives up on the run.
MAX_NAMELESS = 5

_SEQUENCE = re.compile(r'"sequence_number"\s*:\s*(\d{1,15})[,}\s]')
_TYPE = re.compile(r'"type"\s*:\s*"([^"]+)"')


def sequence_of(event: Event):
    """An event's ``sequence_number`` (read without decoding the whole event), or None: a
    negative one, or one past 15 digits (2**63, 10**400), is no cursor to resume after."""
    m = _SEQUENCE.search(event.data)
    return int(m.group(1)) if m else None


def type_of(event: Event) -> str:
    """An event's type: its ``event:`` line, else the first ``"type"`` of its data."""
    if event.type and event.type != "message":
        return event.type
    m = _TYPE.search(event.data)
    return m.group(1) if m else ""


def response_id_of(event: Event):
    """The run's id from a ``response.*`` event that carries the response object, or None."""
    if '"response"' not in event.data:
        return None
    try:
        obj = json.loads(event.data)
    except (ValueError, RecursionError):
        return None
    response = obj.get("response") if isinstance(obj, dict) else None
    rid = response.get("id") if isinstance(response, dict) else None
    return rid if isinstance(rid, str) and rid else None


def is_terminal(kind: str) -> bool:
    return kind == "error" or kind.rpartition(".")[2] in TERMINAL and kind.startswith("response.")


def run_path(rid: str) -> str:
    from urllib.parse import quote

    return f"/v1/responses/{quote(rid, safe='')}"


class ResumingEvents:
    """The events of a background run's stream, resumed across lost connections.

    Iterate it as the event source of a :class:`~pplx_cli.dialects.pieces.PieceStream`. When the
    connection is lost or stalls before the run's terminal event, it reconnects with
    ``starting_after`` = the last event it handed on (with backoff, up to ``retries`` times
    per loss); events already handed on are never handed on again. A resume the service
    refuses (an expired cursor: 400; an unstored run: 404), or retries used up, falls back
    to polling the run to its end, and the final response is handed on as its terminal
    event, so the text that was missed is printed from it. Only when that fails too is the
    loss raised (NetworkError: exit 5, what arrived kept).
    """

    def __init__(self, client, events, *, retries, say=None, sleep=time.sleep, on_id=None):
        self.client = client
        self.events = events  # the first connection's events
        self.retries = retries
        self.say = say or (lambda line: None)
        self.sleep = sleep
        self.on_id = on_id
        self.id = None
        self.last = None  # the sequence number of the last event handed on
        self.handed = 0
        self.done = False
        self.resumes = 0
        self.spent = 0  # resume attempts since events last arrived: --retries bounds them per loss
        self.handed_at_loss = None

    def __iter__(self):
        events = self.events
        while True:
            try:
                for event in events:
                    seq = sequence_of(event)
                    if seq is not None and self.last is not None and seq <= self.last:
                        continue  # replayed: handed on already
                    if self.id is None:
                        self._learn_id(response_id_of(event))
                    kind = type_of(event)
                    self.handed += 1
                    yield event
                    if seq is not None:
                        self.last = seq
                    if is_terminal(kind):
                        self.done = True
                        return
                if self.done:
                    return
                lost = NetworkError("the stream ended before the run did")
            except NetworkError as e:
                lost = e
            if self.id is None:
                raise lost
            if self.handed != self.handed_at_loss:  # events arrived since the last loss: a new loss
                self.spent = 0
            self.handed_at_loss = self.handed
            events = self._resume(lost)
            if events is None:
                yield from self.poll_to_end(lost)
                return

    def _learn_id(self, rid):
        if rid:
            self.id = rid
            if self.on_id:
                self.on_id(rid)

    def _resume(self, lost):
        """A new event iterator after ``self.last``, or None when resuming is refused or fails."""
        from pplx_cli.wire.bodies import check_stream_type, iter_body
        from pplx_cli.wire.retrying import backoff
        from pplx_cli.wire.sse import iter_sse

        why = "stalled" if getattr(lost, "timed_out", False) else "lost"
        if self.last is None and self.handed:
            # events without sequence numbers: no cursor to resume after, and a replay from the
            # start would repeat what was handed on (forever, if the stream keeps breaking)
            self.say(f"pplx: note: connection {why} after {self.handed} events that carry no sequence numbers; "
                     f"polling the run {self.id} to its end instead of resuming")
            return None
        after = -1 if self.last is None else self.last
        while self.spent < self.retries:
            self.spent += 1
            attempt = self.spent
            wait = backoff(attempt - 1)
            self.say(f"pplx: note: connection {why} after {self.handed} events; resuming run {self.id} after event {after} "
                     f"in {wait:.1f}s ({attempt}/{self.retries})")
            self.sleep(wait)
            try:
                response = self.client.get(f"{run_path(self.id)}?stream=true&starting_after={after}", stream=True)
                check_stream_type(response)
            except APIError as e:
                if e.status in (400, 404):  # an expired cursor, or a run that was not stored
                    self.say(f"pplx: note: the run's stream cannot be resumed ({e.message}); polling it to its end")
                    return None
                raise
            except NetworkError as e:
                if _hopeless(e):
                    raise
                continue
            self.resumes += 1
            return iter_sse(iter_body(response))
        return None

    def poll_to_end(self, lost):
        """The run's final response, polled, as its terminal event."""
        try:
            final = poll(self.client, self.id, sleep=self.sleep, say=self.say)
        except PplxError:
            raise lost from None
        status = final.get("status") if isinstance(final.get("status"), str) else "completed"
        kind = f"response.{status}"
        self.done = True
        yield Event(kind, json.dumps({"type": kind, "response": final}))


def phase(state: dict) -> str:
    """A run's state for the progress line: its status, and its searches so far."""
    status = state.get("status") if isinstance(state.get("status"), str) else "queued"
    n = searches(state)
    return status.replace("_", " ") + (f" · {n} search{'es' if n != 1 else ''}" if n else "")


def searches(state: dict) -> int:
    """How many searches a run's output holds so far."""
    output = state.get("output") if isinstance(state.get("output"), list) else []
    return sum(1 for item in output if isinstance(item, dict) and item.get("type") == "search_results")


def get_run(client, rid: str):
    """``(the run's response object, seconds to wait before asking again or None)``."""
    from pplx_cli.wire.bodies import read_object
    from pplx_cli.wire.retrying import parse_retry_after

    response = client.get(run_path(rid))
    wait = parse_retry_after(response.headers.get("Retry-After"))
    return read_object(response, "the run's state"), wait


def poll(client, rid: str, *, sleep=time.sleep, on_state=None, clock=time.monotonic, say=None):
    """Poll a run until it ends and return its final response object.

    The interval grows from FIRST_POLL to LAST_POLL seconds; a ``Retry-After`` wins. A
    network error (or a 5xx/429 the client gave up on) is retried as long as the run may be
    alive: polling goes on until the run ends or the user stops it. A 404 (an unknown or
    unstored run) and other client errors end it with their error.
    """
    interval = FIRST_POLL
    failing = False
    nameless, told = 0, set()
    while True:
        try:
            state, wait = get_run(client, rid)
        except (NetworkError, RateLimitError, APIError) as e:
            if isinstance(e, APIError) and not isinstance(e, RateLimitError) and e.status is not None and e.status < 500:
                raise
            if _hopeless(e):
                raise
            state, wait = None, None
            if not failing and say:  # once per spell of failures: polling goes on, and the user knows why it waits
                say(f"pplx: note: cannot reach the run {rid} ({e.message}); still trying (Ctrl-C stops waiting, not the run)")
            failing = True
        else:
            failing = False
        if state is not None:
            if on_state:
                on_state(state)
            status = state.get("status")
            if ended(status):
                return state
            if not isinstance(status, str) or not status:  # a state that says nothing is not polled forever
                nameless += 1
                if nameless >= MAX_NAMELESS:
                    raise PplxError(f"the service's answers about the run {rid} name no status "
                                    f"({MAX_NAMELESS} polls in a row); stopped waiting")
            else:
                nameless = 0
                if status not in GOING and status not in told and say:  # a status the API added: said, and polled on
                    told.add(status)
                    say(f"pplx: note: the run {rid} is {status!r}, a status pplx does not know; still waiting for it to end")
        sleep(max(interval if wait is None else wait, POLL_FLOOR))
        interval = min(interval * POLL_GROWTH, LAST_POLL)


def _hopeless(error) -> bool:
    """A failure that trying again cannot mend: a TLS handshake that failed (a certificate
    that does not verify fails alike every time)."""
    from pplx_cli.wire.client import TLSError

    return isinstance(error, TLSError)


def cancel(client, rid: str) -> dict:
    """Ask the service to cancel a run; its answer (``{"response_id", "status": "cancelling"}``)."""
    from pplx_cli.wire.bodies import read_body
    from pplx_cli.jsonsafe import loads

    response = client.post(f"{run_path(rid)}/cancel", {}, stream=False)
    try:
        obj = loads(read_body(response))
    except ValueError:
        obj = {}
    return obj if isinstance(obj, dict) else {}
