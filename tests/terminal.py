"""A pseudo-terminal for tests, and the screen a person would see on it.

:class:`Terminal` starts the installed pplx on a pty of its own (its controlling terminal,
stdin, stdout and stderr, as in a shell), types into it and reads what it writes;
:class:`Screen` plays those bytes as a terminal would (carriage returns, erasing, cursor
moves; colours and hyperlinks dropped), so a test can compare the text shown, line by line.
"""

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time

from tests.conftest import pplx_executable

#: A session of its own with the pty (its stdin) as its controlling terminal, then pplx in
#: its place (no preexec_fn: the test process runs the server's threads).
TAKE_THE_TERMINAL = ("import fcntl, os, sys, termios; os.setsid(); fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
                     "os.execv(sys.argv[1], sys.argv[1:])")
_CSI = re.compile(rb"\x1b\[([0-9;?]*)([A-Za-z])")
_OSC = re.compile(rb"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


class Screen:
    """The text a terminal shows for the bytes written to it (no wrapping: a wide screen)."""

    def __init__(self):
        self.lines = [[]]
        self.row = self.col = 0

    def feed(self, data: bytes):
        data = _OSC.sub(b"", data)
        at = 0
        for m in _CSI.finditer(data):
            self._text(data[at:m.start()])
            self._csi(m.group(1).decode(), m.group(2).decode())
            at = m.end()
        self._text(data[at:])

    def _csi(self, params, final):
        n = int(params) if params.isdigit() else 1
        if final == "K":
            del self.lines[self.row][self.col:]
        elif final == "A":
            self.row = max(self.row - n, 0)
        elif final == "B":
            self._down(n)
        elif final == "C":
            self.col += n
        elif final == "D":
            self.col = max(self.col - n, 0)

    def _down(self, n=1):
        self.row += n
        while len(self.lines) <= self.row:
            self.lines.append([])

    def _text(self, data: bytes):
        for char in data.decode("utf-8", "replace"):
            if char == "\r":
                self.col = 0
            elif char == "\n":
                self._down()
            elif char == "\b":
                self.col = max(self.col - 1, 0)
            elif char >= " ":
                line = self.lines[self.row]
                line.extend(" " * (self.col - len(line)))
                line[self.col:self.col + 1] = [char]
                self.col += 1

    def text(self) -> str:
        return "\n".join("".join(line).rstrip() for line in self.lines)


class Terminal:
    """pplx on a pseudo-terminal: ``type`` what a person types, ``wait_for`` what they see."""

    def __init__(self, *args, env=None, columns=200, stdout=None):
        """``stdout``: subprocess.PIPE for a pipe there (``self.proc.stdout``), else the terminal."""
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
        full = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
        full.update(TERM="xterm-256color", **(env or {}))
        self.proc = subprocess.Popen([sys.executable, "-c", TAKE_THE_TERMINAL, pplx_executable(), *args], stdin=slave,
                                     stdout=slave if stdout is None else stdout, stderr=slave, env=full)
        os.close(slave)
        self.raw = b""
        self.screen = Screen()
        self.closed = False

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: pplx has gone and closed the terminal
            chunk = b""
        if not chunk:
            self.closed = True
            return False
        self.raw += chunk
        self.screen.feed(chunk)
        return True

    def text(self) -> str:
        """The screen as text, each summary line's time as 0.0s."""
        return re.sub(r"(pplx: (?:.* · )?)\d+\.\ds$", r"\g<1>0.0s", self.screen.text(), flags=re.M)

    def wait_for(self, check, timeout=20.0) -> str:
        """Read until ``check(screen text)`` holds (a string: the screen ends with it)."""
        test = (lambda text: text.endswith(check)) if isinstance(check, str) else check
        deadline = time.monotonic() + timeout
        while not test(self.text()):
            if self.closed or time.monotonic() > deadline:
                raise AssertionError(f"not on the screen: {check!r}\n--- the screen:\n{self.text()}")
            self._read(0.05)
        return self.text()

    def type(self, keys):
        os.write(self.master, keys.encode() if isinstance(keys, str) else keys)

    def finish(self, timeout=20.0) -> int:
        """Read to the end and wait for pplx's exit status."""
        deadline = time.monotonic() + timeout
        while not self.closed and time.monotonic() < deadline:
            self._read(0.1)
        code = self.proc.wait(timeout=max(deadline - time.monotonic(), 1))
        os.close(self.master)
        return code

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if not self.closed:
            self.closed = True
            os.close(self.master)
