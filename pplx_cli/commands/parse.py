"""``pplx parse``: render a captured event stream offline."""

import sys

import click

from pplx_cli.commands import make_writer
from pplx_cli.errors import StreamError, UsageError
from pplx_cli.options import CONTEXT, output_options


@click.command(context_settings=CONTEXT, short_help="Render a captured event stream offline.")
@click.argument("file", required=False, metavar="[FILE]", type=click.Path(dir_okay=False, allow_dash=True))
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

    writer = make_writer(dict(p, status=False))
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
    seen = [0]

    def counted(chunks):
        for chunk in chunks:
            seen[0] += len(chunk)
            yield chunk

    try:
        read = getattr(source, "read1", source.read)
        chunks = iter(lambda: read(65536), b"")
        try:
            writer.render(PieceStream(iter_sse(counted(chunks))))
        except StreamError as e:
            if seen[0] and e.message.startswith("the response is empty"):
                raise StreamError("the input is not an event stream: no events in it") from None
            raise
    finally:
        if close:
            source.close()
