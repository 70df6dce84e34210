"""The commands, one module per family; each builds its objects and calls down.

:func:`make_writer` is the one place a command's output options become an
:class:`~pplx_cli.output.writer.AnswerWriter` on the process's stdout and stderr.
"""

import sys

from pplx_cli.output.tty import isatty as _isatty


def make_writer(p: dict, settings=None):
    """The answer writer for a command's output options, on stdout and stderr."""
    import os

    from pplx_cli.output.writer import AnswerWriter
    from pplx_cli.output.tty import wants_color, wants_render, width

    settings = settings or _settings()
    # the output defaults an option did not set come from the config file
    p = dict(p, reasoning=p.get("reasoning") or settings.get("reasoning") or "hide",
             citations=p.get("citations") or settings.get("citations") or "keep",
             sources=p.get("sources") if p.get("sources") is not None else bool(settings.get("sources")))
    out_terminal, err_terminal = _isatty(sys.stdout), _isatty(sys.stderr)
    render = p.get("render")
    if render is None:
        render = settings.get("render")
    color = wants_color(sys.stdout, os.environ)
    if render is None:
        render = wants_render(sys.stdout, os.environ)
    elif render:  # asked for, e.g. into less -R: colour unless NO_COLOR or TERM=dumb say no
        color = not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
    # reasoning streamed to stderr is the progress itself
    status = status_line(p) if p.get("status", True) and p["reasoning"] != "stderr" else None
    return AnswerWriter(
        sys.stdout.buffer, sys.stderr.buffer, reasoning=p["reasoning"], sources=p["sources"], status=status,
        meta=not p["no_meta"], meta_path=p["meta_path"], citations=p["citations"],
        meta_style=meta_style(p, settings),
        render=(width(sys.stdout, os.environ), color) if render else None,
        out_terminal=out_terminal, err_terminal=err_terminal,
    )


def meta_style(p: dict, settings) -> str:
    """``json`` or ``summary``: --meta-style, else config ``meta_style``, else auto (a summary
    when stderr is a terminal and no --meta FILE is given)."""
    style = p.get("meta_style") or settings.get("meta_style")
    if style == "auto":
        return "summary" if p.get("meta_path") is None and _isatty(sys.stderr) else "json"
    return style


def _settings():
    import os

    from pplx_cli.store.config import Settings
    from pplx_cli.output.messages import warn

    return Settings({}, env=os.environ, warn=warn)


def status_line(p: dict):
    """The progress line on stderr, or None: only on a terminal, never with -q or -v."""
    import os

    if p.get("quiet") or p.get("verbose") or not _isatty(sys.stderr):
        return None
    from pplx_cli.output.terminal import StatusLine
    from pplx_cli.output.tty import width

    return StatusLine(sys.stderr.buffer, width=width(sys.stderr, os.environ))


def make_client(p: dict, *, key_required: bool = True, silent: bool = False, key_first: str = None):
    """``(client, settings)`` for a command's connection options (--base-url, else the
    settings'); the key registered as a secret so no line pplx writes shows it. ``silent``:
    no warning, retry or diagnostic line on stderr (Perplexity's CLI's verbs, whose stderr is
    one JSON object or nothing); ``key_first``: an environment variable read before every
    other key source."""
    import os

    from pplx_cli.wire.client import Client
    from pplx_cli.commands.params import connection
    from pplx_cli.store.config import Settings, check_transport
    from pplx_cli.errors import register_secret
    from pplx_cli.output.messages import say, warn

    if silent:
        p, say, warn = dict(p, quiet=True, verbose=False), None, None
    conn = connection(p)
    settings = Settings({"base_url": conn.base_url, "timeout": conn.timeout, "retries": conn.retries,
                         "ca_bundle": conn.cacert}, env=os.environ, warn=warn, key_first=key_first)
    url = check_transport(settings.get("base_url"), conn.allow_http)
    key = settings.api_key(required=key_required)
    register_secret(key)
    ca_bundle, ca_source = settings.ca_bundle(url)
    client = Client(base_url=url, api_key=key, timeout=float(settings.get("timeout")), retries=int(settings.get("retries")),
                    verbose=conn.verbose, quiet=conn.quiet, say=say, ca_bundle=ca_bundle, ca_source=ca_source)
    if key:
        client.key_hint = settings.key_hint(key)
    if conn.dry_run:
        from pplx_cli.output.stdio import stdout

        client.dry_run = stdout()
    return client, settings


def platform_writer(p: dict, settings):
    """The writer of a platform command (search, fetch, embed): its text as given (control
    characters neutralised on a terminal), metadata as for ask, no rendering, no status line."""
    writer = make_writer(dict(p, reasoning="hide", sources=False, citations="keep", render=False, status=False), settings)
    writer.always = {}
    return writer


def platform_call(kind: str, p: dict, *, no_log=False):
    """``(Call, settings)``: the client and history of a platform command."""
    from pplx_cli.runs.platform import Call

    client, settings = make_client(p)
    return Call(kind, client, log=not no_log and settings.get("log")), settings


def write_stdout(text: str):
    """Text to stdout through the one output path (:mod:`pplx_cli.output.stdio`): redacted,
    neutralised on a terminal, flushed; a failed write is the one cannot-write error (exit 74)."""
    from pplx_cli.output.stdio import out

    out(text)
