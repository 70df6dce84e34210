"""The fake's enforced rate limit, latency, Files API and Batch API (see PERPLEXITY_API.md, "Rate
limits", "Errors (Agent API)" and "Batch API"): what ``FakeAPI`` does on ``POST /v1/responses``
(and ``/v1/agent``) when a test sets a limit or a latency, and what it answers on ``/v1/files...``
and ``/v1/batches...``.

``FakeAPI`` calls :func:`install` when it is built, :func:`limit` around every Agent API POST,
:func:`window_headers` from ``ratelimit_headers()`` while a limit is set, and :func:`answer` for
the paths of :func:`handles` (strict mode only; with ``api.strict = False`` those paths behave
like any other: queued replies, the last repeating, else a 404).

What a test can set on the ``FakeAPI`` (all set by :func:`install`; change them before requesting):

- ``api.rate_limit``: None (default: nothing is enforced, and ``x-ratelimit-*`` come from
  ``api.ratelimit`` as before), or N requests a second on ``POST /v1/responses`` and
  ``/v1/agent``. The window is **fixed**: one epoch second of ``api.rate_clock()``, from
  ``floor(t)`` to ``floor(t) + 1``, so ``x-ratelimit-reset`` (the window's end) is an integer and
  a client that waits until it gets a whole new budget. Every request with a valid key counts at
  arrival (a 400 too; a 401 does not), before any queued reply. Past N in one window:
  ``429 {"error": {"message": "Rate limit exceeded", "type": "request_rate_limit_exceeded",
  "code": 429}}`` with ``x-ratelimit-limit: N``, ``x-ratelimit-remaining: 0``,
  ``x-ratelimit-reset: <window end>``, ``x-ratelimit-used: N`` and an ``x-request-id``. Accepted
  answers carry ``limit``, ``used`` (this window's accepted requests, this one included),
  ``remaining`` (N - used) and ``reset``. While a limit is set, other paths (polls, Search, Files,
  Batches, ...) report the current window without counting ("Batch requests do not count toward
  the request rate limit").
- ``api.rate_limit_retry_after``: False (default: like the real service's 429, no retry header);
  True: a 429 also has ``retry-after-ms``, the milliseconds to the window's end (rounded up).
- ``api.rate_clock``: the wall clock windows are cut from (default ``time.time``); a test may
  freeze it, e.g. ``api.rate_clock = lambda: 1790000000.5``.
- ``api.rate_log``: every Agent API request the limit judged, in arrival order, as
  :class:`RateLogEntry` ``(at, accepted, window)``: ``time.monotonic()`` at arrival, False for a
  429, and the window's start (epoch seconds). :func:`per_window` sums it up.
- ``api.latency``: seconds (default 0) each Agent API answer to a valid key waits before its
  headers, stream or JSON body (not a 401, not a 429). Only the request's own thread waits.
- ``api.files``: file id -> :class:`StoredFile`, uploads and batch output alike.
- ``api.batches``: batch id -> :class:`BatchState` (``.object()`` is what a GET would show;
  ``.advance(steps)`` and ``.expire()`` move it without a poll).
- ``api.batch_polls_per_step``: 1 (default): every ``GET /v1/batches/{id}`` moves the batch one
  step (validating -> in_progress -> finalizing -> completed, or validating -> failed for a bad
  input file); N: each step takes N polls (lines are answered little by little over the N polls of
  in_progress); 0: the first poll finishes it; None: polls never move it (only ``advance()``).
  A cancelling batch is cancelled at its next poll whatever the setting.
- ``api.batch_fail_lines``: ``{custom_id: (status, message)}`` (or ``(status, message, type)``):
  that line fails with that HTTP status and the Agent API error envelope (type from the status:
  :data:`ERROR_TYPES`, else ``internal_error`` for a 5xx and ``invalid_request`` for others).
- ``api.batch_runs``: ``{custom_id: AgentRun}``: how that line's run goes (default ``AgentRun()``,
  the same default a ``POST /v1/responses`` gets with nothing queued). Replies queued on
  ``/v1/responses`` are not used by batches.
- ``api.batch_lost_answers``: 0 (default); N: the next N ``POST /v1/batches`` that create (or
  return) a batch do so, and then close the connection with no answer: the client sent it, the
  service acted on it, the answer was lost.
- ``api.batch_output_order``: ``"shuffled"`` (default: by sha256 of the custom_id, and never the
  input order when a file has two lines or more), ``"reversed"`` or ``"input"``: the order of the
  lines of output and error files (see :func:`output_order`).

Every answer on these paths checks the key first (401 ``invalid_api_key``, no rate-limit headers),
then sends a reply queued for the exact path if there is one (used **once**, as in
``platform_server``), else the default. Errors use the Agent API envelope ``{"error": {"message",
"type", "code", "param"?}}``; every answer after the key check has ``x-ratelimit-*`` and an
``x-request-id``.

Shapes chosen where PERPLEXITY_API.md is silent (OpenAI-compatible; change them here when
Perplexity's docs or service show otherwise):

- ``POST /v1/files`` (multipart/form-data, fields ``purpose`` = ``batch`` and ``file``; any other
  field is a 400, as are an empty file and a body that is not multipart) ->
  ``{"id": "file-<uuid>", "object": "file", "bytes", "created_at", "filename", "purpose": "batch"}``
  (``filename`` is the part's filename, ``"file"`` without one). ``GET /v1/files/{id}`` -> the same
  object; ``GET /v1/files/{id}/content`` -> the bytes exactly, ``application/octet-stream``. Output
  and error files have purpose ``batch_output`` and filenames ``<batch id>_output.jsonl`` /
  ``<batch id>_error.jsonl``. An unknown id is ``404 resource not found`` (``not_found``).
- ``POST /v1/batches`` -> 200 and the batch object, status ``validating``. Fields: ``input_file_id``,
  ``endpoint`` (``/v1/responses``), ``completion_window`` (``24h``) required, ``metadata`` optional
  (up to 16 string pairs, keys <= 64 characters, values <= 512); ``null`` counts as not sent; any
  other field, a wrong value, or an input file that is unknown or not of purpose ``batch`` is a 400
  naming the field in ``param``. An ``Idempotency-Key`` seen with a batch before returns that batch
  as it is now (200, nothing new); the same key with a different body is a 400. Only successful
  creations are remembered.
- The batch object: ``{"id": "batch_<uuid>", "object": "batch", "endpoint", "errors",
  "input_file_id", "completion_window", "status", "output_file_id", "error_file_id", "created_at",
  "in_progress_at", "expires_at" (created + 24 h), "finalizing_at", "completed_at", "failed_at",
  "expired_at", "cancelling_at", "cancelled_at", "request_counts": {"total", "completed", "failed"},
  "metadata"}`` (times are epoch seconds or null; ``metadata`` null when not sent). ``total`` is 0
  until validation has passed; ``completed`` counts lines answered with a 2xx (a run whose own
  ``status`` is ``failed`` still came back 200), ``failed`` the others; lines never run (cancelled,
  expired) count in neither.
- ``errors`` (a failed batch only, else null): ``{"object": "list", "data": [{"code", "message",
  "param", "line"}]}``, one per problem, ``line`` 1-based (null for the whole file). Codes:
  ``empty_file``, ``too_many_requests`` (over :data:`MAX_LINES`), ``invalid_json_line``,
  ``invalid_line`` (not an object, or a field other than custom_id/method/url/body),
  ``missing_custom_id``, ``duplicate_custom_id``, ``invalid_method`` (not ``POST``),
  ``invalid_url`` (not the batch's endpoint), ``invalid_body`` (not an object). Only the file's
  final newline may be missing or present: an empty line elsewhere is ``invalid_json_line``.
- A line is answered as its own ``POST /v1/responses`` would be (:func:`answer_line`): a
  ``batch_fail_lines`` entry first, then ``stream`` or ``background`` true is a 400 (``param``
  naming it), then ``FakeAPI.validate`` (unknown fields, empty input, ...), then the run is
  rendered by ``FakeAPI.run`` and so stored for ``GET /v1/responses/{id}`` and
  ``previous_response_id`` like any other. Output file line (a 2xx answer): ``{"id":
  "batch_req_<uuid>", "custom_id", "response": {"status_code": 200, "request_id": <its
  x-request-id: the response id without resp_>, "body": <the response object, exactly as the POST
  would have sent it>}, "error": null}``. Error file line, **the same form** for a line answered
  with an error status: ``"response": {"status_code": 400, "request_id": <the x-request-id the
  POST would have had, else a uuid hex>, "body": {"error": {...}}}, "error": null``. Only a line
  never run has ``"response": null, "error": {"code": "batch_cancelled"|"batch_expired",
  "message"}`` (error file). ``output_file_id`` / ``error_file_id`` are set once the batch has
  ended (completed, cancelled, expired), each only if its file has at least one line; else null.
- ``GET /v1/batches`` (``?limit=1..100``, default 20; ``?after=<batch id>``, an unknown one a
  400) -> ``{"object":
  "list", "data": [batch objects, newest first], "first_id", "last_id", "has_more"}``; listing
  does not move batches. ``POST /v1/batches/{id}/cancel`` -> the batch object, ``cancelling``
  (again while cancelling); a batch already ended -> 400 ``the batch is already <status> and
  cannot be cancelled``. Its next poll shows ``cancelled``: lines answered so far go to the
  output/error files, the rest are ``batch_cancelled``.
"""

