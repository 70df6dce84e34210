"""The / commands of ``pplx chat`` at a terminal, and the keyboard that completes them.

A line that starts with / is a command (// sends the line as a prompt, one / removed).
What a command shows on request (/help, /sources) goes to stdout; what pplx says about the
session (/model, /cost, notes, errors) goes to stderr, one ``pplx:`` line each. A command
that cannot be done is one ``pplx: error:`` line, and the session goes on.
"""

import os

from pplx_cli.errors import AuthError, PplxError, UsageError, WriteError
from pplx_cli.output.messages import note, say
from pplx_cli.output.stdio import out_lines

#: What /exit returns: the session ends.
END = True


def _no_argument(name, arg):
    if arg:
        raise UsageError(f"{name} takes no argument")


def _help(chat, arg):
    _no_argument("/help", arg)
    width = max(len(f"{name} {args}") for name, (_, args, _) in COMMANDS.items())
    out_lines([f"{(name + ' ' + args).strip():<{width}}  {text}" for name, (_, args, text) in COMMANDS.items()]
              + ["A line ending in \\ goes on on the next; \"\"\" opens and closes a block of lines; "
                 "// sends a line that starts with /.",
                 "Ctrl-C stops an answer or clears the line; Ctrl-D ends the session."])


def _model(chat, arg):
    if arg:
        chat.session.set_model(arg)
    say(f"pplx: answering with {chat.session.label()}")


def _effort(chat, arg):
    if not arg:
        raise UsageError("/effort takes a level: fast, low, medium, high or xhigh")
    chat.session.set_effort(arg)
    say(f"pplx: answering with {chat.session.label()}")


def _search(chat, arg):
    if arg not in ("on", "off", ""):
        raise UsageError("/search takes on or off")
    if arg:
        chat.session.set_search(arg == "on")
    say(f"pplx: web search is {'off' if chat.session.request.no_search else 'on'}")


def _sources(chat, arg):
    from pplx_cli.dialects.citations import source_lines

    _no_argument("/sources", arg)
    writer = chat.session.last_writer
    lines = source_lines(writer.meta) if writer is not None else []
    if not lines:
        raise PplxError("the last answer has no sources" if writer is not None else "there is no answer yet")
    out_lines(lines)


def _attach(chat, arg):
    if not arg:
        raise UsageError("/attach takes a PATH or URL")
    attachment = chat.session.attach(os.path.expanduser(arg))
    note(f"{attachment.name} goes with the next prompt")


def _retry(chat, arg):
    _no_argument("/retry", arg)
    chat.turn("", retry=True)


def _new(chat, arg):
    _no_argument("/new", arg)
    say(chat.cost_line())
    chat.session.new()
    say(f"pplx: new conversation {chat.session.cid}")


def _save(chat, arg):
    from pplx_cli.errors import redact
    from pplx_cli.output.recorded import conversation_markdown

    if not arg:
        raise UsageError("/save takes a FILE to write the conversation to")
    path = os.path.expanduser(arg)
    records = chat.session.records()
    try:
        with open(path, "w", encoding="utf-8", errors="replace") as f:
            f.write(redact(conversation_markdown(chat.session.cid, records)))
    except OSError as e:
        raise PplxError(f"cannot write {arg}: {e.strerror or e}") from None
    note(f"saved the conversation ({len(records)} exchange{'s' if len(records) != 1 else ''}) to {arg}")


def _cost(chat, arg):
    _no_argument("/cost", arg)
    say(chat.cost_line())


def _background(chat, arg):
    if arg:  # /background PROMPT: sent now
        chat.background_next = True
        chat.turn(arg)
        return
    chat.background_next = True
    note("the next prompt runs in the background; its answer comes when it ends")


def _exit(chat, arg):
    _no_argument("/exit", arg)
    return END


#: name -> (what it does, its arguments, its line in /help), in the order /help lists them.
COMMANDS = {
    "/help": (_help, "", "these lines"),
    "/model": (_model, "[ID]", "the model that answers; with ID, answer with it from now on"),
    "/effort": (_effort, "LEVEL", "answer with this effort from now on (fast, low, medium, high, xhigh)"),
    "/search": (_search, "[on|off]", "search the web for the answers, or not"),
    "/sources": (_sources, "", "the last answer's sources"),
    "/attach": (_attach, "PATH|URL", "send a file or image with the next prompt"),
    "/retry": (_retry, "", "ask the last prompt again, in place of its answer"),
    "/new": (_new, "", "begin a new conversation"),
    "/save": (_save, "FILE", "write the conversation to FILE as Markdown, as 'pplx log export' does"),
    "/cost": (_cost, "", "what the conversation has cost so far"),
    "/background": (_background, "[PROMPT]", "send the next prompt as a background run and go on; its answer comes when it ends"),
    "/exit": (_exit, "", "end the session (as Ctrl-D does)"),
}
ALIASES = {"/quit": "/exit", "/?": "/help"}


def run_line(chat, text: str) -> bool:
    """A line typed at the prompt: a / command, or a prompt. True when the session ends."""
    if not text.startswith("/") or text.startswith("//"):
        chat.turn(text[1:] if text.startswith("//") else text)
        return False
    name, _, arg = text.strip().partition(" ")
    name = ALIASES.get(name, name)
    if name not in COMMANDS:
        import difflib

        close = difflib.get_close_matches(name, list(COMMANDS), n=1, cutoff=0.7)
        say(f"pplx: error: no command {name}" + (f" (did you mean {close[0]}?)" if close else "")
            + "; /help lists the commands")
        return False
    try:
        return COMMANDS[name][0](chat, arg.strip()) is END
    except (AuthError, WriteError):  # a refused key, stdout gone: the session ends
        raise
    except PplxError as e:
        say(f"pplx: error: {e.message}")
    except (BrokenPipeError, KeyboardInterrupt):
        raise
    except Exception as e:  # a defect: one line, the session goes on
        say(f"pplx: error: {type(e).__name__}: {e}")
    return False


def keyboard(session):
    """The terminal's keyboard for a session, its input history in the data directory and
    completion of the commands, model ids, efforts, on/off and paths."""
    from pplx_cli.commands.chat_input import Completer, Keyboard, complete_path
    from pplx_cli.commands.options import complete_effort, complete_model
    from pplx_cli.store.paths import chat_history_path

    arguments = {
        "/model": lambda text: [m + " " for m in complete_model(None, None, text)],
        "/effort": lambda text: [e + " " for e in complete_effort(None, None, text)],
        "/search": lambda text: [w + " " for w in ("on", "off") if w.startswith(text)],
        "/attach": complete_path,
        "/save": complete_path,
    }
    return Keyboard(chat_history_path(session.settings.env), Completer(list(COMMANDS) + list(ALIASES), arguments))
