"""``pplx chat``: a conversation at the keyboard, or a scripted one through a pipe.

The session's state is a :class:`~pplx_cli.runs.chat.ChatSession`; this module reads the
prompts (:mod:`~pplx_cli.commands.chat_input`), runs the / commands
(:mod:`~pplx_cli.commands.chat_slash`), writes each answer as ``pplx stream`` writes it, and
keeps the session alive through every error but a refused key.
"""

import signal
import sys

import click

from pplx_cli.commands import make_writer, meta_style
from pplx_cli.commands.options import CONTEXT, history_options, output_options, request_options, stream_mode_option
from pplx_cli.errors import AuthError, DryRun, PplxError, Silent, UsageError, WriteError
from pplx_cli.output.messages import note, say
from pplx_cli.output.tty import isatty as _isatty


class _Shield:
    """SIGINT as KeyboardInterrupt, except while a turn is recorded: a Ctrl-C then is only
    noted (``pending``), so that a turn that ended is recorded whole and stays as it ended;
    the session reads the note after the turn (a script stops; at the keyboard the answer
    it would have stopped is over)."""

    def __init__(self):
        self.held = 0
        self.pending = False

    def handler(self, signum, frame):
        if self.held:
            self.pending = True
            return
        raise KeyboardInterrupt

    def __enter__(self):
        self.held += 1

    def __exit__(self, *exc):
        self.held -= 1


class _Lead:
    """stdout with a blank line before its first byte: between two answers of a script."""

    def __init__(self, out):
        self.out = out
        self.lead = b"\n"

    def write(self, data: bytes):
        data, self.lead = self.lead + data, b""
        return self.out.write(data)

    def flush(self):
        self.out.flush()


def _short(prompt: str, width: int = 60) -> str:
    line = " ".join(prompt.split())
    return line if len(line) <= width else line[:width - 1] + "…"