import collections
import copy
import email.message
import email.parser
import email.utils
import hashlib
import json
import math
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from .server import AgentRun, Reply, agent_error, json_reply

# ---- the data ----

BATCH_ENDPOINTS = ("/v1/responses",)
COMPLETION_WINDOWS = ("24h",)
BATCH_FIELDS = {"input_file_id", "endpoint", "completion_window", "metadata"}
LINE_FIELDS = {"custom_id", "method", "url", "body"}
UPLOAD_FIELDS = {"purpose", "file"}
UPLOAD_PURPOSES = ("batch",)
MAX_LINES = 50_000  # requests in one batch (OpenAI's number)
MAX_METADATA = 16  # metadata pairs; keys up to 64 characters, values up to 512
DAY = 86_400
#: A batch's statuses in order when nothing goes wrong.
STEPS = ("validating", "in_progress", "finalizing", "completed")
ENDED = ("completed", "failed", "expired", "cancelled")
#: The error ``type`` of a failed line by its HTTP status (PERPLEXITY_API.md, "Errors").
ERROR_TYPES = {400: "invalid_request", 401: "invalid_api_key", 403: "forbidden", 404: "not_found",
               413: "payload_too_large", 429: "request_rate_limit_exceeded", 500: "internal_error",
               502: "bad_gateway", 504: "gateway_timeout"}

