"""The command group and ``main()``: registers the commands and maps errors to exit codes.

stdout carries only the answer; diagnostics and metadata go to stderr (or ``--meta FILE``).
requests and the parser are imported only when a command needs them, so ``--help`` and
``--version`` start fast.
"""

import os
import signal
import sys

import click

from pplx_cli import __version__
from pplx_cli.errors import ExitCode, Hangup, PplxError, Terminated
from pplx_cli.commands.options import CONTEXT


def _on_sigterm(signum, frame):
    raise Terminated()


def _on_sighup(signum, frame):
    raise Hangup()


def _quiet_stdout():
    """After stdout's reader went away: point stdout at /dev/null so exit flushes quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except Exception:  # no real file descriptor (e.g. under a test runner): nothing to quiet
        pass


def _report(e: PplxError) -> int:
    """Say an error in one line (if stderr still works) and give its exit status; a usage
    error found by pplx's own checks ends with the same hint line as click's."""
    from pplx_cli.errors import UsageError, WriteError
    from pplx_cli.output.messages import say

    if isinstance(e, WriteError):
        _quiet_stdout()  # what is still buffered for stdout must not fail again at exit
    if e.message:  # an empty message: the output has said it (pplx batch's failed records)
        say(f"pplx: error: {e.message}")
        if isinstance(e, UsageError) and e.hint and getattr(e, "command_path", None):
            say(f"Try '{e.command_path} --help' for help.")
    return int(e.exit_code)


def _tag_usage_errors(command):
    """Let a usage error raised while ``command`` (or one of its subcommands) runs know the
    command's path, for its hint line (``Try 'pplx log show --help'``)."""
    from pplx_cli.errors import UsageError

    if getattr(command, "_pplx_tagged", False):
        return command
    invoke = command.invoke

    def tagged(ctx):
        try:
            return invoke(ctx)
        except UsageError as e:
            if getattr(e, "command_path", None) is None:
                e.command_path = ctx.command_path
            raise

    command.invoke = tagged
    command._pplx_tagged = True
    for sub in getattr(command, "commands", {}).values():
        _tag_usage_errors(sub)
    return command


def _one_line(message: str) -> str:
    """A message of click's own (not from the network) on one line: its line breaks and tabs
    become spaces ('Choose from: bash, zsh, fish')."""
    return " ".join(message.split())


def _as_error(e: OSError) -> PplxError:
    """An OSError that reached the top: a write to stdout that failed (every other file
    pplx reads or writes reports its own errors)."""
    from pplx_cli.output.streams import write_error

    return write_error(e)


#: The commands, in the order --help lists them: (module, name, short help). A command's
#: module is imported only when that command runs (or completes), so 'pplx ask' does not pay
#: for building every other command's options; --help lists them from here
#: (tests/test_cli.py checks that each short help is the command's own).
COMMANDS = {
    "ask": ("pplx_cli.commands.answer", "Ask and print the complete answer."),
    "stream": ("pplx_cli.commands.answer", "Stream the answer as it is generated."),
    "raw": ("pplx_cli.commands.answer", "Dump the server-sent event stream byte for byte."),
    "chat": ("pplx_cli.commands.chat", "Talk with a model: one conversation, prompt after prompt."),
    "parse": ("pplx_cli.commands.parse", "Render a captured event stream offline."),
    "search": ("pplx_cli.commands.search", "Search the web (the Search API): ranked results, no answer."),
    "fetch": ("pplx_cli.commands.fetch", "Fetch pages' content (the Context API), as Markdown by default."),
    "content": ("pplx_cli.commands.official", "Page snippets or one page, as Perplexity's CLI gives them (JSON)."),
    "embed": ("pplx_cli.commands.embed", "Embed texts as JSON Lines of numbers (the Embeddings API)."),
    "batch": ("pplx_cli.commands.batch", "Ask many questions: one per line of FILE (or stdin), in parallel."),
    "verify": ("pplx_cli.commands.verify", "Check what an answer's citations actually say."),
    "jobs": ("pplx_cli.commands.jobs", "List the background runs this machine started, newest first."),
    "log": ("pplx_cli.commands.log", "List recent exchanges from the history, newest first."),
    "completion": ("pplx_cli.commands.completion", "Print the completion script for SHELL (bash, zsh or fish)."),
    "models": ("pplx_cli.commands.models", "List the Agent API's models (GET /v1/models) with their prices."),
    "auth": ("pplx_cli.commands.auth", "Store, check or remove the API key (Perplexity CLI's auth)."),
    "help": ("pplx_cli.commands.help", "Show a command's manual page, or pplx(1) without COMMAND."),
}


