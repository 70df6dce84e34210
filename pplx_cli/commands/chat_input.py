"""What ``pplx chat`` reads: prompts typed at a terminal, or lines piped in.

At a terminal (:class:`Keyboard`): the stdlib ``readline`` module's line editing, an input
history kept across sessions in a file of the data directory (mode 600, appended to as each
line is entered, so a session that ends any way keeps it; its last :data:`HISTORY_LINES`
lines kept), completion (see :class:`Completer`), and prompts of several lines: a line
ending in a backslash goes on on the next, a line starting with \"\"\" opens a block that a
line ending with \"\"\" closes, and pasted lines stay one prompt (the terminal's bracketed
paste, or lines already waiting when one has been read). Ctrl-C raises KeyboardInterrupt
(what was typed is dropped), Ctrl-D EOFError. Where stdout is not a terminal (readline edits
only with both), the prompt goes to stderr and lines are read as they come, unedited.

Piped (:func:`iter_script`): every line is one prompt, read as it arrives.
"""

import os
import sys

from pplx_cli.output.tty import isatty as _isatty

#: The lines the input history file keeps.
HISTORY_LINES = 1000
#: The prompt of a prompt's second and later lines.
CONTINUE = "... "
BLOCK = '"""'


def _readline():
    try:
        import readline
    except ImportError:  # a Python built without it: lines unedited
        return None
    return readline


def _err(text: str):
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