#: The paths this module answers: a file or its content, a batch or its cancel.
FILE_PATH = re.compile(r"/v1/files/([^/]+)(/content)?")
BATCH_PATH = re.compile(r"/v1/batches/([^/]+)(/cancel)?")


class Invalid(Exception):
    """A request the service rejects with a 400."""

    def __init__(self, message, param=None):
        super().__init__(message)
        self.message, self.param = message, param


def install(api):
    """Give a new FakeAPI this module's knobs (defaults: nothing enforced, no latency) and state."""
    api.rate_limit = None
    api.rate_limit_retry_after = False
    api.rate_clock = time.time
    api.rate_log = []
    api.latency = 0.0
    api.files = {}
    api.batches = {}
    api.batch_polls_per_step = 1
    api.batch_fail_lines = {}
    api.batch_runs = {}
    api.batch_output_order = "shuffled"
    api.batch_lost_answers = 0
    api._rate_lock = threading.Lock()
    api._rate_window = None  # the current window's start (epoch seconds) and the requests it accepted
    api._rate_used = 0
    api._batch_lock = threading.RLock()  # guards files, batches and idempotency keys
    api._idempotency = {}  # Idempotency-Key -> (the request body, the batch id)


# ---- the enforced rate limit and latency ----

RateLogEntry = collections.namedtuple("RateLogEntry", "at accepted window")
#: The headers the limit decided for the request the current thread is answering: (api, headers).
_admitted = threading.local()


def _limit_headers(limit, used, reset):
    return {"x-ratelimit-limit": str(limit), "x-ratelimit-remaining": str(max(limit - used, 0)),
            "x-ratelimit-reset": str(reset), "x-ratelimit-used": str(used)}


