"""``pplx help [COMMAND]``: a command's manual page, as git and gh open theirs."""

import os
import shutil
import subprocess
import sys

import click

from pplx_cli.commands.options import CONTEXT

#: The page each command is documented in (the families of man/).
PAGES = {"ask": "pplx-ask", "stream": "pplx-ask", "raw": "pplx-ask", "parse": "pplx-ask", "chat": "pplx-chat", "search": "pplx-search",
         "fetch": "pplx-fetch", "content": "pplx-content", "auth": "pplx-auth", "embed": "pplx-embed",
         "batch": "pplx-batch", "jobs": "pplx-jobs", "verify": "pplx-verify", "log": "pplx-log", "config": "pplx-config", "models": "pplx",
         "completion": "pplx", "help": "pplx"}


def _page_file(page: str):
    """The page's file in a source checkout (an editable install installs no pages), or None."""
    import pplx_cli

    section = "5" if page == "pplx-config" else "1"
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(pplx_cli.__file__))), "man", f"{page}.{section}")
    return path if os.path.isfile(path) else None


@click.command(context_settings=CONTEXT)
@click.argument("command", required=False, metavar="[COMMAND]")
@click.pass_context
def help(ctx, command):  # noqa: A001  (the command is called help)
    """Show a command's manual page, or pplx(1) without COMMAND.

    ask, stream, raw and parse share pplx-ask(1); chat, search, fetch, content (with 'search web',
    Perplexity's CLI's verbs), auth, embed, batch, jobs, log and verify have pages of their own; 'config' shows pplx-config(5), the config file. Where man is missing or the page is not
    installed, the command's --help is printed instead.

    \b
    Examples:
      pplx help ask
      pplx help config
    """
    from pplx_cli.errors import UsageError

    name = command or ""
    if name and name not in PAGES:
        from pplx_cli.store.config import did_you_mean

        raise UsageError(f"no command {name!r}{did_you_mean(name, PAGES)}")
    page = PAGES.get(name, "pplx")
    man = shutil.which("man")
    if man:
        section = "5" if page == "pplx-config" else "1"
        installed = subprocess.run([man, "-w", section, page], capture_output=True).returncode == 0
        source = None if installed else _page_file(page)
        if installed or source:
            sys.stdout.flush()
            code = subprocess.run([man, section, page] if installed else [man, "-l", source]).returncode
            ctx.exit(code)
    _fallback_help(ctx, name)


def _fallback_help(ctx, name):
    """The command's --help (the group's without one): what there is where man is not."""
    root = ctx.find_root().command
    target = root.get_command(ctx, name) if name and name not in ("config", "help") else root
    with click.Context(target, info_name=f"pplx {name}".strip() if target is not root else "pplx", parent=None) as sub:
        click.echo(target.get_help(sub))