class Keyboard:
    """Prompts read at a terminal (see the module docstring)."""

    def __init__(self, history_path: str, completer=None):
        self.readline = _readline() if _isatty(sys.stdout) else None
        self.history_path = history_path
        self.at_prompt = False  # a line is being read: what interjects must redraw it
        self.on_prompt = None  # called as each prompt begins to wait (what came in meanwhile is said then)
        self.prompt = ""
        self.saved = 0  # lines of readline's history already in the file
        if self.readline is not None:
            self._set_up(completer)

    def _set_up(self, completer):
        rl = self.readline
        libedit = "libedit" in (rl.__doc__ or "")
        rl.parse_and_bind("bind ^I rl_complete" if libedit else "tab: complete")
        if not libedit and getattr(rl, "_READLINE_VERSION", 0) >= 0x0801:
            # Python turns bracketed paste off for its own prompt; here a paste is one prompt, lines and all
            rl.parse_and_bind("set enable-bracketed-paste on")
        rl.set_completer_delims(" \t\n")  # model ids and paths are words, slashes and all
        if completer is not None:
            rl.set_completer(completer)
        if hasattr(rl, "set_pre_input_hook"):
            rl.set_pre_input_hook(self._reading)
        rl.set_history_length(HISTORY_LINES)
        try:
            rl.read_history_file(self.history_path)
        except OSError:  # none yet, or unreadable: a history begins
            pass
        self.saved = rl.get_current_history_length()

    def _reading(self):
        self.at_prompt = True
        if self.on_prompt is not None:
            self.on_prompt()

    def read(self, prompt: str) -> str:
        """One prompt, of as many lines as it was typed or pasted in."""
        line = self._line(prompt)
        if line.lstrip().startswith(BLOCK):
            return self._block(line.lstrip()[len(BLOCK):])
        lines = []
        while True:
            if line.endswith("\\"):
                lines.append(line[:-1])
                line = self._line(CONTINUE)
                continue
            lines.append(line)
            if not self._waiting():
                return "\n".join(lines)
            line = self._line(CONTINUE)  # the rest of a paste

    def _block(self, rest: str) -> str:
        """A \"\"\" block: its lines up to the one ending with \"\"\" (blank lines around it dropped)."""
        if rest.rstrip().endswith(BLOCK):  # """one line""", or a pasted block
            return rest.rstrip()[:-len(BLOCK)].strip("\n")
        lines = [rest] if rest.strip() else []
        while True:
            line = self._line(CONTINUE)
            if line.rstrip().endswith(BLOCK):
                lines.append(line.rstrip()[:-len(BLOCK)])
                return "\n".join(lines).strip("\n")
            lines.append(line)

    def _line(self, prompt: str) -> str:
        self.prompt = prompt
        if self.readline is not None:
            try:
                return input(prompt)
            finally:
                self.at_prompt = False
                self._keep_history()
        self.at_prompt = True
        try:
            _err(prompt)
            if self.on_prompt is not None:
                self.on_prompt()
            line = sys.stdin.readline()
        finally:
            self.at_prompt = False
        if not line:
            _err("\n")
            raise EOFError
        return line.rstrip("\n").removesuffix("\r")

    def _waiting(self) -> bool:
        """Whether more is typed already: the next line of a paste."""
        import select

        try:
            return bool(select.select([sys.stdin.fileno()], [], [], 0)[0])
        except (OSError, ValueError):
            return False

    def _keep_history(self):
        """Append the lines entered since the last call to the history file (mode 600)."""
        rl = self.readline
        added = rl.get_current_history_length() - self.saved
        if added <= 0:
            return
        try:
            os.makedirs(os.path.dirname(self.history_path), mode=0o700, exist_ok=True)
            fd = os.open(self.history_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.fchmod(fd, 0o600)  # a file made by another program may have been readable by all
            finally:
                os.close(fd)
            rl.append_history_file(added, self.history_path)
        except OSError:  # a read-only data directory: the session goes on, its lines not kept
            pass
        self.saved = rl.get_current_history_length()

    def cancelled(self):
        """Ctrl-C at the prompt: the line is dropped, the next prompt starts on a line of its own."""
        (sys.stdout if self.readline is not None else sys.stderr).write("\n")

    def interject(self, write) -> bool:
        """While a line is being read: clear it, call ``write()`` (it writes whole lines),
        then show the prompt and what was typed so far again. False when no line is being
        read (nothing is called)."""
        if not self.at_prompt:
            return False
        stream = sys.stdout if self.readline is not None else sys.stderr
        stream.write("\r\x1b[K" if self.readline is not None else "\n")
        stream.flush()
        write()
        if self.readline is None:
            _err(self.prompt)  # what was typed stays in the terminal's own line, unseen until Enter
        elif not _redisplay(self.readline):
            sys.stdout.write(self.prompt + self.readline.get_line_buffer())
            sys.stdout.flush()
        return True


def _redisplay(readline) -> bool:
    """Have readline draw its prompt and line afresh on the cursor's new line (readline's
    rl_on_new_line, which the module does not offer, through ctypes); False if it cannot."""
    try:
        import ctypes

        ctypes.CDLL(readline.__file__).rl_on_new_line()
    except (OSError, AttributeError, ImportError):
        return False
    readline.redisplay()
    return True


class Completer:
    """readline's completer: the / commands as the line's first word, then each command's
    arguments (``arguments[command](text)`` lists them)."""

    def __init__(self, commands, arguments):
        self.commands = list(commands)
        self.arguments = arguments
        self.matches = []

    def __call__(self, text: str, state: int):
        if state == 0:
            self.matches = self._matches(text)
        return self.matches[state] if state < len(self.matches) else None

    def _matches(self, text: str) -> list:
        import readline

        head = readline.get_line_buffer()[:readline.get_begidx()]
        if not head.strip():
            return [c + " " for c in self.commands if c.startswith(text)] if text.startswith("/") else []
        words = head.split()
        complete = self.arguments.get(words[0]) if len(words) == 1 else None
        try:
            return complete(text) if complete else []
        except Exception:  # completing must never fail loudly
            return []


def complete_path(text: str) -> list:
    """Paths that start with ``text`` (a directory ends in /)."""
    import glob

    found = glob.glob(os.path.expanduser(text) + "*")
    return sorted(p + "/" if os.path.isdir(p) else p + " " for p in found)


def iter_script(stream):
    """``(line number, prompt)`` for each line of ``stream`` (binary) that is not blank, as
    it arrives; the prompt is None for a line that is not UTF-8 (a byte-order mark at the
    start is dropped)."""
    for number, raw in enumerate(iter(stream.readline, b""), 1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            yield number, None
            continue
        line = line.removeprefix("\ufeff") if number == 1 else line
        line = line.rstrip("\n").removesuffix("\r")
        if line.strip():
            yield number, line