def _window(api, now):
    """The current window's start, opening a new one (nothing used) when the clock has moved on."""
    start = math.floor(now)
    if api._rate_window != start:
        api._rate_window, api._rate_used = start, 0
    return start


def window_headers(api):
    """The ``x-ratelimit-*`` headers while a limit is set (``FakeAPI.ratelimit_headers`` calls it):
    those decided for the Agent API request this thread answers, else the window's state, uncounted."""
    admitted = getattr(_admitted, "value", None)
    if admitted and admitted[0] is api:
        return dict(admitted[1])
    with api._rate_lock:
        start = _window(api, api.rate_clock())
        return _limit_headers(api.rate_limit, api._rate_used, start + 1)


def limit(api, headers, answer):
    """An Agent API POST through the limit and the latency: a 429, or ``answer()`` (the Reply the
    fake would send anyway) after ``api.latency`` seconds, with the window's headers."""
    if api.rate_limit is None and not api.latency:
        return answer()
    if api.strict and not api.authorized(headers):
        return answer()  # the 401 comes first and counts for nothing
    decided = None
    if api.rate_limit is not None:
        with api._rate_lock:
            now = api.rate_clock()
            start = _window(api, now)
            accepted = api._rate_used < api.rate_limit
            if accepted:
                api._rate_used += 1
            api.rate_log.append(RateLogEntry(time.monotonic(), accepted, start))
            decided = _limit_headers(api.rate_limit, api._rate_used, start + 1)
        if not accepted:
            extra = {"x-request-id": uuid.uuid4().hex, **decided}
            if api.rate_limit_retry_after:
                extra["retry-after-ms"] = str(max(math.ceil((start + 1 - now) * 1000), 0))
            return agent_error(429, "Rate limit exceeded", "request_rate_limit_exceeded", headers=extra)
    if api.latency:
        api._closed.wait(api.latency)  # only this request's thread waits; a closing server ends the wait
    _admitted.value = (api, decided) if decided else None
    try:
        return answer()
    finally:
        _admitted.value = None


def per_window(api):
    """``{window start: (accepted, rejected)}`` over ``api.rate_log``, in time order."""
    out = {}
    for entry in list(api.rate_log):
        accepted, rejected = out.get(entry.window, (0, 0))
        out[entry.window] = (accepted + 1, rejected) if entry.accepted else (accepted, rejected + 1)
    return out


# ---- multipart/form-data (the standard library's cgi is gone; this keeps every byte) ----

def parse_multipart(content_type, raw):
    """``{field name: (filename or None, bytes)}`` of a multipart/form-data body, or Invalid."""
    header = email.message.Message()
    header["Content-Type"] = content_type or ""
    boundary = header.get_param("boundary")
    if header.get_content_type() != "multipart/form-data" or not boundary or not isinstance(raw, bytes):
        raise Invalid("invalid request body: expected multipart/form-data")
    # a delimiter is CRLF "--boundary" ending its line (the last one "--boundary--"); the body's first has no CRLF
    raw = b"\r\n" + raw
    delimiters = list(re.finditer(rb"\r\n--" + re.escape(str(boundary).encode("latin-1")) + rb"(?:(--)|[ \t]*\r\n)", raw))
    closing = next((k for k, d in enumerate(delimiters) if d.group(1)), None)
    if not closing:  # no closing delimiter, or no part before it
        raise Invalid("invalid request body: malformed multipart/form-data")
    fields = {}
    for opening, following in zip(delimiters[:closing], delimiters[1:closing + 1]):
        segment = raw[opening.end():following.start()]
        head, blank, content = (b"\r\n" + segment).partition(b"\r\n\r\n")  # a part may have no headers at all
        if not blank:
            raise Invalid("invalid request body: malformed multipart/form-data")
        part = email.parser.BytesHeaderParser().parsebytes(head.removeprefix(b"\r\n") + b"\r\n\r\n")
        name = part.get_param("name", header="content-disposition")
        if not name:
            raise Invalid("invalid request body: a multipart part has no name")
        name = email.utils.collapse_rfc2231_value(name)
        if name in fields:
            raise Invalid(f'invalid request body: field "{name}" given twice', name)
        fields[name] = (part.get_filename(), content)
    return fields


# ---- files ----

