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
"""

import copy
import json
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    """What the server sends for one request."""

    status: int = 200
    parts: list = field(default_factory=list)  # bytes written one after another
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
        created_at = int(time.time())
        items, events = self._script(request, rid, created_at)
        final = self.response(request, rid, created_at, self.status, items, final=True)
        base = {"x-request-id": rid.removeprefix("resp_"), **(headers or {})}
        if not request.get("stream"):
            if self.status == "error":  # a stream's bare error event has no JSON-body form but an error status
                error = self.error_object()
                return agent_error(error.get("code", 500), error.get("message"), error.get("type"), headers={**base, **self.headers}), final
            return json_reply(final, 200, {**base, **self.headers}), final
        events.append(self._terminal(final))
        parts = []
        seq = 0
        for i, (kind, body) in enumerate(events):
            if not body.pop("_dropped", False):
                event = {"type": kind, "sequence_number": seq, **body}
                parts.append(sse(event, event=kind if self.event_lines else None))
            seq += 2 if self.seq_gaps and i % 3 == 1 else 1
        reply = Reply(parts=parts, headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", **base, **self.headers},
                      framing=self.framing, delay=self.delay, drop_after=self.drop_after)
        reply.sent_at = self.sent_at
        return reply, final

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


# ---- the server ----

class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

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
            self.send_header("Content-Length", str(sum(len(p) for p in reply.parts)))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()
        try:
            for i, part in enumerate(reply.parts):
                if reply.drop_after is not None and i >= reply.drop_after:
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


class FakeAPI:
    """The server; use as a context manager. ``url`` is its base URL."""

    def __init__(self):
        self.routes = {}
        self.requests = []
        self.strict = True  # validate Agent API requests and keys as the service does
        self.responses = {}  # response id -> {"response": the completed response, "request": its request body}
        self.ratelimit = {"limit": 50, "used": 0, "reset": None}  # reset None: a minute from each request
        self.models = copy.deepcopy(MODELS)  # what GET /v1/models lists
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.api = self
        # a short poll interval: shutdown() waits up to one interval, at the end of every test
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def add(self, path, *replies):
        """Queue replies (Reply or AgentRun) for ``path``; the last one is repeated."""
        self.routes.setdefault(path, []).extend(replies)
        return replies[0] if len(replies) == 1 else replies

    def next_reply(self, path):
        """The next reply queued for the path; with none, a default AgentRun for the Agent API, else a 404."""
        path = path.split("?")[0]
        with self._lock:
            queue = self.routes.get(path)
            if queue:
                return queue.pop(0) if len(queue) > 1 else queue[0]
        if path in AGENT_PATHS:
            return AgentRun()
        return json_reply({"error": {"message": f"no route {path}", "type": "not_found"}}, status=404)

    def answer(self, method, path, headers, body):
        """The Reply for one request."""
        route = path.split("?")[0]
        if method == "POST" and route in AGENT_PATHS:
            rejection = self.validate(headers, body) if self.strict else None
            if rejection:
                return rejection
            reply = self.next_reply(path)
            if isinstance(reply, AgentRun):
                reply = self.run(reply, body if isinstance(body, dict) else {})
            return reply
        if method == "GET" and route == "/v1/models":
            if self.strict and not self.authorized(headers):
                return agent_error(401, "Invalid API key", "invalid_api_key")
            if not self.routes.get(route):
                return json_reply({"object": "list", "data": self.models})
        return self.next_reply(path)

    def run(self, run, request):
        """Render an AgentRun, storing the response if it completed and the request did not say ``store: false``."""
        reply, final = run.render(request, self.ratelimit_headers())
        if final["status"] == "completed" and request.get("store", True) is not False:
            with self._lock:
                self.responses[final["id"]] = {"response": final, "request": request}
        return reply

    def ratelimit_headers(self):
        """The x-ratelimit-* headers of one more request against the limit."""
        with self._lock:
            limit = self.ratelimit["limit"]
            self.ratelimit["used"] += 1
            used = self.ratelimit["used"]
            reset = self.ratelimit.get("reset") or int(time.time()) + 60
        return {"x-ratelimit-limit": str(limit), "x-ratelimit-remaining": str(max(limit - used, 0)),
                "x-ratelimit-reset": str(reset), "x-ratelimit-used": str(used)}

    @staticmethod
    def authorized(headers):
        return re.fullmatch(r"Bearer \S+", headers.get("Authorization") or "") is not None

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
        if previous is not None and previous not in self.responses:
            return self._invalid("invalid request", "previous_response_id")
        return None

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
        self.httpd.shutdown()
        self.httpd.server_close()