class Chat:
    """One session: the prompts, the / commands and the answers (see the module docstring)."""

    def __init__(self, session, p: dict, *, scripted: bool, shield=None):
        self.session = session
        self.shield = shield or _Shield()
        self.p = p
        self.scripted = scripted
        self.status = 0  # a script's exit status: its first failed turn's
        self.wrote = False  # an answer is on stdout (a script separates the next by a blank line)
        self.background_next = False  # /background: the next prompt goes to the background
        self.ended = []  # background turns that ended, not yet announced
        self.announcing = False
        self.keyboard = None

    # ---- answers ----

    def writer(self, **extra):
        """An answer writer as 'pplx stream' makes it (in a script or a pipe, after a blank line)."""
        writer = make_writer(dict(self.p, **extra), self.session.settings)
        if self.wrote and (self.scripted or not _isatty(sys.stdout)):
            writer.out = _Lead(writer.out)
        return writer

    def turn(self, prompt: str, retry: bool = False):
        """One prompt answered (or /retry); its error is one line and the session goes on,
        but for a refused key, stdout that cannot be written, and Ctrl-C in a script."""
        if self.background_next and not retry:
            self.background_next = False
            return self.run(lambda: self.background(prompt))
        writer = self.writer()
        try:
            self.run(lambda: self.session.retry(writer) if retry else self.session.ask(prompt, writer), writer)
        finally:
            writer.stop_status()  # an answer that never began leaves no progress line behind
            self.wrote = self.wrote or writer.last != b""
        pressed, self.shield.pending = self.shield.pending, False
        if pressed and self.scripted:  # Ctrl-C while the turn was recorded: the script stops
            raise KeyboardInterrupt
        if pressed:  # the answer it would have stopped is over; the prompt starts after the ^C the terminal showed
            self.keyboard.cancelled()

    def run(self, work, writer=None):
        """``work()``, its errors said in one line each."""
        try:
            work()
        except KeyboardInterrupt:
            if self.scripted:
                raise  # no prompt to return to: the script stops
            if writer is not None and not writer.delivered and not self.session.conn.quiet:
                note("interrupted: what arrived is kept")
        except (AuthError, WriteError, BrokenPipeError):
            raise
        except DryRun:
            pass  # the request was printed instead of sent
        except PplxError as e:
            self.failed(e.exit_code, e.message)
        except Exception as e:  # a defect: one line, the session goes on
            self.failed(1, f"{type(e).__name__}: {e}")

    def failed(self, code, message: str):
        say(f"pplx: error: {message}")
        if self.scripted and not self.status:
            self.status = int(code)

    # ---- background turns ----

    def background(self, prompt: str):
        """Send ``prompt`` to the background; its answer is announced when it ends."""
        rid = self.session.send_background(prompt, self._ended)
        say(f"pplx: {rid} runs in the background; its answer comes when it ends")

    def _ended(self, ended):
        """In the watching thread: queue the announcement and wake the main thread, which
        makes it at once if it is waiting at the prompt, else before the next prompt."""
        import threading

        self.ended.append(ended)
        try:
            signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)
        except (OSError, ValueError, AttributeError):
            pass

    def _on_usr1(self, signum, frame):
        self.announce_now()

    def announce_now(self):
        """While the prompt waits: the background answers that ended, above it."""
        if self.ended and not self.announcing and self.keyboard is not None:
            self.keyboard.interject(self.announce)

    def announce(self):
        """Each background answer that has ended: a line naming it, then the answer as
        'pplx stream' would have printed it (or its error)."""
        from pplx_cli.output.recorded import replay

        self.announcing = True
        try:
            while self.ended:
                ended = self.ended.pop(0)
                self.session.count(ended)
                answer = ended.writer.answer()
                if answer or not ended.error:
                    say(f'pplx: the background answer to "{_short(ended.prompt)}" ({ended.run_id}):')
                    replay(self.writer(status=False), answer=answer, reasoning="".join(ended.writer.reasoning) or None,
                           meta=ended.writer.metadata(ended.error), exit_status=ended.status)
                if ended.error:
                    say(f'pplx: error: the background run {ended.run_id} ("{_short(ended.prompt)}"): {ended.error}')
        finally:
            self.announcing = False

    # ---- the session's lines ----

    def prompt(self) -> str:
        """The prompt: what answers, and what goes with the next prompt."""
        marks = (["background"] if self.background_next else []) + (
            [f"+{len(self.session.pending)} attached"] if self.session.pending else [])
        return self.session.label() + (f" [{', '.join(marks)}]" if marks else "") + "> "

    def cost_line(self) -> str:
        """The conversation's id and what it has cost in this session."""
        from pplx_cli.numbers import dollars, thousands

        totals = self.session.totals
        parts = [f"conversation {self.session.cid}",
                 f"{totals.exchanges} exchange{'s' if totals.exchanges != 1 else ''}"]
        if totals.tokens:
            parts.append(f"{thousands(totals.tokens)} tokens")
        parts.append(dollars(totals.cost) + (" (estimate)" if totals.estimated else ""))
        return "pplx: " + " · ".join(parts)

    def end(self):
        """The session's end: where its unfinished background runs are, and the conversation's line."""
        for rid in list(self.session.running):
            note(f"the run {rid} continues on Perplexity's side: 'pplx jobs wait {rid}' picks it up")
        if self.p.get("no_meta"):
            return
        if meta_style(self.p, self.session.settings) == "summary":
            say(self.cost_line())
            return
        from pplx_cli import jsonsafe

        totals = self.session.totals
        say(jsonsafe.dumps({"kind": "chat", "cid": self.session.cid, "exchanges": totals.exchanges, "tokens": totals.tokens,
                            "cost": round(totals.cost, 8), **({"estimated": True} if totals.estimated else {})}))


# ---- the two ways to run ----


def _interactive(chat: Chat):
    verb = "continuing" if chat.session.continued else "new"
    say(f"pplx: {verb} conversation {chat.session.cid} · /help lists the commands, Ctrl-D ends")
    while True:
        try:
            if _one_line(chat):
                return
        except KeyboardInterrupt:  # at the prompt, or in a command: the line is dropped, the session goes on
            chat.keyboard.cancelled()


