"""``pplx log rm``, ``prune`` and ``export``: the history kept tidy, a conversation written out."""

import re

import click

from pplx_cli.commands import write_stdout
from pplx_cli.commands.log_view import EXCHANGE_ID, _check_since, _path, _print_rows, _reading, in_sqlite
from pplx_cli.errors import PplxError, UsageError
from pplx_cli.commands.options import CONTEXT


def _writing():
    import os

    from pplx_cli.store.history import History, HistoryError

    path = _path()
    if not os.path.exists(path):
        raise PplxError("the history is empty")
    try:
        return History(path, create=False)
    except HistoryError as e:
        raise PplxError(f"cannot open the history: {e}") from None


def _remove(history, dry_run, **which):
    from pplx_cli.store.history import HistoryError

    try:
        with history:
            rows = history.select(**which)
            if dry_run:
                _print_rows(rows, False)
                return rows
            history.remove(**which)
    except HistoryError as e:
        raise PplxError(f"cannot change the history: {e}") from None
    return rows


@click.command(context_settings=CONTEXT)
@click.argument("ids", nargs=-1, type=EXCHANGE_ID, metavar="[ID]...")
@click.option("--cid", metavar="ID", help="Remove the whole conversation ID.")
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
def rm(ids, cid, dry_run):
    """Remove exchanges by id, or a whole conversation; then compact the database.

    An id that is not in the history is an error (exit 1) and nothing is removed.

    \b
    Examples:
      pplx log rm 41 42
      pplx log rm --cid 3f2a9c0b1d4e --dry-run
    """
    if bool(ids) == bool(cid):
        raise UsageError("give exchange ids or --cid, not both (nor neither)")
    ids = tuple(dict.fromkeys(ids))
    with _reading() as history:  # an id past 64 bits is asked of no one: it is missing
        found = {row["id"] for row in history.select(ids=[i for i in ids if in_sqlite(i)], cid=cid)} if history else set()
    missing = [i for i in ids if i not in found]
    if missing or (cid and not found):
        raise PplxError(f"no exchange {missing[0]} in the history" if missing else f"no conversation {cid} in the history")
    _remove(_writing(), dry_run, ids=ids, cid=cid)


def _check_age(ctx, param, value):
    if value is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*([dhw])\s*", value)
    if not m:
        raise click.BadParameter(f"{value!r} is not an age (e.g. 90d, 12h, 2w)")
    return int(m.group(1)) * {"h": 3600, "d": 86400, "w": 7 * 86400}[m.group(2)]


@click.command(context_settings=CONTEXT)
@click.option("--before", metavar="DATE", help="Remove the exchanges before DATE (UTC; YYYY-MM-DD or YYYY-MM-DDTHH:MM).")
@click.option("--older-than", "age", callback=_check_age, metavar="AGE", help="Remove the exchanges older than AGE (90d, 12h, 2w).")
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
def prune(before, age, dry_run):
    """Remove old exchanges; then compact the database.

    \b
    Examples:
      pplx log prune --older-than 90d --dry-run
      pplx log prune --before 2026-01-01
    """
    from datetime import datetime, timedelta, timezone


    if (before is None) == (age is None):
        raise UsageError("give --before DATE or --older-than AGE")
    if before is not None:
        cutoff = _check_since(None, None, before)
    else:
        cutoff = (datetime.now(timezone.utc) - timedelta(seconds=age)).strftime("%Y-%m-%dT%H:%M:%S")
    with _reading() as history:
        if history is None:
            return
    _remove(_writing(), dry_run, before=cutoff)


@click.command(context_settings=CONTEXT)
@click.option("--cid", metavar="ID", help="The conversation (default: the latest).")
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True,
              help="Markdown to read, or a JSON array of the exchanges.")
def export(cid, fmt):
    """Write a conversation out, readably: Markdown (default) or JSON.

    \b
    Examples:
      pplx log export > talk.md
      pplx log export --cid 3f2a9c0b1d4e --format json | jq '.[].answer'
    """
    from pplx_cli import jsonsafe
    from pplx_cli.output.recorded import conversation_markdown
    from pplx_cli.store.history import decode_record

    with _reading() as history:
        cid = cid or (history.latest_cid(answered=False) if history else None)
        rows = history.conversation(cid) if history and cid else []
    if not rows:
        raise PplxError(f"no conversation {cid} in the history" if cid else "the history is empty")
    records = [decode_record(row) for row in rows]
    if fmt == "json":
        text = jsonsafe.dumps(records, ensure_ascii=False, indent=2) + "\n"
    else:
        text = conversation_markdown(cid, records)
    write_stdout(text)
