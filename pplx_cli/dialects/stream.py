"""Choosing a dialect: a stream's or body's pieces from the dialect that speaks it.

The dialects are found by name in :data:`DIALECTS` and imported only when used, so an Agent
API stream never loads the chat dialect (nor the contract module its implementations).
"""

import importlib
from typing import Iterable, Iterator

from pplx_cli import jsonsafe
from pplx_cli.dialects.pieces import Piece
from pplx_cli.errors import StreamError
from pplx_cli.wire.sse import Event

#: Dialect name -> the module and class that speak it.
DIALECTS = {"agent": ("pplx_cli.dialects.agent", "AgentDialect"), "chat": ("pplx_cli.dialects.chat", "ChatDialect")}


def dialect(name: str):
    """A new parser of the dialect ``name``."""
    module, cls = DIALECTS[name]
    return getattr(importlib.import_module(module), cls)()


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
            obj = jsonsafe.loads(data)
        except ValueError:
            return "chat"
        if isinstance(obj, dict):
            kind = obj.get("type")
            if isinstance(kind, str) and (kind.startswith("response.") or kind == "error"):
                return "agent"
    return "chat"


class PieceStream:
    """Iterate the pieces of an event stream, the dialect fixed or detected from the first event.

    After (or during) iteration, ``events`` counts the events read and ``parser`` is the
    dialect object (``None`` before the first event).
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
        self.parser = dialect(self._api or detect_dialect(first))
        return self.parser.iter_stream(_chain(first, self._events))


def _chain(first, rest):
    yield first
    yield from rest


class BodyPieces:
    """Iterate the pieces of a response body; ``parser`` is the dialect object reading it."""

    def __init__(self, obj: dict, api: str):
        self.parser = dialect(api)
        self._obj = obj

    def __iter__(self) -> Iterator[Piece]:
        return self.parser.iter_body(self._obj)


def body_pieces(obj, api: str) -> BodyPieces:
    """Pieces of a non-streamed response body (decoded JSON) of the given dialect."""
    if not isinstance(obj, dict):
        raise StreamError("the response is not a JSON object")
    return BodyPieces(obj, api)
