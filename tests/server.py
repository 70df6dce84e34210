"""A scriptable threaded HTTP server on 127.0.0.1 for tests that need a real socket.

Each request to a path takes the next :class:`Reply` queued for it (the last one repeats).
A reply can stream its body in parts with delays, in chunked, Content-Length or
connection-close framing, stall before headers, drop the connection mid-body, or write every
byte on its own. Every request is recorded with its headers and JSON body.

It also speaks the Agent API the way the real service does (see PERPLEXITY_API.md):
``POST /v1/responses`` (and ``/v1/agent``) is validated strictly before any queued reply, an
:class:`AgentRun` queued there is rendered as an event stream or a JSON body depending on the
request, completed runs are stored for ``previous_response_id``, and ``GET /v1/models`` lists
models. With nothing queued, an Agent API request gets a default ``AgentRun()``.

Background runs (``"background": true``) live on the server as a :class:`RunState` in
``api.runs``, moved on by polls, the wall clock or the test (see :class:`BackgroundRun`):
``GET /v1/responses/{id}`` polls one, ``?stream=true&starting_after=N`` replays its events after N
(then follows it live), and ``POST /v1/responses/{id}/cancel`` cancels it.

A test may set ``api.keys`` to the set of keys the service accepts; any other key gets the
service's 401 (``invalid_api_key``) on every path that checks keys.

tests/batch_server.py adds an enforced request rate limit (``api.rate_limit``), a latency
(``api.latency``) and the Files and Batch APIs; tests/platform_server.py the Search, Context and
Embeddings APIs; tests/structured_server.py the answers to requests for structured output.
"""

import copy
import json
import re
import socket
import threading
import time
import uuid
from urllib.parse import parse_qs, urlsplit
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    """What the server sends for one request."""

    status: int = 200
    parts: list = field(default_factory=list)  # bytes written one after another (or an iterable of them; DROP ends it)
    headers: dict = field(default_factory=lambda: {"Content-Type": "text/event-stream"})
    framing: str = "chunked"  # chunked | length | close
    delay: float = 0.0  # seconds before each part after the first
    stall_before_headers: float = 0.0
    drop_after: int = None  # close the socket after this many parts, mid-body
    bytewise: bool = False  # write every byte of every part on its own
    no_response: bool = False  # read the request, then close the connection without a status line
    sent_at: list = field(default_factory=list)  # time.monotonic() as each part's last byte was written


def sse(*objects, event=None) -> bytes:
    """``data: <json>`` events (and an ``event:`` line when given), each ended by a blank line."""
    out = []
    for obj in objects:
        data = obj if isinstance(obj, str) else json.dumps(obj, separators=(",", ":"))
        out.append((f"event: {event}\n" if event else "") + f"data: {data}\n\n")
    return "".join(out).encode()


def text_events(content, finish=False, item_id="msg_t") -> bytes:
    """A minimal Agent API stream piece: one text delta event, and with ``finish`` the run's
    ``response.completed`` event (no output items, no usage)."""
    out = sse({"type": "response.output_text.delta", "item_id": item_id, "delta": content})
    if finish:
        out += sse({"type": "response.completed", "response": {"id": "resp_t", "status": "completed", "model": "perplexity/sonar",
                                                               "output": [], "usage": None}})
    return out


def json_reply(obj, status=200, headers=None) -> Reply:
    """A JSON body sent with Content-Length."""
    body = json.dumps(obj).encode()
    return Reply(status=status, parts=[body], headers={"Content-Type": "application/json", **(headers or {})}, framing="length")


def agent_error(status, message, type="invalid_request", param=None, headers=None) -> Reply:
    """The Agent API's error envelope: ``{"error": {"message", "type", "code": status, "param"?}}``."""
    error = {"message": message, "type": type, "code": status}
    if param is not None:
        error["param"] = param
    return json_reply({"error": error}, status, headers)


# ---- the Agent API's data ----

#: The request fields the Agent API accepts; like the real one, the fake rejects any other.
AGENT_FIELDS = {
    "input", "effort", "preset", "profile", "model", "models", "instructions", "max_output_tokens", "reasoning",
    "tools", "tool_choice", "response_format", "stream", "background", "store", "previous_response_id",
    "temperature", "top_p", "language_preference", "max_steps", "max_tool_calls", "prompt_cache_key", "service_tier",
    # also accepted per Perplexity's migration guide (request-mapping.md)
    "metadata", "truncation", "parallel_tool_calls", "skills", "stream_options",
}
AGENT_PATHS = ("/v1/responses", "/v1/agent")
#: A response's own paths: ``GET /v1/responses/{id}`` and ``POST /v1/responses/{id}/cancel``.
RUN_PATH = re.compile(r"/v1/responses/([^/]+)(/cancel)?")
#: An effort, optionally pinned to a dated configuration: ``fast@2026-10-16.0``.
EFFORT = re.compile(r"(fast|low|medium|high|xhigh)(@[0-9A-Za-z.\-]+)?")
#: The preset names from before efforts existed, still accepted in ``preset``.
OLD_PRESETS = {"fast-search", "pro-search", "deep-research", "advanced-deep-research"}
#: The answering model when the request names none (an effort picks it).
DEFAULT_MODEL = "openai/gpt-5.1"

