"""Events and response bodies -> typed pieces, one dialect per API.

A piece is ``(kind, value)``:

- ``text``: a string of answer text, in order;
- ``reasoning``: a string of reasoning (a ``<think>`` block, concise reasoning steps, Agent
  API reasoning events);
- ``meta``: a dict of metadata keys as the API names them; later values win;
- ``bad``: ``(event_number, excerpt)`` for an event whose data is not JSON; it is skipped.

An error object in the stream raises :class:`~pplx_cli.errors.APIError` after the pieces
before it; a stream that ends before its final event raises
:class:`~pplx_cli.errors.StreamIncomplete`. Nothing here does I/O.

Two dialects share this contract: ``chat`` (Sonar chat completions, full and concise
stream modes) and ``agent`` (the Agent API, ``/v1/responses``).
"""

import json
import re
from typing import Iterable, Iterator, NamedTuple

from pplx_cli.errors import APIError, StreamError, StreamIncomplete
from pplx_cli.sse import Event

TEXT = "text"
REASONING = "reasoning"
META = "meta"
BAD = "bad"

#: Top-level keys of a chat completion (chunk) copied into the metadata.
CHAT_META_KEYS = ("id", "model", "created", "usage", "citations", "search_results", "images", "related_questions")


class Piece(NamedTuple):
    """One typed piece of a response."""

    kind: str
    value: object


def error_message(err) -> str:
    """The human message of an API error object (dict, list or string)."""
    if isinstance(err, dict):
        inner = err.get("error")
        if isinstance(inner, (dict, str)):
            return error_message(inner)
        detail = err.get("detail")
        if isinstance(detail, list):  # HTTP 422: [{"loc": [...], "msg": "..."}]
            return "; ".join(_detail_text(d) for d in detail) or "invalid request"
        if isinstance(detail, str):
            return detail
        message = err.get("message")
        kind = err.get("type") or err.get("code")
        if message:
            return f"{message} ({kind})" if isinstance(kind, str) and kind not in message else str(message)
        if kind:
            return str(kind)
        return json.dumps(err, ensure_ascii=False)[:200]
    return str(err)


def _detail_text(detail):
    if not isinstance(detail, dict):
        return str(detail)
    loc = ".".join(str(p) for p in detail.get("loc", ()) if p != "body")
    msg = detail.get("msg", "invalid")
    return f"{loc}: {msg}" if loc else str(msg)


def _excerpt(data: str, limit: int = 60) -> str:
    text = data if len(data) <= limit else data[:limit] + "..."
    return json.dumps(text, ensure_ascii=False)