class PplxGroup(click.Group):
    """Maps pplx's errors, Ctrl-C, SIGTERM and closed pipes to exit codes; never a traceback.
    Loads each command from its module when it is asked for (see COMMANDS)."""

    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        import importlib

        return _tag_usage_errors(getattr(importlib.import_module(COMMANDS[name][0]), name))

    def resolve_command(self, ctx, args):
        """An unknown command is one usage line that suggests what was meant: a close command
        name, or 'pplx ask' for a question typed as the command (llm's habit)."""
        name = args[0] if args else ""
        if name == "search" and args[1:2] == ["web"]:  # Perplexity's CLI's form, always (pplx search -- web: ours)
            from pplx_cli.commands.official import web

            return "search web", web, args[2:]
        if name and name not in COMMANDS and not name.startswith("-"):
            import difflib

            close = difflib.get_close_matches(name, list(COMMANDS), n=1, cutoff=0.6)  # aks, lgo, serch
            # a question is a question even when its first word is near a command ('what' and chat)
            question = " " in name.strip() or args[-1].endswith("?")
            if close and not question:
                ctx.fail(f"no such command {name!r}; did you mean 'pplx {close[0]}'?")
            if question or len(args) > 1:
                words = " ".join(args)
                ctx.fail(f"no such command {name!r}; to ask a question: pplx ask \"{words}\"")
            ctx.fail(f"no such command {name!r}")
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx, formatter):
        with formatter.section("Commands"):
            formatter.write_dl([(name, short) for name, (_, short) in COMMANDS.items()])

    def invoke(self, ctx):
        try:
            from pplx_cli.store.config import register_known_keys

            register_known_keys(os.environ)  # no command prints a key, even one that never asks for it
            return super().invoke(ctx)
        except PplxError as e:
            ctx.exit(_report(e))
        except BrokenPipeError:
            _quiet_stdout()
            ctx.exit(int(ExitCode.PIPE_CLOSED))
        except (KeyboardInterrupt, click.Abort):
            ctx.exit(int(ExitCode.INTERRUPTED))
        except Terminated as e:
            ctx.exit(int(e.exit_code))
        except OSError as e:
            ctx.exit(_report(_as_error(e)))


@click.group(cls=PplxGroup, context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="pplx", message="%(prog)s %(version)s (pplx-cli)")
def cli():
    """Perplexity's answers in a terminal or a script, through the Agent API.

    The answer goes to stdout; metadata (sources, usage, cost) goes to stderr as one JSON
    object. Set your key with PPLX_API_KEY (or PERPLEXITY_API_KEY).

    \b
    Examples:
      pplx ask "What is a qubit?"
      pplx stream "Explain SSE in two sentences" --sources
      pplx ask --effort medium "Compare the EU and US AI rules"
      git diff | pplx ask "review this" 2>/dev/null
      pplx raw "hello" > hello.sse && pplx parse hello.sse
    """


#: Raised by click 8.2 and later for 'pplx' alone (earlier ones print the help themselves).
_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", None) or type("_NeverRaised", (Exception,), {})


def main(argv=None):
    """The console script: run the CLI and exit with its status."""
    from pplx_cli.output.streams import guard_standard_streams

    guard_standard_streams()
    signal.signal(signal.SIGTERM, _on_sigterm)
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:  # under nohup, a hangup stays ignored
        signal.signal(signal.SIGHUP, _on_sighup)
    try:
        # the name it was called by: pplx-cli's completion variable is _PPLX_CLI_COMPLETE
        name = "pplx-cli" if os.path.basename(sys.argv[0] or "") == "pplx-cli" else "pplx"
        code = cli.main(args=argv, prog_name=name, standalone_mode=False)
    except click.exceptions.Exit as e:
        code = e.exit_code
    except _NO_ARGS_IS_HELP as e:  # 'pplx' alone: the help, as --help prints it
        try:
            click.echo(e.ctx.get_help())
            code = ExitCode.OK
        except OSError as err:
            code = _report(_as_error(err))
    except click.UsageError as e:  # one line like every other error, and where to look
        from pplx_cli.output.messages import say

        say(f"pplx: error: {_one_line(e.format_message())}")
        if e.ctx is not None:
            say(f"Try '{e.ctx.command_path} --help' for help.")
        code = ExitCode.USAGE
    except click.ClickException as e:
        try:
            e.show()
        except OSError:
            pass  # stderr cannot be written: the status still tells
        code = ExitCode.USAGE
    except click.Abort:
        code = ExitCode.INTERRUPTED
    except BrokenPipeError:
        _quiet_stdout()
        code = ExitCode.PIPE_CLOSED
    except PplxError as e:
        code = _report(e)
    except Terminated as e:
        code = e.exit_code
    except OSError as e:  # writing --help, --version or a usage message to stdout
        code = _report(_as_error(e))
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        _quiet_stdout()
        code = code or ExitCode.PIPE_CLOSED
    except OSError as e:
        code = code or _report(_as_error(e))
    _leave(int(code or 0))


def _leave(code: int):
    """Exit with ``code``. Everything is written by now (stdout flushed above, each history
    record committed as it was made, stderr flushed here), so when no other thread has work
    left the process leaves at once: the interpreter's orderly tidy-up (freeing every module
    and object, about 20 ms) would only make the shell wait. A batch's worker still running
    (after Ctrl-C, say) gets the ordinary exit, which waits for it."""
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    threading = sys.modules.get("threading")
    if threading is None or all(t.daemon or t is threading.main_thread() for t in threading.enumerate()):
        os._exit(code)
    sys.exit(code)
