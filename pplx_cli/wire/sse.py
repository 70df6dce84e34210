"""Server-sent events: bytes chunks -> lines -> events.

Pure generators with no I/O, following the WHATWG event-stream rules: LF, CR and CRLF line
ends (a CRLF may be split across two chunks), an optional leading byte order mark, ``data:``
with or without one space, several ``data:`` lines joined with ``\\n``, ``event:``/``id:``
fields, ``retry:`` and ``:`` comment lines ignored, an event dispatched by a blank line, and a
trailing event with no blank line discarded.

Lines are split on bytes, and a line is decoded only once it is complete, so a UTF-8
sequence split across chunks is never broken.
"""

from typing import Iterable, Iterator, NamedTuple

from pplx_cli.errors import StreamError

BOM = b"\xef\xbb\xbf"
#: The largest line or event accepted: past it the stream is an error, not an out-of-memory.
MAX_EVENT_BYTES = 64 * 1024 * 1024
#: A data line longer than this is read through a view rather than sliced (a copy).
_LARGE = 64 * 1024


class Event(NamedTuple):
    """One dispatched event: its type (default ``message``), data and last event id."""

    type: str
    data: str
    id: str = ""


def _too_large(size, limit):
    return StreamError(f"an event is larger than {limit // (1024 * 1024)} MiB ({size} bytes so far)")


def iter_strip_bom(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Yield the chunks with one leading UTF-8 byte order mark removed, even if split."""
    it = iter(chunks)
    head = b""
    for chunk in it:
        head += chunk
        if len(head) >= len(BOM) or not BOM.startswith(head):
            break
    if head.startswith(BOM):
        head = head[len(BOM):]
    elif BOM.startswith(head):
        return  # the stream ended inside what could only be a byte order mark
    if head:
        yield head
    yield from it


def iter_line_batches(chunks: Iterable[bytes], max_line: int = MAX_EVENT_BYTES) -> Iterator[list]:
    """Yield, for each chunk, the list of lines (bytes, without their ends) it completes.

    A line is handed on as soon as its end arrives (a CR is an end at once; the LF of a
    CRLF split across chunks is then skipped). An unterminated last line is discarded, as
    it can only belong to an event that was never dispatched. Lists rather than single
    lines keep the per-line cost of a long stream down.
    """
    parts = None  # the line still open: bytes, then a bytearray once a second piece comes
    skip_lf = False
    for chunk in chunks:
        if not chunk:
            continue
        if skip_lf:
            skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
                if not chunk:
                    continue
        if b"\r" in chunk:
            skip_lf = chunk[-1:] == b"\r"
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if b"\n" not in chunk:
            if parts is None:
                parts = chunk
            else:  # grown in place: a long line is never held twice (pieces and their join)
                if not isinstance(parts, bytearray):
                    parts = bytearray(parts)
                parts += chunk
            if len(parts) > max_line:
                raise _too_large(len(parts), max_line)
            continue
        lines = chunk.split(b"\n")
        chunk = None
        tail = lines.pop()
        if parts is not None:
            if not isinstance(parts, bytearray):
                parts = bytearray(parts)
            parts += lines[0]
            lines[0], parts = (parts if len(parts) > _LARGE else bytes(parts)), None
            if len(lines[0]) > max_line:
                raise _too_large(len(lines[0]), max_line)
            if len(lines[0]) > _LARGE:  # alone in its batch, so that its reader can let go of it
                yield [lines.pop(0)]
        if lines:
            yield lines
        lines = None
        parts = tail or None


def iter_lines(chunks: Iterable[bytes], max_line: int = MAX_EVENT_BYTES) -> Iterator[bytes]:
    """Yield each complete line as bytes, without its line end (see iter_line_batches)."""
    for batch in iter_line_batches(chunks, max_line):
        yield from batch


#: Event type names seen, by their bytes: a stream names a few types thousands of times.
_TYPES = {}


def _type_name(value) -> str:
    key = bytes(value)
    name = key.decode("utf-8", "replace")
    if len(_TYPES) < 256:
        _TYPES[key] = name
    return name


def iter_events(lines: Iterable[bytes], max_event: int = MAX_EVENT_BYTES) -> Iterator[Event]:
    """Turn lines into dispatched events (WHATWG "interpret an event stream")."""
    return _iter_events_of_batches((lines,), max_event)


def _iter_events_of_batches(batches, max_event: int = MAX_EVENT_BYTES) -> Iterator[Event]:
    # an event's data: None (no data line yet), the one line's bytes as they are (the usual
    # event, no copy), or a bytearray once a second line comes: an event of millions of short
    # lines is held in its size, not as millions of bytes objects
    data = None
    size = 0
    event_type = ""
    last_id = ""
    for batch in batches:
        for line in batch:
            if not line:
                if data is not None:
                    event = Event(event_type or "message", str(data, "utf-8", "replace"), last_id)
                    data = value = None  # the bytes go before the event is handed on: a large event is held once
                    size = 0
                    yield event
                    event = None
                event_type = ""
                continue
            if line.startswith(b"event: "):  # the usual two lines of an event first, each in one step
                value = line[7:]
                event_type = (_TYPES.get(value) if type(value) is bytes else None) or _type_name(value)
                continue
            if line.startswith(b"data:"):
                if len(line) > _LARGE:  # a view, not a copy of a large line (decoded by str() as it is)
                    value = memoryview(line)[6 if line[5:6] == b" " else 5:]
                    if type(batch) is list and len(batch) == 1:
                        batch.clear()  # alone in its batch: only the view holds it, until the event is made
                    line = None
                else:
                    value = line[6:] if line[5:6] == b" " else line[5:]
            elif line[:1] == b":":
                continue  # a comment, e.g. a keep-alive ping
            else:
                field, _, value = line.partition(b":")
                if value[:1] == b" ":
                    value = value[1:]
                if field == b"event":
                    event_type = _type_name(value)
                    continue
                if field == b"id":
                    if b"\0" not in value:
                        last_id = value.decode("utf-8", "replace")
                    continue
                if field != b"data":
                    continue  # retry: and unknown fields do not affect output
            if data is None:
                data = value
            else:
                if not isinstance(data, bytearray):
                    data = bytearray(data)
                data += b"\n"
                data += value
            size += len(value) + 1
            if size > max_event:
                raise _too_large(size, max_event)


def iter_sse(chunks: Iterable[bytes]) -> Iterator[Event]:
    """Yield the events of an event-stream body given as any iterable of bytes chunks."""
    return _iter_events_of_batches(iter_line_batches(iter_strip_bom(chunks)))
