"""``pplx models``: the Agent API's models and their prices."""

import os

import click

from pplx_cli.errors import AuthError, StreamError
from pplx_cli.commands import make_client
from pplx_cli.commands.options import CONTEXT, connection_options, json_option

HEADER = ("MODEL", "OWNER", "INPUT/1M", "OUTPUT/1M", "CACHE_READ/1M")


#: The largest model list read: a real one is about 10 KB (52 models); a list of millions
#: would take gigabytes once parsed.
MAX_LIST_BYTES = 4 * 1024 * 1024


def _price(pricing, name) -> str:
    from pplx_cli.numbers import nonnegative, plain

    return plain(nonnegative(pricing.get(name) if isinstance(pricing, dict) else None))


def model_rows(models) -> list:
    """The table's lines: a header, then one line per model (id, owner, USD per 1M tokens)."""
    rows = [HEADER] + [(str(m.get("id")), m["owned_by"] if isinstance(m.get("owned_by"), str) and m["owned_by"] else "-",
                        _price(m.get("pricing"), "input"),
                        _price(m.get("pricing"), "output"), _price(m.get("pricing"), "cache_read")) for m in models]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    return ["  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))).rstrip()
            for row in rows]


@click.command(context_settings=CONTEXT)
@connection_options
@json_option
def models(as_json, **p):
    """List the Agent API's models (GET /v1/models) with their prices.

    One line per model: its id (for -m and --models), owner, and prices in US dollars per
    million input, output and cache-read tokens. The ids are kept for shell completion of
    -m (no network call is made while completing).

    \b
    Examples:
      pplx models
      pplx models --json | jq -r 'select(.owned_by == "anthropic") | .id'
    """
    from pplx_cli import jsonsafe
    from pplx_cli.wire.bodies import read_body
    from pplx_cli.store.caches import write_model_cache

    client, settings = make_client(p, key_required=False)
    try:
        body = read_body(client.get("/v1/models"), limit=MAX_LIST_BYTES)
    except AuthError:
        if client.api_key is None:
            settings.api_key()  # raises the usual "no API key" error
        raise
    try:
        listing = jsonsafe.loads(body)
    except ValueError:
        raise StreamError("the model list is not JSON") from None
    data = listing.get("data") if isinstance(listing, dict) else None
    if not isinstance(data, list):
        raise StreamError("the model list has no data")
    models = [m for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)]
    write_model_cache(os.environ, [m["id"] for m in models])
    if as_json:
        lines = [jsonsafe.dumps(m, ensure_ascii=False) for m in models]
    else:
        lines = model_rows(models)
    from pplx_cli.output.stdio import out_lines

    out_lines(lines)
