"""``pplx parse``: render a captured event stream offline."""

import sys

import click

from pplx_cli.commands import make_writer
from pplx_cli.errors import UsageError
from pplx_cli.options import CONTEXT, output_options


@click.command(context_settings=CONTEXT, short_help="Render a captured event stream offline.")
@click.argument("file", required=False, metavar="[FILE]")
@output_options
def parse(file, **p):
    """Render a captured event stream offline, exactly as 'pplx stream' would.

    FILE is what 'pplx raw' printed; '-' or no FILE reads stdin. Either API's stream is
    recognised from its first event. Needs no key and no network.

    \b
    Examples:
      pplx parse examples/quantum.sse
      pplx raw "hello" | pplx parse --sources
    """
    from pplx_cli.pieces import PieceStream
    from pplx_cli.sse import iter_sse

    writer = make_writer(p)
    if file in (None, "-"):
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("no FILE given and stdin is a terminal (see pplx parse --help)")
        source = sys.stdin.buffer
        close = False
    else:
        try:
            source = open(file, "rb")
        except OSError as e:
            raise UsageError(f"cannot read {file}: {e.strerror}") from None
        close = True
    try:
        read = getattr(source, "read1", source.read)
        chunks = iter(lambda: read(65536), b"")
        writer.render(PieceStream(iter_sse(chunks)))
    finally:
        if close:
            source.close()
