"""``pplx completion``: the shell's completion script, to source or install."""

import os
import sys

import click

from pplx_cli.commands.options import CONTEXT


@click.command(context_settings=CONTEXT, no_args_is_help=True)
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell):
    """Print the completion script for SHELL (bash, zsh or fish).

    It completes commands, options, choices (tool choices, skills...), files, directories, model
    ids (from the last 'pplx models': completing never makes a network call), efforts and
    conversation ids from the history.

    \b
    Examples:
      source <(pplx completion bash)                      # now; in ~/.bashrc to keep it
      pplx completion zsh > "${fpath[1]}/_pplx"
      pplx completion fish > ~/.config/fish/completions/pplx.fish
    """
    from click.shell_completion import get_completion_class

    cli = click.get_current_context().find_root().command  # the group this command was invoked from
    name = "pplx-cli" if os.path.basename(sys.argv[0] or "") == "pplx-cli" else "pplx"
    var = f"_{name.replace('-', '_').upper()}_COMPLETE"
    script = get_completion_class(shell)(cli, {}, name, var).source()
    from pplx_cli.output.stdio import out

    out(script + "\n")
