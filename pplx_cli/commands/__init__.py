"""The commands, one module per family; each builds its objects and calls down.

:func:`make_writer` is the one place a command's output options become an
:class:`~pplx_cli.output.AnswerWriter` on the process's stdout and stderr.
"""

import sys


def make_writer(p: dict):
    """The answer writer for a command's output options, on stdout and stderr."""
    from pplx_cli.output import AnswerWriter

    return AnswerWriter(
        sys.stdout.buffer, sys.stderr.buffer, reasoning=p["reasoning"], sources=p["sources"],
        meta=not p["no_meta"], meta_path=p["meta_path"], citations=p.get("citations", "keep"),
    )