@dataclass
class StoredFile:
    """One file on the server (``api.files[id]``): an upload, or a batch's output or errors."""

    filename: str
    purpose: str
    content: bytes
    id: str = field(default_factory=lambda: f"file-{uuid.uuid4()}")
    created_at: int = field(default_factory=lambda: int(time.time()))

    def object(self):
        return {"id": self.id, "object": "file", "bytes": len(self.content), "created_at": self.created_at,
                "filename": self.filename, "purpose": self.purpose}


def _store(api, stored):
    with api._batch_lock:
        api.files[stored.id] = stored
    return stored


def upload(api, headers, body):
    """``POST /v1/files``: store the ``file`` part of a multipart body with purpose ``batch``."""
    fields = parse_multipart(headers.get("Content-Type"), body)
    unknown = sorted(set(fields) - UPLOAD_FIELDS)
    if unknown:
        raise Invalid(f'invalid request body: unknown field "{unknown[0]}"', unknown[0])
    if "purpose" not in fields:
        raise Invalid("validation failed: purpose is required", "purpose")
    purpose = fields["purpose"][1].decode("utf-8", "replace")
    if purpose not in UPLOAD_PURPOSES:
        raise Invalid(f"validation failed: purpose {json.dumps(purpose)} is not supported; use \"batch\"", "purpose")
    if "file" not in fields:
        raise Invalid("validation failed: file is required", "file")
    filename, content = fields["file"]
    if not content:
        raise Invalid("validation failed: file is empty", "file")
    return _store(api, StoredFile(filename or "file", purpose, content)).object()


# ---- batches ----

def output_order(custom_ids, order="shuffled"):
    """The custom_ids in the order a batch's output or error file lists them (``api.batch_output_order``)."""
    ids = list(custom_ids)
    if order == "input":
        return ids
    if order == "reversed":
        return ids[::-1]
    shuffled = sorted(ids, key=lambda c: hashlib.sha256(c.encode()).hexdigest())
    return shuffled[::-1] if shuffled == ids else shuffled  # never the input order itself


def check_lines(content, endpoint):
    """(the requests of an input file, the problems that fail the batch as ``errors.data`` items)."""
    errors = []

    def problem(code, message, line=None, param=None):
        errors.append({"code": code, "message": message, "param": param, "line": line})

    texts = content.split(b"\n")
    if texts and texts[-1] == b"":
        texts.pop()  # the file's final newline
    if not texts:
        problem("empty_file", "the input file has no requests")
    elif len(texts) > MAX_LINES:
        problem("too_many_requests", f"a batch can have at most {MAX_LINES} requests; the file has {len(texts)}")
    lines, seen = [], set()
    for n, text in enumerate(texts[:MAX_LINES], 1):
        try:
            line = json.loads(text.decode("utf-8"))
        except ValueError:  # UnicodeDecodeError and JSONDecodeError alike
            problem("invalid_json_line", "this line is not valid JSON", n)
            continue
        if not isinstance(line, dict):
            problem("invalid_line", "a line must be a JSON object", n)
            continue
        unknown = sorted(set(line) - LINE_FIELDS)
        if unknown:
            problem("invalid_line", f'unknown field "{unknown[0]}"', n, unknown[0])
        custom_id = line.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            problem("missing_custom_id", "custom_id must be a non-empty string", n, "custom_id")
        elif custom_id in seen:
            problem("duplicate_custom_id", f"custom_id {json.dumps(custom_id)} is used more than once", n, "custom_id")
        seen.add(custom_id)
        if line.get("method") != "POST":
            problem("invalid_method", "method must be POST", n, "method")
        if line.get("url") != endpoint:
            problem("invalid_url", f"url must be {endpoint}, the batch's endpoint", n, "url")
        if not isinstance(line.get("body"), dict):
            problem("invalid_body", "body must be a JSON object", n, "body")
        lines.append(line)
    return lines, errors


