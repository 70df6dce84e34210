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
from pplx_cli.commands.answer import ask, raw, stream
from pplx_cli.commands.log import log
from pplx_cli.commands.models import models
from pplx_cli.commands.parse import parse
from pplx_cli.errors import ExitCode, PplxError, Terminated, redact
from pplx_cli.options import CONTEXT


def _on_sigterm(signum, frame):
    raise Terminated()


def _quiet_stdout():
    """After stdout's reader went away: point stdout at /dev/null so exit flushes quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except Exception:  # no real file descriptor (e.g. under a test runner): nothing to quiet
        pass


class PplxGroup(click.Group):
    """Maps pplx's errors, Ctrl-C, SIGTERM and closed pipes to exit codes; never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except PplxError as e:
            click.echo(f"pplx: error: {redact(e.message)}", err=True)
            ctx.exit(int(e.exit_code))
        except BrokenPipeError:
            _quiet_stdout()
            ctx.exit(int(ExitCode.PIPE_CLOSED))
        except (KeyboardInterrupt, click.Abort):
            ctx.exit(int(ExitCode.INTERRUPTED))
        except Terminated:
            ctx.exit(int(ExitCode.TERMINATED))


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


for command in (ask, stream, raw, parse, log, models):
    cli.add_command(command)


def main(argv=None):
    """The console script: run the CLI and exit with its status."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        code = cli.main(args=argv, prog_name="pplx", standalone_mode=False)
    except click.exceptions.Exit as e:
        code = e.exit_code
    except click.ClickException as e:
        e.show()
        code = ExitCode.USAGE
    except click.Abort:
        code = ExitCode.INTERRUPTED
    except BrokenPipeError:
        _quiet_stdout()
        code = ExitCode.PIPE_CLOSED
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        _quiet_stdout()
        code = code or ExitCode.PIPE_CLOSED
    sys.exit(int(code or 0))
