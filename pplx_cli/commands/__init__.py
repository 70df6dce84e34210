"""The commands, one module per family; each builds its objects and calls down.

:func:`make_writer` is the one place a command's output options become an
:class:`~pplx_cli.output.AnswerWriter` on the process's stdout and stderr.
"""

import sys


def make_writer(p: dict, settings=None):
    """The answer writer for a command's output options, on stdout and stderr."""
    import os

    from pplx_cli.output import AnswerWriter
    from pplx_cli.terminal import wants_color, wants_render, width

    settings = settings or _settings()
    out_terminal, err_terminal = _isatty(sys.stdout), _isatty(sys.stderr)
    render = p.get("render")
    if render is None:
        render = settings.get("render")
    color = wants_color(sys.stdout, os.environ)
    if render is None:
        render = wants_render(sys.stdout, os.environ)
    elif render:  # asked for, e.g. into less -R: colour unless NO_COLOR or TERM=dumb say no
        color = not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
    status = None
    if err_terminal and p.get("status", True) and not p.get("quiet") and not p.get("verbose") and p["reasoning"] != "stderr":
        from pplx_cli.terminal import StatusLine

        status = StatusLine(sys.stderr.buffer, width=width(sys.stderr, os.environ))
    return AnswerWriter(
        sys.stdout.buffer, sys.stderr.buffer, reasoning=p["reasoning"], sources=p["sources"], status=status,
        meta=not p["no_meta"], meta_path=p["meta_path"], citations=p.get("citations", "keep"),
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

    from pplx_cli.config import Settings
    from pplx_cli.messages import warn

    return Settings({}, env=os.environ, warn=warn)


def _isatty(stream) -> bool:
    try:
        return bool(stream) and stream.isatty()
    except (OSError, ValueError):
        return False
