"""Events and response bodies -> typed pieces: the contract every API dialect keeps.

A piece is ``(kind, value)``:

- ``text``: a string of answer text, in order;
- ``reasoning``: a string of reasoning (a ``<think>`` block, concise reasoning steps, Agent
  API reasoning events);
- ``meta``: a dict of metadata keys as the API names them; later values win;
- ``bad``: ``(event_number, excerpt)`` for an event whose data is not JSON (or nests too
  deeply to read); it is skipped;
- ``warning``: a one-line warning about the response: the answer is still complete, or
  parts of it of the wrong shape were ignored (said once per response).

An error object in the stream raises :class:`~pplx_cli.errors.APIError` after the pieces
before it; a stream that ends before its final event raises
:class:`~pplx_cli.errors.StreamIncomplete`. Nothing here does I/O.

The dialects live beside this contract (chosen by :mod:`pplx_cli.dialects.stream`): ``agent`` (the Agent API,
``/v1/responses``) and ``chat`` (legacy Sonar chat completions, full and concise modes).
"""

import json
from typing import NamedTuple

from pplx_cli import jsonsafe
from pplx_cli.errors import APIError
from pplx_cli.wire.sse import Event

TEXT = "text"
REASONING = "reasoning"
META = "meta"
BAD = "bad"
WARNING = "warning"
#: The complete answer, when what was printed cannot be (deltas were lost mid-stream): the
#: answer to keep for the history and a follow-up; nothing is printed for it. Also sent when
#: the complete text equals what was printed, so that one string stands for the deltas.
ANSWER = "answer"
#: Where a long run is (a chat deep-research progress chunk): only the status line shows it.
PROGRESS = "progress"


class Piece(NamedTuple):
    """One typed piece of a response."""

    kind: str
    value: object


def excerpt(data: str, limit: int = 60) -> str:
    """The start of ``data`` as a quoted JSON string, for a warning line."""
    text = data if len(data) <= limit else data[:limit] + "..."
    return json.dumps(text, ensure_ascii=False)


def loads_event(event: Event, number: int, data: str = None):
    """Decode an event's JSON data (``data`` if given, else the event's): ``(object, None)``,
    or ``(None, bad piece)`` if it is not a JSON object. An ``event: error`` whose data is not
    JSON raises APIError with its text."""
    try:
        obj = jsonsafe.loads(event.data if data is None else data)
    except ValueError:
        obj = None
    if isinstance(obj, dict):
        return obj, None
    if event.type == "error":
        raise APIError("error event: " + " ".join(event.data[:200].split()))
    return None, Piece(BAD, (number, excerpt(event.data)))


#: Metadata keys and the types their decoded JSON may have (null always: not known yet).
_NULL = type(None)
META_TYPES = {"id": {str, _NULL}, "model": {str, _NULL}, "created": {int, float, _NULL}, "created_at": {int, float, _NULL},
              "usage": {dict, _NULL}, "citations": {list, _NULL}, "search_results": {list, _NULL}, "images": {list, _NULL},
              "related_questions": {list, _NULL}, "finish_reason": {str, _NULL}}


def typed_meta(obj: dict, keys) -> tuple:
    """``(meta, malformed)``: the ``keys`` of ``obj`` (decoded JSON) whose values have their
    META_TYPES type, and the first key whose value does not (None when all do)."""
    meta, malformed = {}, None
    for key in keys:
        if key in obj:
            value = obj[key]
            if type(value) in META_TYPES[key]:  # exact types: a bool is no number here
                meta[key] = value
            elif malformed is None:
                malformed = key
    return meta, malformed


class Dialect:
    """What the dialects share: counters, and at most one warning per response (a full-mode
    stream repeats its metadata in every chunk: a warning about it must not repeat)."""

    name = ""

    def __init__(self):
        self.events = 0
        self.complete = False
        self.malformed = None  # the first part of the response ignored for its shape
        self.warned = False  # this response's one warning has been given

    def note_malformed(self, what):
        """Remember that a part of the response (named for the warning) had the wrong shape."""
        if what and self.malformed is None:
            self.malformed = what.replace("_", " ")

    def warning(self) -> list:
        """The warning about what was noted malformed, if any and if none was given yet."""
        return [] if self.malformed is None else self.warn_once(f"ignored malformed {self.malformed} in the response")

    def warn_once(self, message) -> list:
        """A warning piece, unless this response has had its warning already."""
        if self.warned:
            return []
        self.warned = True
        return [Piece(WARNING, message)]


