"""Sonar chat completions (``--api chat``): ``/chat/completions`` bodies and streams, in the
full and concise stream modes, as pieces (see :mod:`pplx_cli.dialects.pieces`). A value of the wrong
type is skipped, and the first such part noted in one warning."""

import re
from typing import Iterable, Iterator

from pplx_cli.errors import APIError, StreamError, StreamIncomplete
from pplx_cli.dialects.pieces import META, PROGRESS, REASONING, TEXT, Dialect, Piece, loads_event, typed_meta
from pplx_cli.wire.bodies import error_message
from pplx_cli.wire.sse import Event

#: Top-level keys of a chat completion (chunk) copied into the metadata.
CHAT_META_KEYS = ("id", "model", "created", "usage", "citations", "search_results", "images", "related_questions")


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


class ChatDialect(Dialect):
    """Sonar chat completions: ``/chat/completions`` bodies and streams (full and concise)."""

    name = "chat"

    def __init__(self):
        super().__init__()
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
            data = without_message_content(event.data) if self.text_seen else event.data
            obj, bad = loads_event(event, self.events, data)
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
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            delta = {}
        if not (isinstance(choices, list) and choices) and kind not in ("chat.reasoning", "chat.completion.done"):
            # a deep-research progress chunk: no text, but the status line says the run is alive
            found = obj.get("search_results")
            out.append(Piece(PROGRESS, f"researching · {len(found)} sources found" if isinstance(found, list) and found
                             else "researching"))
        elif kind == "chat.reasoning":
            steps = delta.get("reasoning_steps")
            for step in steps if isinstance(steps, list) else ():
                text = _reasoning_step_text(step)
                if text:
                    out.append(Piece(REASONING, text))
        elif kind == "chat.completion.done":
            self.complete = True
            if not self.text_seen:  # nothing was streamed: the final message is the answer
                content = _dict(choice.get("message")).get("content")
                if isinstance(content, str) and content:
                    out += self._text(content)
        else:
            content = delta.get("content")
            if isinstance(content, str) and content:
                out += self._text(content)
        meta = self._meta(obj)
        finish = choice.get("finish_reason")
        if finish:  # any value but null ends the stream; only a string is kept
            if isinstance(finish, str):
                meta["finish_reason"] = finish
            else:
                self.note_malformed("finish_reason")
            self.complete = True
        if self.malformed is not None:
            out += self.warning()
        if meta:
            out.append(Piece(META, meta))
        return out

    def _meta(self, obj) -> dict:
        meta, malformed = typed_meta(obj, CHAT_META_KEYS)
        self.note_malformed(malformed)
        return meta

    def iter_body(self, obj: dict) -> Iterator[Piece]:
        """Yield the pieces of a non-streamed chat completion body."""
        yield Piece(META, {"api": self.name})
        if obj.get("error"):
            raise APIError(error_message(obj))
        choices = obj.get("choices")
        if not isinstance(choices, list) or not choices:
            raise StreamError("the response has no choices")
        choice = _first_choice(obj)
        content = _dict(choice.get("message")).get("content")
        meta = self._meta(obj)
        yield Piece(META, meta)  # the sources before the text: a terminal links the markers as it renders
        if isinstance(content, str) and content:
            yield from self._text(content)
        yield from self.splitter.flush()
        finish = choice.get("finish_reason")
        if finish is not None and not isinstance(finish, str):
            self.note_malformed("finish_reason")
            finish = None
        meta["finish_reason"] = finish
        self.complete = True
        yield from self.warning()
        yield Piece(META, meta)


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _first_choice(obj) -> dict:
    choices = obj.get("choices")
    return _dict(choices[0]) if isinstance(choices, list) and choices else {}


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
        if isinstance(keywords, list):
            keywords = [k for k in keywords if isinstance(k, str)]
            if keywords:
                lines.append("Searching: " + "; ".join(keywords))
    return "".join(line + "\n" for line in lines)


