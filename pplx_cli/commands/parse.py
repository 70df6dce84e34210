"""``pplx parse``: render a captured event stream offline."""

import itertools
import sys

import click

from pplx_cli.commands import make_writer
from pplx_cli.errors import StreamError, UsageError
from pplx_cli.commands.options import CONTEXT, output_options


@click.command(context_settings=CONTEXT, short_help="Render a captured event stream offline.")
@click.argument("file", required=False, metavar="[FILE]", type=click.Path(dir_okay=False, allow_dash=True))
@output_options
def parse(file, **p):
    """Render a captured event stream offline, exactly as 'pplx stream' would.

    FILE is what 'pplx raw' printed (or a response body, what 'pplx ask --raw' printed,
    rendered as 'pplx ask' would); '-' or no FILE reads stdin. Either API is recognised from
    what it sent. Needs no key and no network.

    \b
    Examples:
      pplx parse examples/quantum.sse
      pplx raw "hello" | pplx parse --sources
    """
    from pplx_cli.dialects.stream import PieceStream
    from pplx_cli.wire.sse import iter_sse

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
        first = next(chunks, b"")
        if first.lstrip()[:1] in (b"{", b"["):  # a response body, as 'pplx ask --raw' prints it
            return _body(first + b"".join(chunks), writer)
        try:
            writer.render(PieceStream(iter_sse(counted(itertools.chain([first], chunks)))))
        except StreamError as e:
            if seen[0] and e.message.startswith("the response is empty"):
                raise StreamError("the input is not an event stream or a response body") from None
            raise
    finally:
        if close:
            source.close()


def _body(data: bytes, writer):
    """A non-streamed response body of either API, rendered as 'pplx ask' would."""
    from pplx_cli import jsonsafe
    from pplx_cli.wire.bodies import MAX_BODY_BYTES
    from pplx_cli.dialects.stream import body_pieces

    if len(data) > MAX_BODY_BYTES:
        raise StreamError(f"the body is larger than {MAX_BODY_BYTES // (1 << 20)} MiB")
    try:
        obj = jsonsafe.loads(data)
    except ValueError:
        raise StreamError("the input is not an event stream or a response body (not JSON)") from None
    if not isinstance(obj, dict):
        raise StreamError("the input is not an event stream or a response body (not a JSON object)")
    api = "agent" if obj.get("object") == "response" or "output" in obj else "chat"
    writer.render(body_pieces(obj, api))