class ThinkSplitter:
    """Split a leading ``<think>...</think>`` block from the answer, across deltas.

    The tags may be split across deltas; text that could still be the start of a tag is
    held back until the next delta decides. The answer after the block starts without the
    block's trailing blank lines. Only a block at the start of the content counts: a
    ``<think>`` later in an answer is answer text.
    """

    OPEN = "<think>"
    CLOSE = "</think>"

    def __init__(self):
        self.state = "start"  # start -> think -> after -> answer, or start -> answer
        self.held = ""

    def feed(self, text: str) -> list:
        """Return the pieces that ``text`` completes."""
        if self.state == "answer":
            return [Piece(TEXT, text)]
        text = self.held + text
        self.held = ""
        out = []
        while text:
            if self.state == "start":
                stripped = text.lstrip()
                if stripped.startswith(self.OPEN):
                    self.state = "think"
                    text = stripped[len(self.OPEN):]
                    continue
                if not stripped or self.OPEN.startswith(stripped):
                    self.held = text  # still undecided
                    return out
                self.state = "answer"
                out.append(Piece(TEXT, text))
                return out
            if self.state == "think":
                end = text.find(self.CLOSE)
                if end >= 0:
                    if end:
                        out.append(Piece(REASONING, text[:end]))
                    self.state = "after"
                    text = text[end + len(self.CLOSE):]
                    continue
                keep = _partial_suffix(text, self.CLOSE)
                if keep:
                    self.held = text[-keep:]
                    text = text[:-keep]
                if text:
                    out.append(Piece(REASONING, text))
                return out
            # after the block: drop the blank lines that separate it from the answer
            text = text.lstrip()
            if text:
                self.state = "answer"
                out.append(Piece(TEXT, text))
            return out
        return out

    def flush(self) -> list:
        """Return what is still held back, at the end of the content."""
        held, self.held = self.held, ""
        if not held:
            return []
        if self.state == "think":
            return [Piece(REASONING, held)]
        if self.state == "start":
            return [Piece(TEXT, held)]
        return []


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest end of ``text`` that is a proper start of ``tag``."""
    for k in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:k]):
            return k
    return 0


#: How a full-mode chunk starts the growing copy of the whole answer so far (the service
#: has been seen sending JSON with and without spaces after ':' and ',').
_MESSAGE_CONTENT = re.compile(r'"message":\s*\{\s*(?:"role":\s*"assistant",\s*)?"content":\s*"')


def without_message_content(data: str) -> str:
    """``data`` with the full-mode ``message.content`` string emptied, when it has one.

    In full mode every chunk repeats the whole answer so far, so decoding it makes the
    work grow with the square of the answer's length; the answer is read from the deltas.
    The end of the string is found with ``str.find`` and a backslash-parity check: inside
    a JSON string every quote is escaped, so the first unescaped one ends it. Anything
    unexpected returns ``data`` unchanged, for ``json.loads`` to judge.
    """
    m = _MESSAGE_CONTENT.search(data)
    if m is None:
        return data
    start = end = m.end()
    while True:
        end = data.find('"', end)
        if end < 0:
            return data
        backslashes = 0
        while data[end - 1 - backslashes] == "\\":
            backslashes += 1
        if not backslashes % 2:
            return data[:start] + data[end:]
        end += 1


def _loads(event: Event, number: int, skip_message: bool = False):
    """Decode an event's JSON data: ``(object, None)``, or ``(None, bad piece)`` if it is not
    a JSON object. An ``event: error`` whose data is not JSON raises APIError with its text."""
    try:
        obj = json.loads(without_message_content(event.data) if skip_message else event.data)
    except ValueError:
        obj = None
    if isinstance(obj, dict):
        return obj, None
    if event.type == "error":
        raise APIError(f"error event: {event.data[:200]}")
    return None, Piece(BAD, (number, _excerpt(event.data)))


class ChatDialect:
    """Sonar chat completions: ``/chat/completions`` bodies and streams (full and concise)."""

    name = "chat"

    def __init__(self):
        self.events = 0
        self.complete = False
        self.text_seen = False
        self.splitter = ThinkSplitter()

    def _text(self, content):
        pieces = self.splitter.feed(content)
        if pieces:
            self.text_seen = True
        return pieces

    def iter_stream(self, events: Iterable[Event]) -> Iterator[Piece]:
        """Yield the pieces of a streamed chat completion."""
        yield Piece(META, {"api": self.name})
        for event in events:
            self.events += 1
            if event.data == "[DONE]":
                self.complete = True
                break
            # once text has been seen, a chunk's message copy is never needed
            obj, bad = _loads(event, self.events, skip_message=self.text_seen)
            if bad:
                yield bad
                continue
            if event.type == "error" or obj.get("error"):
                raise APIError(error_message(obj))
            yield from self._chunk(obj)
        yield from self.splitter.flush()
        if not self.complete:
            raise StreamIncomplete(f"the stream ended before its final chunk after {self.events} events", events=self.events)

    def _chunk(self, obj) -> list:
        """The pieces of one decoded chunk (a list: this runs once per event)."""
        out = []
        kind = obj.get("object")
        choices = obj.get("choices")
        choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
        delta = choice.get("delta") or {}
        if kind == "chat.reasoning":
            for step in delta.get("reasoning_steps") or ():
                text = _reasoning_step_text(step)
                if text:
                    out.append(Piece(REASONING, text))
        elif kind == "chat.completion.done":
            self.complete = True
            if not self.text_seen:  # nothing was streamed: the final message is the answer
                content = (choice.get("message") or {}).get("content")
                if isinstance(content, str) and content:
                    out += self._text(content)
        else:
            content = delta.get("content")
            if isinstance(content, str) and content:
                out += self._text(content)
        meta = {k: obj[k] for k in CHAT_META_KEYS if k in obj}
        finish = choice.get("finish_reason")
        if finish:
            meta["finish_reason"] = finish
            self.complete = True
        if meta:
            out.append(Piece(META, meta))
        return out

    def iter_body(self, obj: dict) -> Iterator[Piece]:
        """Yield the pieces of a non-streamed chat completion body."""
        yield Piece(META, {"api": self.name})
        if obj.get("error"):
            raise APIError(error_message(obj))
        choices = obj.get("choices")
        if not isinstance(choices, list) or not choices:
            raise StreamError("the response has no choices")
        choice = choices[0] if isinstance(choices[0], dict) else {}
        content = (choice.get("message") or {}).get("content")
        if isinstance(content, str) and content:
            yield from self._text(content)
        yield from self.splitter.flush()
        meta = {k: obj[k] for k in CHAT_META_KEYS if k in obj}
        meta["finish_reason"] = choice.get("finish_reason")
        self.complete = True
        yield Piece(META, meta)


def _reasoning_step_text(step) -> str:
    """One concise-mode reasoning step as a line or two of text."""
    if not isinstance(step, dict):
        return ""
    lines = []
    thought = step.get("thought")
    if isinstance(thought, str) and thought.strip():
        lines.append(thought.strip())
    detail = step.get(step.get("type")) if isinstance(step.get("type"), str) else None
    if isinstance(detail, dict):
        keywords = detail.get("search_keywords")
        if isinstance(keywords, list) and keywords:
            lines.append("Searching: " + "; ".join(str(k) for k in keywords))
    return "".join(line + "\n" for line in lines)


AGENT_FAILED = {"failed", "incomplete", "cancelled"}


class AgentDialect:
    """The Agent API: ``/v1/responses`` bodies and streams, with or without ``event:`` lines."""

    name = "agent"

    def __init__(self):
        self.events = 0
        self.complete = False
        self.text_seen = False
        self.sources = []

    def _sources_meta(self, results):
        for result in results:
            if isinstance(result, dict):
                self.sources.append(result)
        return {"search_results": list(self.sources), "citations": [r.get("url") for r in self.sources if r.get("url")]}

    def iter_stream(self, events: Iterable[Event]) -> Iterator[Piece]:
        """Yield the pieces of an Agent API event stream."""
        yield Piece(META, {"api": self.name})
        for event in events:
            self.events += 1
            if event.data == "[DONE]":  # not sent by the Agent API, but harmless
                break
            obj, bad = _loads(event, self.events)
            if bad:
                yield bad
                continue
            kind = obj.get("type") or event.type
            if kind == "response.output_text.delta":
                delta = obj.get("delta")
                if isinstance(delta, str) and delta:
                    self.text_seen = True
                    yield Piece(TEXT, delta)
            elif kind.startswith("response.reasoning"):
                yield from self._reasoning(kind, obj)
            elif kind in ("response.created", "response.in_progress", "response.queued"):
                response = obj.get("response")
                if isinstance(response, dict):
                    yield Piece(META, _agent_meta(response))
            elif kind in ("response.completed", "response.failed", "response.incomplete", "response.cancelled"):
                self.complete = True
                response = obj.get("response") if isinstance(obj.get("response"), dict) else obj
                yield from self._final(response, kind.rpartition(".")[2])
                return
            elif kind == "error" or (obj.get("error") and not kind.startswith("response.")):
                raise APIError(error_message(obj))
        if not self.complete:
            raise StreamIncomplete(f"the stream ended before its final event after {self.events} events", events=self.events)

    def _reasoning(self, kind, obj):
        if kind.endswith("search_results"):
            results = obj.get("results")
            if isinstance(results, list):
                yield Piece(META, self._sources_meta(results))
            return
        if kind.endswith("search_queries"):
            queries = obj.get("queries")
            if isinstance(queries, list) and queries:
                yield Piece(REASONING, "Searching: " + "; ".join(str(q) for q in queries) + "\n")
            return
        if kind.endswith("fetch_url_queries"):
            urls = obj.get("urls") or obj.get("queries")
            if isinstance(urls, list) and urls:
                yield Piece(REASONING, "Reading: " + "; ".join(str(u) for u in urls) + "\n")
            return
        for key in ("delta", "text", "thought"):
            text = obj.get(key)
            if isinstance(text, str) and text:
                yield Piece(REASONING, text)
                return

    def _final(self, response, status):
        """Pieces from a terminal response object; an error for a run that did not complete."""
        status = response.get("status") or status
        output = response.get("output")
        text_parts = []
        if isinstance(output, list):
            for item in output:
                if not isinstance(item, dict):
                    continue
                if item.get("type") == "search_results" and not self.sources:
                    results = item.get("results")
                    if isinstance(results, list):
                        yield Piece(META, self._sources_meta(results))
                elif item.get("type") == "message":
                    for part in item.get("content") or ():
                        if isinstance(part, dict) and part.get("type") == "output_text":
                            text_parts.append(part.get("text") or "")
        if not self.text_seen and text_parts:
            text = "".join(text_parts)
            if text:
                self.text_seen = True
                yield Piece(TEXT, text)
        meta = _agent_meta(response)
        if not self.sources:
            meta.update(search_results=[], citations=[])
        meta["finish_reason"] = _finish_reason(response, status)
        yield Piece(META, meta)
        if status in AGENT_FAILED:
            raise APIError(_agent_failure(response, status))

    def iter_body(self, obj: dict) -> Iterator[Piece]:
        """Yield the pieces of a non-streamed Agent API response body."""
        yield Piece(META, {"api": self.name})
        if obj.get("error") and not obj.get("status"):
            raise APIError(error_message(obj))
        self.complete = True
        yield from self._final(obj, obj.get("status") or "completed")


def _agent_meta(response: dict) -> dict:
    meta = {}
    for key in ("id", "model"):
        if response.get(key) is not None:
            meta[key] = response[key]
    if response.get("created_at") is not None:
        meta["created"] = response["created_at"]
    usage = response.get("usage")
    if isinstance(usage, dict):
        usage = dict(usage)
        # the chat names too, so scripts read the same keys whatever the API
        if "input_tokens" in usage:
            usage.setdefault("prompt_tokens", usage["input_tokens"])
        if "output_tokens" in usage:
            usage.setdefault("completion_tokens", usage["output_tokens"])
        meta["usage"] = usage
    return meta


def _finish_reason(response, status):
    if status == "completed":
        return "stop"
    details = response.get("incomplete_details")
    reason = details.get("reason") if isinstance(details, dict) else None
    if reason in ("max_output_tokens", "max_tokens"):
        return "length"
    return reason or status


def _agent_failure(response, status):
    err = response.get("error")
    if err:
        return f"response {status}: {error_message(err)}"
    details = response.get("incomplete_details")
    if isinstance(details, dict) and details.get("reason"):
        return f"response {status}: {details['reason']}"
    return f"response {status}"


DIALECTS = {"chat": ChatDialect, "agent": AgentDialect}


def detect_dialect(event: Event) -> str:
    """Name the dialect of a stream from its first event.

    Agent API events carry a ``type`` of ``response.*`` (or ``error``), in the data and
    sometimes also as the ``event:`` line; chat chunks carry ``object`` instead.
    """
    if event.type.startswith("response.") or (event.type == "error" and '"type"' in event.data):
        return "agent"
    data = event.data.lstrip()
    if data.startswith("{"):
        try:
            obj = json.loads(data)
        except ValueError:
            return "chat"
        if isinstance(obj, dict):
            kind = obj.get("type")
            if isinstance(kind, str) and (kind.startswith("response.") or kind == "error"):
                return "agent"
    return "chat"


class PieceStream:
    """Iterate the pieces of an event stream, the dialect fixed or detected from the first event.

    After (or during) iteration, ``events`` counts the events read and ``dialect`` names
    the dialect.
    """

    def __init__(self, events: Iterable[Event], api: str = None):
        self._events = iter(events)
        self._api = api
        self.parser = None

    @property
    def events(self) -> int:
        return self.parser.events if self.parser else 0

    def __iter__(self) -> Iterator[Piece]:
        first = next(self._events, None)
        if first is None:
            raise StreamError("the response is empty: no events")
        self.parser = DIALECTS[self._api or detect_dialect(first)]()
        return self.parser.iter_stream(_chain(first, self._events))


def _chain(first, rest):
    yield first
    yield from rest


def body_pieces(obj, api: str) -> Iterator[Piece]:
    """Pieces of a non-streamed response body (decoded JSON) of the given dialect."""
    if not isinstance(obj, dict):
        raise StreamError("the response is not a JSON object")
    return DIALECTS[api]().iter_body(obj)