class BatchState:
    """One batch on the server (``api.batches[id]``): where it has got and what its lines answered."""

    def __init__(self, api, request, authorization):
        self.api = api
        self.id = f"batch_{uuid.uuid4()}"
        self.request = request  # the creating POST's body (null fields dropped)
        self.authorization = authorization  # the key its lines are answered with
        self.status = "validating"
        self.created_at = int(time.time())
        self.times = {name: None for name in ("in_progress_at", "finalizing_at", "completed_at", "failed_at",
                                               "expired_at", "cancelling_at", "cancelled_at")}
        self.lines = []  # the input file's requests, once validated
        self.results = {}  # custom_id -> output or error file line, in the order they were answered
        self.errors = None
        self.output_file_id = self.error_file_id = None
        self.polls = 0  # GET polls answered
        self._stage_polls = 0  # polls since the last step

    def object(self):
        """The batch as ``GET /v1/batches/{id}`` shows it."""
        with self.api._batch_lock:
            ok = sum(1 for r in self.results.values() if _succeeded(r))
            return {"id": self.id, "object": "batch", "endpoint": self.request["endpoint"], "errors": copy.deepcopy(self.errors),
                    "input_file_id": self.request["input_file_id"], "completion_window": self.request["completion_window"],
                    "status": self.status, "output_file_id": self.output_file_id, "error_file_id": self.error_file_id,
                    "created_at": self.created_at, "in_progress_at": self.times["in_progress_at"],
                    "expires_at": self.created_at + DAY, "finalizing_at": self.times["finalizing_at"],
                    "completed_at": self.times["completed_at"], "failed_at": self.times["failed_at"],
                    "expired_at": self.times["expired_at"], "cancelling_at": self.times["cancelling_at"],
                    "cancelled_at": self.times["cancelled_at"],
                    "request_counts": {"total": len(self.lines), "completed": ok, "failed": len(self.results) - ok},
                    "metadata": copy.deepcopy(self.request.get("metadata"))}

    def poll(self):
        """Count a GET poll, moving the batch as ``api.batch_polls_per_step`` says, then what it shows."""
        with self.api._batch_lock:
            self.polls += 1
            per_step = self.api.batch_polls_per_step
            if self.status == "cancelling":
                self._end("cancelled")
            elif per_step is not None and per_step <= 0:
                self.advance(len(STEPS))
            elif per_step is not None and self.status not in ENDED:
                self._stage_polls += 1
                if self._stage_polls >= per_step:
                    self.advance()
                elif self.status == "in_progress":  # the lines get answered over the step's polls
                    self._answer(math.floor(len(self.lines) * self._stage_polls / per_step))
            return self.object()

    def advance(self, steps=1):
        """Take ``steps`` steps now (validating -> in_progress or failed -> finalizing -> completed)."""
        with self.api._batch_lock:
            for _ in range(steps):
                self._stage_polls = 0
                now = int(time.time())
                if self.status == "validating":
                    stored = self.api.files.get(self.request["input_file_id"])
                    self.lines, problems = check_lines(stored.content if stored else b"", self.request["endpoint"])
                    if problems:
                        self.lines, self.errors = [], {"object": "list", "data": problems}
                        self.status, self.times["failed_at"] = "failed", now
                    else:
                        self.status, self.times["in_progress_at"] = "in_progress", now
                elif self.status == "in_progress":
                    self._answer(len(self.lines))
                    self.status, self.times["finalizing_at"] = "finalizing", now
                elif self.status == "finalizing":
                    self._end("completed")
                elif self.status == "cancelling":
                    self._end("cancelled")

    def cancel(self):
        """Start cancelling (True), or False if the batch has already ended."""
        with self.api._batch_lock:
            if self.status in ENDED:
                return False
            if self.status != "cancelling":
                self.status, self.times["cancelling_at"] = "cancelling", int(time.time())
            return True

    def expire(self):
        """End the batch now as expired (its 24 hours are up): True, or False if it had already ended."""
        with self.api._batch_lock:
            if self.status in ENDED:
                return False
            self._end("expired")
            return True

    def _answer(self, upto):
        """Answer the input lines, in order, until ``upto`` of them have been answered."""
        for line in self.lines[len(self.results):upto]:
            self.results[line["custom_id"]] = answer_line(self.api, line, self.authorization)

    def _end(self, status):
        """Finish as completed, cancelled or expired: write the output and error files."""
        now = int(time.time())
        self.status, self.times[f"{status}_at"] = status, now
        unrun = {"cancelled": "batch_cancelled", "expired": "batch_expired"}.get(status)
        errors = [r for r in self.results.values() if not _succeeded(r)]
        if unrun:
            errors += [{"id": f"batch_req_{uuid.uuid4()}", "custom_id": line["custom_id"], "response": None,
                        "error": {"code": unrun, "message": f"the batch was {status} before this request ran"}}
                       for line in self.lines if line["custom_id"] not in self.results]
        output = [r for r in self.results.values() if _succeeded(r)]
        self.output_file_id = self._write(output, "output")
        self.error_file_id = self._write(errors, "error")

    def _write(self, lines, kind):
        """Store output or error lines as a JSONL file in ``api.batch_output_order``: its id, or None if there are none."""
        if not lines:
            return None
        by_id = {line["custom_id"]: line for line in lines}
        ordered = output_order(by_id, self.api.batch_output_order)
        content = "".join(json.dumps(by_id[c], ensure_ascii=False) + "\n" for c in ordered).encode()
        return _store(self.api, StoredFile(f"{self.id}_{kind}.jsonl", "batch_output", content)).id


