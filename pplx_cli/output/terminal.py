"""What only a terminal needs: control characters made visible, width, and whether to render
Markdown or use colour. Pure functions over the stream and environment they are given; stdlib
only, cheap to import.

Text from the network can carry escape sequences that move the cursor, rewrite the window
title, hide text or forge hyperlinks, and bidirectional overrides that make text read in a
different order than it is stored (CVE-2021-42574, "Trojan Source"). ``neutralise`` turns
every such character into a visible escape in Python's notation (ESC -> ``\\x1b``, U+202E ->
``\\u202e``), so the only escape sequences on a terminal are the ones pplx writes itself.
The escapes are for showing, not for reversing: a backslash already in the text is left as it
is, so ``\\x1b`` on screen may be either.
"""

import re

#: C0 controls but tab and newline, DEL, C1 controls, bidi embeddings/overrides and isolates.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: The same, and tab and newline: for what must stay on one line.
_UNSAFE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def neutralise(text: str) -> str:
    """``text`` safe to write to a terminal: controls and bidi overrides as visible escapes.

    Newline and tab are kept. CRLF becomes LF (it is a line end, whatever wrote it); any
    other carriage return becomes ``\\r``, since a lone CR returns the cursor to the start of
    the line and lets what follows overwrite what was written. Everything else, all printable
    Unicode included, is unchanged. Text that arrives in pieces can split a CRLF: feed it
    through a ``StreamNeutraliser``, or cut it at newlines, to get the same result as
    neutralising it whole.
    """
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    return _UNSAFE.sub(_escape, text)


def neutralise_line(text: str) -> str:
    """``neutralise``, and newline, tab and CR escaped too, for what must stay on one line
    (a title, a URL, a header value): a newline in a source title must never start a line
    of its own. A CRLF is one line end, shown as ``\\n``."""
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    return _UNSAFE_LINE.sub(_escape, text)


class StreamNeutraliser:
    """``neutralise`` over text that arrives in pieces: a CR at the end of a piece is held
    back until the next piece shows whether an LF follows it."""

    def __init__(self):
        self.held = ""

    def feed(self, text: str) -> str:
        """What can be written now."""
        text = self.held + text
        self.held = "\r" if text.endswith("\r") else ""
        return neutralise(text[:-1] if self.held else text)

    def flush(self) -> str:
        """What is held back, at the end of the text (a CR at the very end is a lone CR)."""
        held, self.held = self.held, ""
        return neutralise(held)


def cells(text: str) -> int:
    """The columns ``text`` takes on a terminal: an East Asian wide or fullwidth character
    (CJK, most emoji) two, a combining mark or a zero-width format character none, any other
    one. Controls are not counted right: neutralise them first."""
    if text.isascii():
        return len(text)
    return sum(_widths(text))


def _widths(text: str):
    """Each character's columns, in order; the emoji presentation selector U+FE0F makes the
    one-column character before it two wide (it counts the extra column)."""
    last = 0
    for char in text:
        if char == "\ufe0f" and last == 1:
            last = 2
            yield 1
            continue
        last = _cell(char)
        yield last


def _cell(char: str) -> int:
    import unicodedata

    if unicodedata.east_asian_width(char) in ("W", "F"):
        return 2
    category = unicodedata.category(char)
    if category in ("Mn", "Me") or (category == "Cf" and char != "\xad"):  # a soft hyphen may be shown
        return 0
    return 1


def fit(text: str, columns: int) -> str:
    """``text`` in at most ``columns`` terminal columns (see ``cells``): whole when it fits,
    else cut and ended with ``…``; a wide character is never cut in half."""
    if cells(text) <= columns:
        return text
    room, used = columns - 1, 0
    for i, width in enumerate(_widths(text)):
        used += width
        if used > room:
            end = i - 1 if width == 1 and text[i] == "\ufe0f" else i  # a selector goes with its character
            return text[:end] + "…"
    return text


def _safe_url(url: str) -> str:
    # OSC 8 wants a URI of printable ASCII: anything else (controls, ESC, BEL, C1, spaces,
    # non-ASCII) is percent-encoded as UTF-8, so nothing in it can end the sequence early
    return "".join(
        char if "!" <= char <= "~" else "".join(f"%{byte:02X}" for byte in char.encode("utf-8", "replace"))
        for char in url
    )


def osc8(url: str, text: str) -> str:
    """``text`` as an OSC 8 hyperlink to ``url`` (https://gist.github.com/egmontkob/eb114294efbcd5adb1944c9f3cb5feda).

    The URL is made safe here (see ``_safe_url``); ``text`` is written as given, so the
    caller neutralises it. An empty URL gives ``text`` alone.
    """
    url = _safe_url(url)
    if not url:
        return text
    return f"\x1b]8;;{url}\x1b\\{text}\x1b]8;;\x1b\\"


#: The status line now on the terminal, if any: messages.say erases it before a diagnostic.
ACTIVE = None


def clear_status():
    """Erase the status line, if one is up, before another line is written to stderr."""
    if ACTIVE is not None:
        ACTIVE.clear()


class StatusLine:
    """One line on a terminal that rewrites itself: where a long run is (elapsed time, phase).

    Nothing is drawn for the first ``DELAY`` seconds (a quick answer shows no line at all);
    after that a ticker thread redraws the elapsed time every second. ``show`` sets the
    phase; ``clear`` erases the line before anything else is written to the terminal (a
    diagnostic; the next tick draws it again below), and ``stop`` ends it for good (the
    answer has started). Every write holds one lock, so the ticker never interleaves.
    """

    DELAY = 1.0

    def __init__(self, stream, *, width: int = 80, clock=None, ticker=True):
        import threading
        import time

        global ACTIVE
        self.stream = stream  # binary
        self.width = max(width, 20)
        self.clock = clock or time.monotonic
        self.started = self.clock()
        self.phase = "waiting for the answer"
        self.up = False
        self.stopped = False
        self.lock = threading.Lock()
        ACTIVE = self
        if ticker:
            threading.Thread(target=self._tick, daemon=True).start()

    def _line(self) -> str:
        from pplx_cli.errors import redact

        # one column short of the width: a line that fills it would wrap on some terminals
        return fit(neutralise_line(redact(f"{self.clock() - self.started:.0f}s · {self.phase}")), self.width - 1)

    def _draw(self):
        if self.clock() - self.started < self.DELAY:
            return
        try:
            self.stream.write(("\r\x1b[2K" + self._line()).encode("utf-8", "replace"))
            self.stream.flush()
            self.up = True
        except OSError:
            self.stopped = True

    def show(self, phase: str):
        """Set the phase and draw the line (unless the answer has started)."""
        with self.lock:
            if self.stopped:
                return
            self.phase = phase
            self._draw()

    def clear(self):
        """Erase the line, if it is up, before something else is written."""
        with self.lock:
            self._erase()

    def _erase(self):
        if self.up:
            try:
                self.stream.write(b"\r\x1b[2K")
                self.stream.flush()
            except OSError:
                pass
            self.up = False

    def stop(self):
        """Erase the line and never draw it again."""
        global ACTIVE
        with self.lock:
            self._erase()
            self.stopped = True
        if ACTIVE is self:
            ACTIVE = None

    def _tick(self):
        import time

        time.sleep(self.DELAY)
        while True:
            with self.lock:
                if self.stopped:
                    return
                self._draw()
            time.sleep(1.0)