DEFAULT_TEXT = "Canberra is the capital of Australia [1]."
DEFAULT_SEARCHES = [{"queries": ["capital of Australia"], "results": [
    {"id": 1, "url": "https://en.wikipedia.org/wiki/Canberra", "title": "Canberra - Wikipedia",
     "snippet": "Canberra is the capital city of Australia.", "date": "2001-10-12", "last_updated": "2026-09-30",
     "source": "web"},
    {"id": 2, "url": "https://www.britannica.com/place/Canberra", "title": "Canberra | History, Map, & Population",
     "snippet": "Canberra, federal capital of the Commonwealth of Australia.", "date": "1998-07-20",
     "last_updated": "2026-08-14", "source": "web"},
]}]
#: The usage of the doc's real capture (25 September 2026).
DEFAULT_USAGE = {
    "input_tokens": 3007, "output_tokens": 36, "total_tokens": 3043,
    "input_tokens_details": {"cache_creation_input_tokens": 1224, "cache_read_input_tokens": 1780, "cached_tokens": 1780},
    "output_tokens_details": {"reasoning_tokens": 0},
    "tool_calls_details": {"search_web": {"cost_usd": 0.001, "invocation": 1}},
    "cost": {"currency": "USD", "input_cost": 0, "output_cost": 0.00002, "cache_creation_cost": 0.00015,
             "cache_read_cost": 0.00002, "tool_calls_cost": 0.001, "tool_calls_cost_details": {"search_web": 0.001},
             "total_cost": 0.00119},
}
#: What ``GET /v1/models`` lists by default (prices in USD per million tokens).
MODELS = [
    {"id": "perplexity/sonar", "object": "model", "created": 0, "owned_by": "perplexity",
     "pricing": {"input": 0.25, "output": 2.5, "cache_read": 0.0625, "unit": "usd_per_1m_tokens"}},
    {"id": "openai/gpt-5.1", "object": "model", "created": 0, "owned_by": "openai",
     "pricing": {"input": 1.25, "output": 10.0, "cache_read": 0.125, "unit": "usd_per_1m_tokens"}},
    {"id": "openai/gpt-5-mini", "object": "model", "created": 0, "owned_by": "openai",
     "pricing": {"input": 0.25, "output": 2.0, "cache_read": 0.025, "unit": "usd_per_1m_tokens"}},
    {"id": "anthropic/claude-sonnet-4-5", "object": "model", "created": 0, "owned_by": "anthropic",
     "pricing": {"input": 3.0, "output": 15.0, "cache_read": 0.3, "unit": "usd_per_1m_tokens"}},
    {"id": "google/gemini-2.5-pro", "object": "model", "created": 0, "owned_by": "google",
     "pricing": {"input": 1.25, "output": 10.0, "cache_read": 0.125, "unit": "usd_per_1m_tokens"}},
    {"id": "xai/grok-4", "object": "model", "created": 0, "owned_by": "xai",
     "pricing": {"input": 3.0, "output": 15.0, "cache_read": 0.75, "unit": "usd_per_1m_tokens"}},
]
#: Event types a client does not know and must skip (``unknown_events``).
UNKNOWN_EVENTS = [("response.skill.loaded", {"skill": {"name": "web-research", "version": "3"}}),
                  ("response.plan.updated", {"plan": ["search", "answer"]})]
TERMINAL = {"completed": "response.completed", "incomplete": "response.incomplete",
            "cancelled": "response.cancelled", "requires_action": "response.requires_action"}


def _hex():
    return uuid.uuid4().hex[:24]


def split_deltas(text, deltas=None):
    """The text as deltas: one per word with its spaces (None), or N nearly equal pieces (an int)."""
    if deltas is None:
        return re.findall(r"\s*\S+\s*", text) or ([text] if text else [])
    n = max(1, min(deltas, len(text)))
    size, extra = divmod(len(text), n)
    out, at = [], 0
    for i in range(n):
        end = at + size + (1 if i < extra else 0)
        out.append(text[at:end])
        at = end
    return out