def _succeeded(result):
    return result["response"] is not None and 200 <= result["response"]["status_code"] < 300


def answer_line(api, line, authorization):
    """One input line run as its own ``POST /v1/responses`` would be: an output or error file line."""
    custom_id, request = line["custom_id"], line["body"]
    failure = api.batch_fail_lines.get(custom_id)
    if failure is not None:
        status, message, *kind = failure
        default = ERROR_TYPES.get(status, "internal_error" if status >= 500 else "invalid_request")
        reply = agent_error(status, message, kind[0] if kind else default)
    elif request.get("stream") or request.get("background"):
        name = "stream" if request.get("stream") else "background"
        reply = agent_error(400, f"validation failed: {name} is not supported in a batch", "invalid_request", name)
    else:
        reply = api.validate({"Authorization": authorization}, request)
        if reply is None:
            reply = api.run(copy.deepcopy(api.batch_runs.get(custom_id) or AgentRun()), request)
    return {"id": f"batch_req_{uuid.uuid4()}", "custom_id": custom_id,
            "response": {"status_code": reply.status, "request_id": reply.headers.get("x-request-id") or uuid.uuid4().hex,
                         "body": json.loads(b"".join(reply.parts))},
            "error": None}


def _batch_body(api, body):
    """The checked body of ``POST /v1/batches`` (null fields dropped), or Invalid."""
    if not isinstance(body, dict):
        raise Invalid("invalid request body: not a JSON object")
    unknown = sorted(set(body) - BATCH_FIELDS)
    if unknown:
        raise Invalid(f'invalid request body: json: unknown field "{unknown[0]}"', unknown[0])
    body = {k: v for k, v in body.items() if v is not None}
    for name in ("input_file_id", "endpoint", "completion_window"):
        if name not in body:
            raise Invalid(f"validation failed: {name} is required", name)
    if body["endpoint"] not in BATCH_ENDPOINTS:
        raise Invalid(f"validation failed: endpoint {json.dumps(body['endpoint'])} is not supported; use /v1/responses", "endpoint")
    if body["completion_window"] not in COMPLETION_WINDOWS:
        raise Invalid(f"validation failed: completion_window {json.dumps(body['completion_window'])} is not supported; use 24h",
                      "completion_window")
    stored = api.files.get(body["input_file_id"]) if isinstance(body["input_file_id"], str) else None
    if stored is None:
        raise Invalid(f"validation failed: input_file_id {json.dumps(body['input_file_id'])} is not a file", "input_file_id")
    if stored.purpose != "batch":
        raise Invalid("validation failed: the input file's purpose must be batch", "input_file_id")
    metadata = body.get("metadata", {})
    if not (isinstance(metadata, dict) and len(metadata) <= MAX_METADATA
            and all(isinstance(v, str) and len(k) <= 64 and len(v) <= 512 for k, v in metadata.items())):
        raise Invalid(f"validation failed: metadata must be at most {MAX_METADATA} string pairs "
                      "(keys up to 64 characters, values up to 512)", "metadata")
    return body