def _one_line(chat: Chat) -> bool:
    """Read a line and do it; True when the session ends. Only Ctrl-C gets out."""
    from pplx_cli.commands.chat_slash import run_line

    try:
        chat.announce()
        text = chat.keyboard.read(chat.prompt())
    except EOFError:
        return True
    except UnicodeDecodeError:
        chat.failed(2, "the line typed is not valid UTF-8; not sent")
        return False
    return bool(text.strip()) and run_line(chat, text)


def _scripted(chat: Chat):
    from pplx_cli.commands.chat_input import iter_script

    for number, prompt in iter_script(sys.stdin.buffer):
        if prompt is None:
            chat.failed(2, f"line {number} of stdin is not valid UTF-8; not sent")
            continue
        chat.turn(prompt)


def _check(p: dict):
    """Refuse options that contradict each other or cannot work in a session."""
    if p.get("meta_path") and p.get("no_meta"):
        raise UsageError("--meta FILE and --no-meta contradict each other")
    if p.get("reattach") and not (p.get("continue_") or p.get("cid")):
        raise UsageError("--reattach sends a conversation's attachments again: it needs -c or --cid")
    if "-" in (p.get("attach") or ()):
        raise UsageError("'-a -' cannot read stdin: stdin is the conversation (attach a file, or /attach it)")


def _once(say):
    """``say``, each message at most once: every turn reads the settings again, and a note
    about an option not sent, or a config file's warning, would be the same line every turn."""
    said = set()

    def once(message):
        if message not in said:
            said.add(message)
            say(message)

    return once


def _session(p: dict):
    from pplx_cli.commands.params import connection, conversation, request
    from pplx_cli.output.messages import warn
    from pplx_cli.runs.chat import ChatSession

    attachments = []
    if p.get("attach"):
        from pplx_cli.runs.attachments import read_attachments

        attachments = read_attachments(p["attach"])
    conn = connection(p)
    dry_run_out = None
    if conn.dry_run:
        from pplx_cli.output.stdio import stdout

        dry_run_out = stdout()
    shield = _Shield()
    session = ChatSession(request(p), conn, conversation(p), attachments, warn=_once(warn), note=_once(note),
                          err=sys.stderr, dry_run_out=dry_run_out, shield=shield)
    return session, shield


@click.command(context_settings=CONTEXT)
@request_options
@stream_mode_option
@output_options
@history_options
def chat(**p):
    """Talk with a model: one conversation, prompt after prompt.

    On a terminal each prompt is answered as 'pplx stream' answers it and followed up in
    the same conversation, recorded turn by turn. A line ending in \\ goes on on the next;
    \"\"\" opens and closes a block of lines. /help lists the commands (/model, /effort,
    /search, /sources, /attach, /retry, /new, /save, /cost, /background, /exit). Ctrl-C
    stops an answer or clears the line; Ctrl-D ends the session with the conversation's
    id and cost. With stdin not a terminal, each line is one prompt of the conversation
    and the answers are printed in order, separated by a blank line.

    \b
    Examples:
      pplx chat
      pplx chat --effort low -s "Answer in one short paragraph."
      pplx chat -c
      printf 'What is a qubit?\\nAnd a qubit gate?\\n' | pplx chat --no-meta
    """
    _check(p)
    session, shield = _session(p)
    scripted = not (sys.stdin is not None and sys.stdin.isatty())
    chat_ = Chat(session, p, scripted=scripted, shield=shield)
    handlers = {signal.SIGINT: signal.signal(signal.SIGINT, shield.handler)}
    try:
        if scripted:
            _scripted(chat_)
        else:
            from pplx_cli.commands.chat_slash import keyboard

            chat_.keyboard = keyboard(session)
            chat_.keyboard.on_prompt = chat_.announce_now  # one that ended as the prompt was drawn
            handlers[signal.SIGUSR1] = signal.SIG_IGN  # never the default (which ends the process) once a watcher may wake it
            signal.signal(signal.SIGUSR1, chat_._on_usr1)
            _interactive(chat_)
    except AuthError as e:  # a refused key: nothing more can be asked
        say(f"pplx: error: {e.message}")
        chat_.status = int(e.exit_code)
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        chat_.end()
    if chat_.status:
        raise Silent(chat_.status)
