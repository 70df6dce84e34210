"""The contract of the commands in Perplexity's own CLI's vocabulary (``pplx search web``,
``pplx content``, ``pplx auth``), which scripts and agent skills written for that CLI call:

- success: exit 0 and exactly one JSON object on stdout;
- failure, whatever went wrong (an unknown flag, a bad value, no key, a refused key, a 429
  after the retries, the network, a malformed answer, a defect): exit 1, nothing on stdout,
  and exactly one ``{"error": {"code", "message", "command", "hint"?}}`` on stderr. A signal
  keeps its status (130 for Ctrl-C, 143, 129), as it would end that CLI; a closed stdout is
  141 and says nothing.

:class:`ContractCommand` and :class:`ContractGroup` keep it for click's own errors too, which
otherwise are pplx's usage lines; nothing else is written on stderr (no warning, no retry
line). pplx's own commands keep pplx's contract.
"""

import click

from pplx_cli.errors import OfficialError, Silent

#: Where ``--stdout-preview`` without ``=CHARS`` cuts (that CLI's default is not documented).
PREVIEW_DEFAULT = 200
#: The key that CLI reads, before any other source (pplx's own order follows).
KEY_VARIABLE = "PERPLEXITY_API_KEY"
#: Raised by click 8.2 and later for a group called without a subcommand (its help follows).
_NO_ARGS = getattr(click.exceptions, "NoArgsIsHelpError", None) or type("_NeverRaised", (Exception,), {})
#: What passes through untouched: --help, an exit already decided, a closed stdout.
_THROUGH = (click.exceptions.Exit, _NO_ARGS, Silent, BrokenPipeError, SystemExit)


def command_name(ctx) -> str:
    """The command as that CLI names it in an error: ``search web``, ``content fetch``."""
    path = ctx.command_path if ctx is not None else ""
    return path.split(" ", 1)[1] if " " in path else path


def fail(ctx, exc: BaseException):
    """Say ``exc`` as one error object on stderr and end the run with its status."""
    from pplx_cli.dialects.official import as_official, dumps, error_object
    from pplx_cli.output.stdio import stderr

    if isinstance(exc, click.ClickException):
        error = _from_click(exc, ctx)
    else:
        error = as_official(exc)
    stderr().write(dumps(error_object(error, command_name(ctx))))
    raise Silent(error.exit_code)


def _from_click(exc: click.ClickException, ctx) -> OfficialError:
    """A parse error of click's: an unknown flag (that CLI's parser is strict), else a bad argument."""
    where = f"see '{ctx.command_path} --help'" if ctx is not None else None
    if isinstance(exc, click.NoSuchOption):
        return OfficialError("UNKNOWN_ARGUMENT", f"unknown option '{exc.option_name}'",
                             hint=f"{where}; the output is JSON already (there is no --json or --format)")
    if isinstance(exc, click.MissingParameter) and getattr(ctx.command, "missing_hint", None):
        where = ctx.command.missing_hint
    return OfficialError("ARGUMENT_ERROR", " ".join(exc.format_message().split()), hint=where)


def _equals_form(args: list) -> list:
    """``--stdout-preview`` takes its value only as ``--stdout-preview=CHARS`` (a bare one
    must not swallow the query after it): a bare one gets the default."""
    out = []
    for i, arg in enumerate(args):
        if arg == "--":
            return out + args[i:]
        out.append(f"--stdout-preview={PREVIEW_DEFAULT}" if arg == "--stdout-preview" else arg)
    return out


def _guarded(ctx, call, *args):
    """``call(*args)``; whatever it raises (but what passes through) becomes the one error object."""
    try:
        return call(*args)
    except _THROUGH:
        raise
    except BaseException as e:
        fail(ctx, e)


class ContractCommand(click.Command):
    """A command that keeps the contract (see the module docstring); ``missing_hint``: the
    hint when an argument is missing, instead of the pointer to --help."""

    def __init__(self, *args, missing_hint: str = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.missing_hint = missing_hint

    def parse_args(self, ctx, args):
        return _guarded(ctx, super().parse_args, ctx, _equals_form(list(args)))

    def invoke(self, ctx):
        return _guarded(ctx, super().invoke, ctx)


class ContractGroup(click.Group):
    """A group of such commands (``content``, ``auth``): an unknown subcommand or flag is an
    error object too; called alone it shows its help."""

    command_class = ContractCommand

    def parse_args(self, ctx, args):
        return _guarded(ctx, super().parse_args, ctx, args)

    def resolve_command(self, ctx, args):
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            fail(ctx, OfficialError("UNKNOWN_ARGUMENT", f"unknown command '{name}'",
                                    hint=f"the commands are: {', '.join(self.list_commands(ctx))}"))
        return super().resolve_command(ctx, args)

    def invoke(self, ctx):
        return _guarded(ctx, super().invoke, ctx)


def save_options(f):
    """``--output-dir`` (or PPLX_OUTPUT_DIR) and ``--stdout-preview[=CHARS]``."""
    f = click.option("--stdout-preview", "preview_chars", type=click.IntRange(min=1), metavar="[=CHARS]",
                     help=f"With a save directory: cut strings on stdout to CHARS characters, marked ...<truncated>. "
                          f"[default: {PREVIEW_DEFAULT}]")(f)
    return click.option("--output-dir", "save_dir", envvar="PPLX_OUTPUT_DIR", metavar="DIR",
                        type=click.Path(file_okay=False), show_envvar=True,
                        help="Also save the full JSON to a new file under DIR; stdout gains saved_to.")(f)


def official_call(kind: str):
    """The platform Call of a verb: the key read as that CLI reads it (PERPLEXITY_API_KEY
    first), nothing said on stderr; AUTHENTICATION when there is no key."""
    from pplx_cli.commands import make_client
    from pplx_cli.dialects.official import AUTH_HINT
    from pplx_cli.runs.platform import Call

    client, settings = make_client({}, key_required=False, silent=True, key_first=KEY_VARIABLE)
    if client.api_key is None:
        raise OfficialError("AUTHENTICATION", "no API key", hint=AUTH_HINT)
    client.key_hint = f"the key came from {settings.key_source()}"
    return Call(kind, client, log=settings.get("log"))