@dataclass
class AgentRun:
    """A simulated Agent API run; queue it like a Reply and it is rendered for each request."""

    text: str = DEFAULT_TEXT  # the answer; "" sends no message item at all
    deltas: int = None  # None: one delta per word (spaces kept); N: N nearly equal deltas
    drop_deltas: set = field(default_factory=set)  # indices of deltas not sent (their sequence numbers are skipped)
    searches: list = field(default_factory=lambda: copy.deepcopy(DEFAULT_SEARCHES))  # [{"queries", "results"}]
    fetches: list = field(default_factory=list)  # [{"urls", "contents": [{"url", "title", "content"}]}]
    status: str = "completed"  # completed | failed | incomplete | cancelled | requires_action | error
    incomplete_reason: str = None  # incomplete_details.reason, e.g. "max_output_tokens"
    error: object = None  # failed/error/cancelled: a message, or the whole error object
    flat_error: bool = False  # status "error": {"type":"error","message","code"} instead of {"type":"error","error":{...}}
    model: str = None  # the answering model; None: the first model sent, else DEFAULT_MODEL
    id: str = None  # the response id; None: a new "resp_<uuid>" per request
    event_lines: bool = True  # an "event: <type>" line before each data line
    seq_gaps: bool = False  # sequence numbers rise but skip some values
    unknown_events: int = 0  # this many events of types a client does not know, spread through the stream
    usage: dict = field(default_factory=lambda: copy.deepcopy(DEFAULT_USAGE))  # None: "usage": null
    framing: str = "chunked"  # chunked | close | length (streams; a JSON body always has Content-Length)
    delay: float = 0.0  # seconds between events
    drop_after: int = None  # drop the connection after this many events
    headers: dict = field(default_factory=dict)  # extra response headers (they win over the fake's own)
    sent_at: list = field(default_factory=list)  # as Reply.sent_at, over every request this run answered
    # the other tools (tests/tools_server.py): items made from the request's tools unless given
    tool_items: list = None  # output items sent as they are, before the message, instead of the request's tools' items
    shared: list = None  # tools_server.SharedFile of each file the sandbox shares; None: chart.png when it runs
    files_of: dict = field(default_factory=dict, repr=False)  # response id -> the files it shared, until the server keeps them

    def answering_model(self, request):
        """The model reported once the run has finished."""
        sent = (request.get("models") or [None])[0] or request.get("model")
        return self.model or sent or DEFAULT_MODEL

    def response(self, request, rid, created_at, status="in_progress", output=(), final=False):
        """The response object; while in progress its model is the effort or preset sent (the service's quirk)."""
        if final:
            model = self.answering_model(request)
        else:
            model = (request.get("effort") or request.get("preset") or (request.get("models") or [None])[0]
                     or request.get("model") or self.answering_model(request))
        error = usage = incomplete = None
        if final:
            usage = copy.deepcopy(self.usage)
            if status in ("failed", "error"):
                error = self.error_object()
            elif status == "cancelled":
                # a cancelled run bills its searches but reports no usage
                error, usage = self.error_object("cancelled", "cancelled", "the run was cancelled"), None
            elif status == "incomplete":
                incomplete = {"reason": self.incomplete_reason or "max_output_tokens"}
        return {"id": rid, "object": "response", "created_at": created_at,
                "completed_at": int(time.time()) if final and status == "completed" else None,
                "status": status, "background": bool(request.get("background", False)),
                "store": request.get("store", True), "model": model, "error": error,
                "incomplete_details": incomplete, "output": list(output), "usage": usage}

    def error_object(self, type="internal_error", code=500, message="internal error"):
        """The run's error: ``error`` itself when it is a dict, else an envelope with its message."""
        if isinstance(self.error, dict):
            return copy.deepcopy(self.error)
        return {"message": self.error or message, "type": type, "code": code}

    def render(self, request, headers=None):
        """(Reply, final response) for one request: a stream if it asked ``"stream": true``, else a JSON body."""
        rid = self.id or f"resp_{uuid.uuid4()}"
        events, final = self.numbered_events(request, rid, int(time.time()))
        base = {"x-request-id": rid.removeprefix("resp_"), **(headers or {})}
        if not request.get("stream"):
            if self.status == "error":  # a stream's bare error event has no JSON-body form but an error status
                error = self.error_object()
                return agent_error(error.get("code", 500), error.get("message"), error.get("type"), headers={**base, **self.headers}), final
            return json_reply(final, 200, {**base, **self.headers}), final
        reply = Reply(parts=[self.frame(event) for event in events], headers=self.stream_headers(base),
                      framing=self.framing, delay=self.delay, drop_after=self.drop_after)
        reply.sent_at = self.sent_at
        return reply, final

    def numbered_events(self, request, rid, created_at):
        """(every event of the stream through the terminal one, numbered, as dicts; the final response)."""
        items, script = self._script(request, rid, created_at)
        final = self.response(request, rid, created_at, self.status, items, final=True)
        script.append(self._terminal(final))
        events, seq = [], 0
        for i, (kind, body) in enumerate(script):
            if not body.pop("_dropped", False):
                events.append({"type": kind, "sequence_number": seq, **body})
            seq += 2 if self.seq_gaps and i % 3 == 1 else 1
        return events, final

    def frame(self, event) -> bytes:
        """One event as the stream sends it."""
        return sse(event, event=event["type"] if self.event_lines else None)

    def stream_headers(self, base):
        """The headers of an event stream (the run's own extra headers win)."""
        return {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", **base, **self.headers}

    def _script(self, request, rid, created_at):
        """(the final output items, the stream's events before the terminal one as (type, body))."""
        progress = self.response(request, rid, created_at)
        events = [("response.created", {"response": progress}), ("response.in_progress", {"response": copy.deepcopy(progress)})]
        items = []
        for block in self.searches:
            index, call = len(items), f"call_{_hex()}"
            items.append({"type": "search_results", "queries": block["queries"], "results": block["results"]})
            # the service's own search shows up as a function_call item, already completed
            events += [
                ("response.output_item.added", {"output_index": index, "item": {
                    "type": "function_call", "id": f"fc_{_hex()}", "call_id": call, "name": "search_web",
                    "arguments": json.dumps({"queries": block["queries"]}, separators=(",", ":")), "status": "completed"}}),
                ("response.reasoning.search_queries", {"call_id": call, "queries": block["queries"], "thought": "Searching the web..."}),
                ("response.reasoning.search_results", {"call_id": call, "results": block["results"],
                                                       "thought": f"Found {len(block['results'])} results"}),
                ("response.output_item.done", {"output_index": index, "item": items[-1]}),
            ]
        for block in self.fetches:
            index, call = len(items), f"call_{_hex()}"
            items.append({"type": "fetch_url_results", "contents": block["contents"]})
            events += [
                ("response.reasoning.fetch_url_queries", {"call_id": call, "urls": block["urls"], "thought": "Fetching pages..."}),
                ("response.reasoning.fetch_url_results", {"call_id": call, "contents": block["contents"],
                                                          "thought": f"Fetched {len(block['contents'])} pages"}),
                ("response.output_item.done", {"output_index": index, "item": items[-1]}),
            ]
        from . import tools_server  # the sandbox, files, image, people and finance search, skills
        events += tools_server.script(self, request, rid, items)
        if self.text:
            index, mid = len(items), f"msg_{_hex()}"
            message = {"type": "message", "id": mid, "role": "assistant",
                       "status": "completed" if self.status in ("completed", "requires_action") else "incomplete",
                       "content": [{"type": "output_text", "text": self.text, "annotations": []}]}
            items.append(message)
            events.append(("response.output_item.added", {"output_index": index, "item": {
                "type": "message", "id": mid, "role": "assistant", "content": None}}))  # null until done
            for k, delta in enumerate(split_deltas(self.text, self.deltas)):
                events.append(("response.output_text.delta", {"item_id": mid, "output_index": index, "content_index": 0,
                                                              "delta": delta, "_dropped": k in self.drop_deltas}))
            if self.status not in ("failed", "error"):  # a failure cuts the message short
                events += [("response.output_text.done", {"item_id": mid, "output_index": index, "content_index": 0, "text": self.text}),
                           ("response.output_item.done", {"output_index": index, "item": message})]
        if self.unknown_events:
            middle = len(events) - 2  # spread between response.in_progress and the terminal event
            for k in reversed(range(self.unknown_events)):
                kind, body = UNKNOWN_EVENTS[k % len(UNKNOWN_EVENTS)]
                events.insert(2 + round((k + 1) * middle / (self.unknown_events + 1)), (kind, copy.deepcopy(body)))
        return items, events

    def _terminal(self, final):
        """The last event: the whole response, or a top-level error for failed runs and bare errors."""
        if self.status == "failed":
            return "response.failed", {"error": final["error"]}
        if self.status == "error":
            error = final["error"]
            return "error", ({"message": error.get("message"), "code": error.get("code")} if self.flat_error else {"error": error})
        return TERMINAL[self.status], {"response": final}


# ---- background runs ----

#: What a stream part can be instead of bytes: end the connection abruptly here.
DROP = object()


@dataclass
class BackgroundRun:
    """How a run started with ``"background": true`` lives on the server; queue it like an AgentRun.

    One clock moves it, the first that applies: ``polls_until_done`` (only polls move it), else
    ``duration`` (wall-clock seconds, read from ``FakeAPI.clock``), else none (``duration=None``:
    only ``api.runs[id].advance()`` moves it). ``advance()`` works under every clock.
    """

    run: AgentRun = field(default_factory=AgentRun)  # what it does: events, output, terminal status, id, framing, headers
    duration: float = 0.0  # seconds from its start to its terminal event, the events evenly spread; 0: done at once
    queued_for: float = 0.0  # seconds it stays queued (no event yet) before the duration begins
    polls_until_done: int = None  # the Nth poll is the first to see it finished; the first of N >= 2 sees it queued
    drops: list = field(default_factory=list)  # stream connection k (0: the POST's) is dropped before run event drops[k]
    cursor_expires: int = None  # a stream GET with starting_after below this (or none) is refused as expired
    retry_after: object = None  # the Retry-After header of polls that find it queued or in progress


def partial_output(events):
    """The output of a run cut short after these events: finished items, and a message as far as its deltas got."""
    items, texts = {}, {}
    for event in events:
        kind, index = event["type"], event.get("output_index")
        if kind == "response.output_item.done":
            items[index] = event["item"]
        elif kind == "response.output_item.added" and event["item"]["type"] == "message":
            items[index], texts[index] = None, []
        elif kind == "response.output_text.delta" and index in texts:
            texts[index].append(event["delta"])
    for index, item in items.items():
        if item is None:  # a message still being written
            added = next(e["item"] for e in events if e["type"] == "response.output_item.added" and e["output_index"] == index)
            items[index] = {**added, "status": "incomplete",
                            "content": [{"type": "output_text", "text": "".join(texts[index]), "annotations": []}]}
    return [items[index] for index in sorted(items)]


class RunState:
    """One background run on the server (``api.runs[id]``): its whole event list and how far it has got."""

    def __init__(self, spec, request, clock, changed):
        self.spec, self.request = spec, request
        self.id = spec.run.id or f"resp_{uuid.uuid4()}"
        self.created_at = int(time.time())
        self.events, self.final = spec.run.numbered_events(request, self.id, self.created_at)
        self.polls = 0  # GET polls answered
        self.connections = 0  # event streams opened: the POST's, then every resume
        self.cancelled = False
        self._clock, self._changed = clock, changed  # _changed: the server's condition, notified on every move
        self._started = clock()
        self._advanced = 0  # events released by advance()

    def released(self):
        """How many of the events have happened by now (all of them once the run is over)."""
        with self._changed:
            n, spec = len(self.events), self.spec
            if self.cancelled:
                return n
            if spec.polls_until_done is not None:
                due, k = spec.polls_until_done, self.polls
                share = 1.0 if k >= due else 0.0 if k <= 1 else (k - 1) / (due - 1)
            elif spec.duration is not None:
                elapsed = self._clock() - self._started - spec.queued_for
                share = 0.0 if elapsed < 0 else 1.0 if elapsed >= spec.duration else elapsed / spec.duration
            else:
                share = 0.0
            return max(n if share >= 1 else min(int(share * n), n - 1), self._advanced)

    def done(self):
        """Whether its terminal event has happened."""
        with self._changed:
            return self.released() == len(self.events)

    def status(self):
        """queued (no event yet), in_progress, or the final status."""
        with self._changed:
            released = self.released()
            return self.final["status"] if released == len(self.events) else "in_progress" if released else "queued"

    def advance(self, events=None):
        """Let ``events`` more events happen now (None: all of them, finishing the run)."""
        with self._changed:
            self._advanced = len(self.events) if events is None else min(len(self.events), self.released() + events)
            self._changed.notify_all()

    def snapshot(self):
        """What a poll sees now: the final response once done, else the response so far (no output, the poll's time)."""
        with self._changed:
            if self.done():
                return copy.deepcopy(self.final)
            return self.spec.run.response(self.request, self.id, int(time.time()), self.status())

    def poll(self):
        """Count a poll (it may move the run), then what it sees."""
        with self._changed:
            self.polls += 1
            self._changed.notify_all()
            return self.snapshot()

    def cancel(self):
        """End the run now as cancelled, keeping what happened so far; False if it was already over."""
        with self._changed:
            kept = self.events[:self.released()]
            if len(kept) == len(self.events):
                return False
            self.final = self.spec.run.response(self.request, self.id, self.created_at, "cancelled", partial_output(kept), final=True)
            seq = kept[-1]["sequence_number"] + 1 if kept else 0
            self.events = kept + [{"type": "response.cancelled", "sequence_number": seq, "response": self.final}]
            self.cancelled = True
            self._changed.notify_all()
            return True

    def connect(self):
        """Open one more event stream: the run position before which it will be dropped, or None."""
        with self._changed:
            k, self.connections = self.connections, self.connections + 1
            return self.spec.drops[k] if k < len(self.spec.drops) else None

    def follow(self, after, drop_at, closed):
        """The stream parts of the events numbered above ``after``: those so far, then the rest as they happen."""
        with self._changed:
            at = next((i for i, e in enumerate(self.events) if e["sequence_number"] > after), len(self.events))
        while True:
            with self._changed:
                while at >= self.released() and not self.done() and not closed.is_set():
                    self._changed.wait(self._next_wait())
                if closed.is_set():  # the server is shutting down: do not leave a stream hanging
                    yield DROP
                    return
                batch = self.events[at:self.released()]
                finished = self.done() and at + len(batch) == len(self.events)
            for event in batch:
                if drop_at is not None and at >= drop_at:
                    yield DROP
                    return
                yield self.spec.run.frame(event)
                at += 1
            if finished:
                return

    def _next_wait(self):
        """Seconds to wait for the next event: until it is due by the wall clock, at most 50 ms (other moves notify)."""
        spec, n = self.spec, len(self.events)
        if self.cancelled or spec.polls_until_done is not None or spec.duration is None:
            return 0.05
        due = self._started + spec.queued_for + spec.duration * (self.released() + 1) / n
        return min(max(due - self._clock(), 0.001), 0.05)


# ---- the server ----

class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        import ssl

        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()  # a client that refuses the certificate ends it here (handle_error)
            self.server.api.count("handshakes")
        super().setup()

    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):
        self._serve()

    def do_POST(self):
        self._serve()

    def _serve(self):
        api = self.server.api
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        api.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
        self._send(api.answer(self.command, self.path, self.headers, body))

    def _send(self, reply):
        if reply.no_response:
            self._drop()
            return
        if reply.stall_before_headers:
            time.sleep(reply.stall_before_headers)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.framing == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
        elif reply.framing == "length":
            reply.parts = list(reply.parts)  # a live stream is only sized once it has ended
            self.send_header("Content-Length", str(sum(len(p) for p in reply.parts if p is not DROP)))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()
        try:
            for i, part in enumerate(reply.parts):
                if part is DROP or (reply.drop_after is not None and i >= reply.drop_after):
                    self._drop()
                    return
                if i and reply.delay:
                    time.sleep(reply.delay)
                pieces = [part[j:j + 1] for j in range(len(part))] if reply.bytewise else [part]
                for k, piece in enumerate(pieces):
                    if reply.framing == "chunked":
                        piece = b"%x\r\n%s\r\n" % (len(piece), piece)
                    if k == len(pieces) - 1:
                        reply.sent_at.append(time.monotonic())  # the moment the part's last byte is sent
                    self.wfile.write(piece)
                    self.wfile.flush()
            if reply.drop_after is not None and reply.drop_after >= len(reply.parts):
                self._drop()
                return
            if reply.framing == "chunked":
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        if reply.framing == "close":
            self.close_connection = True

    def _drop(self):
        """End the connection abruptly (no final chunk)."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _Server(ThreadingHTTPServer):
    # the listen backlog (socketserver's default is 5): past it, a burst of parallel connections
    # (a concurrent client, tests/batch_server.py's latency) waits a second for a SYN retransmit
    request_queue_size = 128
    ssl_context = None  # FakeAPI(tls=...): every connection is TLS

    def get_request(self):
        sock, address = super().get_request()
        self.api.count("connections")
        # no Nagle: a reply's headers and body go in two sends, and on a kept-alive connection
        # the body would wait for the client's delayed ACK (about 40 ms a request)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ssl_context is not None:  # the handshake happens in the connection's own thread
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def handle_error(self, request, client_address):
        pass  # a client that refused the certificate, or went away: the test sees it from the client's side


def make_certificate(directory) -> tuple:
    """A throwaway self-signed certificate for 127.0.0.1 and localhost (openssl): ``(cert, key)`` paths."""
    import os
    import subprocess

    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key


class FakeAPI:
    """The server; use as a context manager. ``url`` is its base URL."""

    def __init__(self, tls=None, port=0):
        """``tls``: ``(cert, key)`` files (see :func:`make_certificate`) to speak HTTPS;
        ``port``: on 127.0.0.1, 0 for any free one."""
        self.routes = {}
        self.requests = []
        self.connections = 0  # TCP connections accepted
        self.handshakes = 0  # TLS handshakes completed
        self.strict = True  # validate Agent API requests and keys as the service does
        self.keys = None  # the keys the service accepts (a set); None: any bearer key
        self.responses = {}  # response id -> {"response": the completed response, "request": its request body}
        self.ratelimit = {"limit": 50, "used": 0, "reset": None}  # reset None: a minute from each request
        self.models = copy.deepcopy(MODELS)  # what GET /v1/models lists
        self.runs = {}  # response id -> RunState of every background run
        self.clock = time.monotonic  # what background runs' durations are measured on; a test may replace it
        self._lock = threading.Lock()
        self._changed = threading.Condition(threading.RLock())  # guards the runs; notified whenever one moves
        self._closed = threading.Event()
        from . import batch_server  # the enforced rate limit, latency, files and batches (imported late: it builds on this module)
        batch_server.install(self)  # their knobs and state: api.rate_limit, api.latency, api.files, api.batches, ...
        from . import tools_server  # the sandbox's shared files, the usage tier's 402
        tools_server.install(self)  # api.shared_files, api.gated_models
        self.httpd = _Server(("127.0.0.1", port), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.api = self
        if tls is not None:
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.httpd.ssl_context = context
        # a short poll interval: shutdown() waits up to one interval, at the end of every test
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self):
        scheme = "https" if self.httpd.ssl_context is not None else "http"
        return f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}"

    def count(self, what):
        with self._lock:
            setattr(self, what, getattr(self, what) + 1)

    def add(self, path, *replies):
        """Queue replies (Reply, AgentRun or BackgroundRun, or a function of no arguments that
        makes one when the request comes) for ``path``; the last one is repeated."""
        self.routes.setdefault(path, []).extend(replies)
        return replies[0] if len(replies) == 1 else replies

    def next_reply(self, path, request=None):
        """The next reply queued for the path; with none, a default AgentRun for the Agent API
        (a structured answer for a request that asks for one: tests/structured_server.py), else a 404."""
        path = path.split("?")[0]
        with self._lock:
            queue = self.routes.get(path)
            reply = (queue.pop(0) if len(queue) > 1 else queue[0]) if queue else None
        if reply is not None:
            return reply() if callable(reply) and not isinstance(reply, type) else reply
        if path in AGENT_PATHS:
            from . import structured_server

            return structured_server.run_for(self, request) if structured_server.asks(request) else AgentRun()
        return json_reply({"error": {"message": f"no route {path}", "type": "not_found"}}, status=404)

    def answer(self, method, path, headers, body):
        """The Reply for one request."""
        from . import batch_server  # the enforced rate limit, latency, files and batches
        route = path.split("?")[0]
        if method == "POST" and route in AGENT_PATHS:
            # api.rate_limit and api.latency (tests/batch_server.py) come first: a 429, or agent_answer after the wait
            return batch_server.limit(self, headers, lambda: self.agent_answer(path, headers, body))
        from . import tools_server  # a run's shared files
        if self.strict and tools_server.handles(route):
            return tools_server.answer(self, method, route, headers)
        run_path = RUN_PATH.fullmatch(route)
        if run_path and not self.routes.get(route):  # a reply queued for the exact path wins
            if self.strict and not self.authorized(headers):
                return agent_error(401, "Invalid API key", "invalid_api_key")
            rid, cancel = run_path.groups()
            if method == "GET" and not cancel:
                return self.retrieve(rid, {k: v[-1] for k, v in parse_qs(urlsplit(path).query).items()})
            if method == "POST" and cancel:
                return self.cancel(rid)
        from . import platform_server  # the Search, Context and Embeddings APIs (imported late: it builds on this module)
        if method == "POST" and self.strict and route in platform_server.PATHS:
            return platform_server.answer(self, route, headers, body)  # it sends a reply queued for the path first, once
        if method == "GET" and route == "/v1/models":
            if self.strict and not self.authorized(headers):
                return agent_error(401, "Invalid API key", "invalid_api_key")
            if not self.routes.get(route):
                return json_reply({"object": "list", "data": self.models})
        if self.strict and batch_server.handles(route):  # /v1/files and /v1/batches (tests/batch_server.py)
            return batch_server.answer(self, method, path, headers, body)  # it sends a reply queued for the path first, once
        return self.next_reply(path)

    def agent_answer(self, path, headers, body):
        """The Reply to an Agent API POST (``/v1/responses`` or ``/v1/agent``) once past the rate limit and latency."""
        rejection = self.validate(headers, body) if self.strict else None
        if rejection:
            return rejection
        request = body if isinstance(body, dict) else {}
        reply = self.next_reply(path, request)
        # the request decides whether a run is a background one; the queued item only says how it goes
        if request.get("background") and isinstance(reply, (AgentRun, BackgroundRun)):
            return self.start(reply if isinstance(reply, BackgroundRun) else BackgroundRun(run=reply), request)
        if isinstance(reply, BackgroundRun):
            reply = reply.run
        if isinstance(reply, AgentRun):
            reply = self.run(reply, request)
        return reply

    def run(self, run, request):
        """Render an AgentRun, storing the response if it completed and the request did not say ``store: false``."""
        reply, final = run.render(request, self.ratelimit_headers())
        from . import tools_server
        tools_server.keep(self, run, final["id"])
        if final["status"] == "completed" and request.get("store", True) is not False:
            with self._lock:
                self.responses[final["id"]] = {"response": final, "request": request}
        return reply

    def start(self, spec, request):
        """Start a background run: its event stream if the request asked for one, else the queued response at once."""
        with self._changed:
            state = RunState(spec, request, self.clock, self._changed)
            self.runs[state.id] = state
        from . import tools_server
        tools_server.keep(self, spec.run, state.id)
        base = {"x-request-id": state.id.removeprefix("resp_"), **self.ratelimit_headers()}
        if request.get("stream"):
            return self.stream(state, -1, base)
        queued = spec.run.response(request, state.id, state.created_at, "queued")
        return json_reply(queued, 200, {**base, **spec.run.headers})

    def retrieve(self, rid, query):
        """``GET /v1/responses/{id}``: a poll of a run or stored response, or (``stream=true``) a stream of its events."""
        state = self.runs.get(rid)
        stored = self.responses.get(rid)
        base = {"x-request-id": rid.removeprefix("resp_"), **self.ratelimit_headers()}
        if state is None and stored is None:
            return agent_error(404, "resource not found", "not_found", headers=base)
        if query.get("stream", "").lower() not in ("true", "1"):
            if state is None:
                return json_reply(stored["response"], 200, base)
            response = state.poll()
            if state.spec.retry_after is not None and response["status"] in ("queued", "in_progress"):
                base["Retry-After"] = str(state.spec.retry_after)
            return json_reply(response, 200, {**base, **state.spec.run.headers})
        if state is None:  # the fake's own wording: only a background run keeps its events
            return agent_error(400, "only background responses can be streamed", "invalid_request", headers=base)
        after = query.get("starting_after")
        if after is not None and not re.fullmatch(r"-?[0-9]+", after):
            return agent_error(400, "starting_after must be an integer", "invalid_request", "starting_after", base)
        after = -1 if after is None else int(after)
        expires = state.spec.cursor_expires
        if expires is not None and (after < expires or "starting_after" not in query):
            return agent_error(400, "starting_after cursor expired", "invalid_request", "starting_after", base)
        return self.stream(state, after, base)

    def stream(self, state, after, base):
        """One event stream of a background run (the POST's or a resume), dropped where its ``drops`` say."""
        parts = state.follow(after, state.connect(), self._closed)
        reply = Reply(parts=parts, headers=state.spec.run.stream_headers(base), framing=state.spec.run.framing)
        reply.sent_at = state.spec.run.sent_at
        return reply

    def cancel(self, rid):
        """``POST /v1/responses/{id}/cancel``: cancelling, or a 400 if the run is over or unknown."""
        state = self.runs.get(rid)
        if state is None or not state.cancel():
            return self._invalid("the run is already terminal and cannot be cancelled")
        return json_reply({"response_id": rid, "status": "cancelling"}, 200, self.ratelimit_headers())

    def completed(self, rid):
        """Whether ``rid`` is a completed response a new request may continue from."""
        state = self.runs.get(rid)
        return rid in self.responses or (state is not None and state.done() and state.final["status"] == "completed")

    def ratelimit_headers(self):
        """The x-ratelimit-* headers of one more request against the limit."""
        if self.rate_limit is not None:  # an enforced limit's window instead (tests/batch_server.py)
            from . import batch_server
            return batch_server.window_headers(self)
        with self._lock:
            limit = self.ratelimit["limit"]
            self.ratelimit["used"] += 1
            used = self.ratelimit["used"]
            reset = self.ratelimit.get("reset") or int(time.time()) + 60
        return {"x-ratelimit-limit": str(limit), "x-ratelimit-remaining": str(max(limit - used, 0)),
                "x-ratelimit-reset": str(reset), "x-ratelimit-used": str(used)}

    def key_or_queued(self, route, headers):
        """For the platform and batch paths: a 401 for a bad key, else a reply queued for the
        route (each used once, the last one too), else None (the default answer follows)."""
        if not self.authorized(headers):
            return agent_error(401, "Invalid API key", "invalid_api_key")
        with self._lock:
            queue = self.routes.get(route)
            if queue:
                return queue.pop(0)
        return None

    def authorized(self, headers):
        """A bearer key, and one of ``keys`` when the test set them (a refused key is a 401)."""
        m = re.fullmatch(r"Bearer (\S+)", headers.get("Authorization") or "")
        return m is not None and (self.keys is None or m.group(1) in self.keys)

    def validate(self, headers, body):
        """The service's rejection of an Agent API request (a Reply), or None if it is valid."""
        if not self.authorized(headers):
            return agent_error(401, "Invalid API key", "invalid_api_key")
        if not isinstance(body, dict):
            return self._invalid("invalid request body: not a JSON object")
        unknown = self.reject_unknown_agent_fields("/v1/responses", body)
        if unknown:
            return unknown
        if body.get("input") in (None, "", []):
            return self._invalid("validation failed: input cannot be empty")
        models = body.get("models")
        if models is not None and (not isinstance(models, list) or len(models) > 5):
            return self._invalid("validation failed: models must be a list of at most 5 model ids")
        ids = ([body["model"]] if "model" in body else []) + (models or [])
        for model in ids:
            if not isinstance(model, str) or "/" not in model:
                return self._invalid(f"validation failed: model {json.dumps(model)} is not supported")
        if body.get("max_output_tokens") is None and any(m.startswith("anthropic/") for m in ids):
            return self._invalid("validation failed: max_output_tokens is required for anthropic models")
        for name in ("effort", "preset"):
            value = body.get(name)
            if name in body and not (isinstance(value, str) and (EFFORT.fullmatch(value) or (name == "preset" and value in OLD_PRESETS))):
                return self._invalid(f"validation failed: {name} {json.dumps(value)} is not supported")
        previous = body.get("previous_response_id")
        if previous is not None and not self.completed(previous):
            return self._invalid("invalid request", "previous_response_id")
        if body.get("background") and body.get("store", True) is False:
            return self._invalid("background requires store")
        from . import structured_server

        refused = structured_server.rejection(body)
        if refused:
            return self._invalid(refused, "response_format")
        from . import tools_server  # tools, tool_choice, profile, skills, and the usage tier's 402
        return tools_server.validate(self, body)

    def _invalid(self, message, param=None):
        """A 400 invalid_request; like every Agent API answer to a valid key, it counts against the rate limit."""
        return agent_error(400, message, "invalid_request", param, headers=self.ratelimit_headers())

    def reject_unknown_agent_fields(self, path, body):
        """A 400 naming the first unknown field of an Agent API request, as the service does."""
        if not path.startswith(AGENT_PATHS) or not isinstance(body, dict):
            return None
        unknown = sorted(set(body) - AGENT_FIELDS)
        if not unknown:
            return None
        return self._invalid(f'invalid request body: json: unknown field "{unknown[0]}"', unknown[0])

    def paths(self):
        return [r["path"] for r in self.requests]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        with self._changed:  # end the streams still waiting for events
            self._closed.set()
            self._changed.notify_all()
        self.httpd.shutdown()
        self.httpd.server_close()


def main(argv=None):
    """``python -m tests.server [--port N]``: the local server on its own, to try every command
    without a Perplexity key. It prints the two lines to export, then serves until Ctrl-C."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(prog="python -m tests.server", description=main.__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0, help="the port on 127.0.0.1 (default: any free one)")
    args = parser.parse_args(argv)
    try:
        api = FakeAPI(port=args.port)
    except OSError as e:  # the port is taken, say
        raise SystemExit(f"tests.server: cannot listen on 127.0.0.1:{args.port}: {e.strerror}")
    api.rate_limit = 50  # 50 requests a second, as the Agent API's headers say: x-ratelimit-* as the service sends them
    stop = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop)  # waited for below, in this thread
    with api:
        print(f"export PPLX_BASE_URL={api.url}\nexport PPLX_API_KEY=pplx-local-test-key", flush=True)
        print("# answers: the Agent API (its tools and shared files too), search, fetch, embed, batch --remote, models; "
              "Ctrl-C stops", flush=True)
        signal.sigwait(stop)


if __name__ == "__main__":
    main()