def create(api, headers, body):
    """``POST /v1/batches``: a new batch (validating), or the one its Idempotency-Key made before."""
    body = _batch_body(api, body)
    key = headers.get("Idempotency-Key")
    with api._batch_lock:
        if key is not None and key in api._idempotency:
            first, batch_id = api._idempotency[key]
            if first != body:
                raise Invalid("the Idempotency-Key was already used with a different request")
            return api.batches[batch_id].object()
        state = BatchState(api, body, headers.get("Authorization"))
        api.batches[state.id] = state
        if key is not None:
            api._idempotency[key] = (copy.deepcopy(body), state.id)
        return state.object()


def listing(api, query):
    """``GET /v1/batches``: the batches, newest first, a page at a time."""
    limit = query.get("limit", "20")
    if not re.fullmatch(r"[0-9]+", limit) or not 1 <= int(limit) <= 100:
        raise Invalid("validation failed: limit must be an integer between 1 and 100", "limit")
    with api._batch_lock:
        states = list(api.batches.values())[::-1]
    after = query.get("after")
    if after is not None:
        at = next((i for i, s in enumerate(states) if s.id == after), None)
        if at is None:
            raise Invalid(f"validation failed: after {json.dumps(after)} is not a batch", "after")
        states = states[at + 1:]
    page = [s.object() for s in states[:int(limit)]]
    return {"object": "list", "data": page, "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None, "has_more": len(states) > int(limit)}


# ---- serving ----

def handles(route):
    """Whether a path is this module's: ``/v1/files``, ``/v1/batches`` and what lies under them."""
    return route in ("/v1/files", "/v1/batches") or route.startswith(("/v1/files/", "/v1/batches/"))


NOT_FOUND = object()


def _route(api, method, route, query, headers, body):
    """The JSON answer to one request (a dict, or a StoredFile for file content); NOT_FOUND; or Invalid."""
    if route == "/v1/files":
        return upload(api, headers, body) if method == "POST" else NOT_FOUND
    if route == "/v1/batches":
        if method == "POST":
            return create(api, headers, body)
        return listing(api, query)
    match = FILE_PATH.fullmatch(route)
    if match and method == "GET":
        stored = api.files.get(match.group(1))
        if stored is None:
            return NOT_FOUND
        return stored if match.group(2) else stored.object()
    match = BATCH_PATH.fullmatch(route)
    if match:
        state = api.batches.get(match.group(1))
        if state is None:
            return NOT_FOUND
        if method == "GET" and not match.group(2):
            return state.poll()
        if method == "POST" and match.group(2):
            if not state.cancel():
                raise Invalid(f"the batch is already {state.status} and cannot be cancelled")
            return state.object()
    return NOT_FOUND


def answer(api, method, path, headers, body):
    """The Reply to one request on a path of :func:`handles` (called by ``FakeAPI.answer`` when strict)."""
    route, query = path.split("?")[0], urlsplit(path).query
    early = api.key_or_queued(route, headers)  # a bad key, or a queued reply (used once)
    if early is not None:
        return early
    base = {"x-request-id": uuid.uuid4().hex, **api.ratelimit_headers()}
    try:
        result = _route(api, method, route, {k: v[-1] for k, v in parse_qs(query).items()}, headers, body)
    except Invalid as rejection:
        return agent_error(400, rejection.message, "invalid_request", rejection.param, headers=base)
    if result is NOT_FOUND:
        return agent_error(404, "resource not found", "not_found", headers=base)
    if isinstance(result, StoredFile):
        return Reply(parts=[result.content], headers={"Content-Type": "application/octet-stream", **base}, framing="length")
    if method == "POST" and route == "/v1/batches" and api.batch_lost_answers:
        api.batch_lost_answers -= 1
        return Reply(no_response=True)  # the batch is made; its answer never arrives
    return json_reply(result, 200, base)


# ---- for tests ----

def jsonl(lines):
    """JSONL bytes of dicts (or strings sent as they are), one a line, with a final newline."""
    return "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines).encode()


def request_line(custom_id, body=None, **fields):
    """One input line: ``{"custom_id", "method": "POST", "url": "/v1/responses", "body"}`` (fields override)."""
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/responses",
            "body": {"input": f"question {custom_id}"} if body is None else body, **fields}


def read_jsonl(content):
    """The dicts of JSONL bytes (a file's content)."""
    return [json.loads(line) for line in content.decode().splitlines() if line]
