"""The commands, one module per family; each builds its objects and calls down.

:func:`make_writer` is the one place a command's output options become an
:class:`~pplx_cli.output.AnswerWriter` on the process's stdout and stderr.
"""

import sys


def make_writer(p: dict, settings=None):
    """The answer writer for a command's output options, on stdout and stderr."""
    from pplx_cli.output import AnswerWriter

    return AnswerWriter(
        sys.stdout.buffer, sys.stderr.buffer, reasoning=p["reasoning"], sources=p["sources"],
        meta=not p["no_meta"], meta_path=p["meta_path"], citations=p.get("citations", "keep"),
        meta_style=meta_style(p, settings),
    )


def meta_style(p: dict, settings=None) -> str:
    """``json`` or ``summary``: --meta-style, else config ``meta_style``, else auto (a summary
    when stderr is a terminal and no --meta FILE is given)."""
    style = p.get("meta_style") or (settings.get("meta_style") if settings is not None else None) or _config_meta_style()
    if style == "auto":
        return "summary" if p.get("meta_path") is None and _isatty(sys.stderr) else "json"
    return style


def _config_meta_style():
    import os

    from pplx_cli.config import Settings

    return Settings({}, env=os.environ).get("meta_style")


def _isatty(stream) -> bool:
    try:
        return bool(stream) and stream.isatty()
    except (OSError, ValueError):
        return False
