"""The one way pplx writes text of its own making to standard output and standard error.

Every line pplx formats (tables, listings, JSON records, messages, exported conversations,
dry-run requests) goes through :class:`Channel`: secrets (the API key) are redacted always;
on a terminal, control characters and bidirectional overrides from the network are shown as
escapes, never obeyed (:func:`~pplx_cli.output.terminal.neutralise`); in a pipe the text is written
as it is. Text is written as UTF-8 (a lone surrogate becomes ``?``) and flushed at once. A
write to standard output that fails (a full disk, EIO, a closed descriptor) is the one
``cannot write to stdout`` error (exit 74); a closed pipe is BrokenPipeError (exit 141);
standard error that cannot be written is left be: there is nowhere left to report to.

Answers stream through :class:`~pplx_cli.output.writer.AnswerWriter`, which applies the same rules
piece by piece. The one exception is ``raw`` (and ``ask --raw``): they print the response as
received, byte for byte, for ``pplx parse``.
"""

import re
import sys

from pplx_cli.errors import redact
from pplx_cli.output.tty import isatty as _isatty

#: A style :meth:`Channel.styled` writes: SGR parameters only (``1``, ``1;31``), never more.
_SGR = re.compile(r"[0-9]{1,3}(?:;[0-9]{1,3})*")


class Channel:
    """A binary stream and whether it is a terminal; ``write`` makes text safe for it."""

    def __init__(self, stream, terminal: bool, *, name: str = "stdout"):
        self.stream = stream
        self.terminal = terminal
        self.name = name

    def safe(self, text: str) -> str:
        """``text`` as it may be written here: redacted, and neutralised on a terminal."""
        text = redact(text)
        if self.terminal:
            from pplx_cli.output.terminal import neutralise

            text = neutralise(text)
        return text

    def write(self, text: str):
        """Write ``text`` (made safe) and flush."""
        self._write_safe(self.safe(text))

    def lines(self, lines):
        """Each of ``lines`` on a line of its own: on a terminal a newline or a control
        character inside one is shown as an escape, so no line can forge another."""
        if self.terminal:
            from pplx_cli.output.terminal import neutralise_line

            lines = [neutralise_line(line) for line in lines]
        if lines:
            self.write("".join(line + "\n" for line in lines))

    def styled(self, lines, color: bool = False):
        """Lines made of ``(style, text)`` spans, each line ended by a newline: every text made
        safe (redacted; on a terminal one line, controls shown), and on a terminal with
        ``color`` wrapped in its style's SGR sequence (``"1"`` bold, ``"32"`` green; ``""``
        none). In a pipe the styles are dropped: the text alone."""
        from pplx_cli.output.terminal import neutralise_line

        out = []
        for line in lines:
            for style, text in line:
                text = redact(text)
                if self.terminal:
                    text = neutralise_line(text)
                    if color and text and _SGR.fullmatch(style):
                        text = f"\x1b[{style}m{text}\x1b[0m"
                out.append(text)
            out.append("\n")
        if out:
            self._write_safe("".join(out))

    def _write_safe(self, text: str):
        """Write text already made safe, and flush (see :meth:`write`)."""
        if self.name == "stderr":
            from pplx_cli.output.terminal import clear_status

            clear_status()  # a progress line up on the terminal goes first
        data = text.encode("utf-8", "replace")
        try:
            self.stream.write(data)
            self.stream.flush()
        except BrokenPipeError:
            if self.name == "stdout":
                raise
        except OSError as e:
            if self.name == "stdout":
                from pplx_cli.output.streams import write_error

                raise write_error(e) from None


def stdout() -> Channel:
    """The process's standard output."""
    return Channel(sys.stdout.buffer, _isatty(sys.stdout))


def stderr() -> Channel:
    """The process's standard error."""
    return Channel(sys.stderr.buffer, _isatty(sys.stderr), name="stderr")


def out(text: str):
    """``text`` to standard output (see the module docstring)."""
    stdout().write(text)


def out_lines(lines):
    """Lines to standard output, one each (see :meth:`Channel.lines`)."""
    stdout().lines(list(lines))
