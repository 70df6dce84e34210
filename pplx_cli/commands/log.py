"""``pplx log``: list, show, search and cost the exchanges in the history."""

import click

from pplx_cli.commands import log_tidy, make_writer
from pplx_cli.commands.log_view import COUNT, EXCHANGE_ID, _check_since, _path, _print_rows, _reading, _table, in_sqlite
from pplx_cli.errors import PplxError, Silent, UsageError
from pplx_cli.output.messages import note
from pplx_cli.commands.options import CONTEXT, json_option, option_bundle, output_options
from pplx_cli.output.stdio import out_lines


filter_options = option_bundle(
    click.option("-n", "limit", type=COUNT, default=20, show_default=True, metavar="N", help="At most N exchanges."),
    click.option("--since", callback=_check_since, metavar="DATE", help="Only exchanges at or after DATE (UTC; YYYY-MM-DD or YYYY-MM-DDTHH:MM)."),
    click.option("--model", metavar="MODEL", help="Only exchanges answered by MODEL."),
    click.option("--cid", metavar="ID", help="Only the conversation ID."),
)


@click.group(invoke_without_command=True, context_settings=CONTEXT)
@filter_options
@click.option("--batch", metavar="ID", help="Only the exchanges of the batch run ID (see pplx batch).")
@json_option
@click.pass_context
def log(ctx, limit, since, model, cid, batch, as_json):
    """List recent exchanges from the history, newest first.

    Each line: id, time (UTC), conversation id ('-' for a batch line, a search, a fetch or
    embeddings: none is a conversation), model, cost, the start of the prompt, and the exit
    status when it was not 0. Every ask and stream exchange is recorded in a
    SQLite database (see 'pplx log path'); --no-log or 'log = false' in the config file
    turn that off.

    \b
    Examples:
      pplx log -n 5
      pplx log --since 2026-11-01 --model openai/gpt-5.1
      pplx log --json | jq -r .answer
      pplx log show 42 --sources
      pplx log search qubit entanglement
      pplx log cost
    """
    if ctx.invoked_subcommand is None:
        with _reading() as history:
            rows = history.list(limit=limit, since=since, model=model, cid=cid, batch=batch) if history else []
        _print_rows(rows, as_json)


@log.command(context_settings=CONTEXT)
@click.argument("exchange_id", metavar="[ID]", type=EXCHANGE_ID, required=False)
@output_options
@json_option
def show(exchange_id, as_json, **p):
    """Print an exchange's answer (stdout) and metadata (stderr), as 'pplx ask' did.

    ID is from 'pplx log'; without it, the latest exchange.

    \b
    Examples:
      pplx log show
      pplx log show 42 --sources --no-meta
    """
    from pplx_cli import jsonsafe
    from pplx_cli.output.recorded import replay
    from pplx_cli.store.history import decode_record

    with _reading() as history:
        # an id SQLite cannot hold (past 64 bits) names no exchange
        row = history.get(exchange_id) if history and (exchange_id is None or in_sqlite(exchange_id)) else None
        checked = _verification(history, row)
    if not row:
        # 0 is an id like any other (none has it), not "the latest"
        raise PplxError(f"no exchange {exchange_id} in the history" if exchange_id is not None else "the history is empty")
    record = decode_record(row)
    if as_json:
        if checked is not None:
            record["verification"] = checked
        out_lines([jsonsafe.dumps(record, ensure_ascii=False)])
        return
    writer = make_writer(dict(p, status=False))
    status = record.get("exit_status")
    # as the command printed it: a run the service ended (exit 1) still lists its sources
    replay(writer, answer=record["answer"], reasoning=record["reasoning"], meta=record["meta"], exit_status=status)
    if checked is not None:
        note(f"verified as exchange {checked['id']} ({checked['time'][:16].replace('T', ' ')} UTC): {checked['summary']} "
             f"(pplx log show {checked['id']})")
    if writer.out_error is not None:  # a full disk, EIO: 'cannot write to stdout', exit 74, as ask says it
        raise writer.out_error
    if isinstance(status, int) and status != 0:  # a failed or interrupted exchange: its recorded status
        raise Silent(status)  # what it has was printed, the error in its metadata

def _verification(history, row):
    """The latest verification of an answer (``pplx verify``): its id, time, exit status and
    summary line; None when it has none (or is no answer)."""
    if history is None or row is None or row["kind"] != "answer":
        return None
    from pplx_cli.store.history import HistoryError, decode_record
    from pplx_cli.store.verifications import latest_verification

    try:
        found = latest_verification(history, row)
    except HistoryError as e:
        raise PplxError(f"cannot read the history: {e}") from None
    if found is None:
        return None
    meta = decode_record(found)["meta"]
    summary = meta.get("summary") if isinstance(meta, dict) and isinstance(meta.get("summary"), str) else None
    return {"id": found["id"], "time": found["time"], "exit_status": found["exit_status"],
            "summary": summary or f"exit {found['exit_status']}"}


@log.command(context_settings=CONTEXT)
@click.argument("terms", nargs=-1, required=True)
@filter_options
@json_option
def search(terms, limit, since, model, cid, as_json):
    """Find exchanges whose prompt or answer has every one of TERMS.

    Uses SQLite's full-text search (FTS5) when this SQLite has it, else a plain LIKE
    search (said once on stderr).

    \b
    Examples:
      pplx log search qubit
      pplx log search "error correction" --json | jq .id
    """
    terms = [t for t in terms if t.strip()]
    if not terms:
        raise UsageError("no search terms")
    with _reading() as history:
        if history is None:
            return
        if not history.fts:
            note("this SQLite has no FTS5; searching with LIKE")
        rows = history.search(terms, limit=limit, since=since, model=model, cid=cid)
    _print_rows(rows, as_json)
    if not rows:  # as grep: nothing found is exit 1
        raise Silent(1)


@log.command(context_settings=CONTEXT)
@click.option("--since", callback=_check_since, metavar="DATE", help="Only exchanges at or after DATE (UTC).")
@click.option("--model", metavar="MODEL", help="Only exchanges answered by MODEL.")
@json_option
def cost(since, model, as_json):
    """Sum cost and tokens by day (UTC) and model, with a total.

    \b
    Examples:
      pplx log cost
      pplx log cost --since 2026-11-01 --json | jq -s 'map(.cost) | add'
    """
    from pplx_cli import jsonsafe

    with _reading() as history:
        rows = history.cost(since=since, model=model) if history else []
    if as_json:
        lines = [jsonsafe.dumps(row, ensure_ascii=False) for row in rows]
    else:
        from pplx_cli.numbers import dollars, thousands

        def total(key):  # a day's sum that is no number (past 64 bits) leaves the total none too
            values = [r[key] for r in rows]
            return None if None in values else sum(values)

        totals = {k: total(k) for k in ("exchanges", "prompt_tokens", "completion_tokens", "cost", "estimated")}
        table = [[row["day"], row["model"] if row["model"] is not None else "-", thousands(row["exchanges"]),
                  thousands(row["prompt_tokens"]), thousands(row["completion_tokens"]), dollars(row["cost"]),
                  "(estimate)" if row["estimated"] else ""] for row in rows + ([dict(totals, day="total", model="")] if rows else [])]
        lines = _table(table, ["DAY", "MODEL", "EXCHANGES", "IN", "OUT", "COST", ""], right=(2, 3, 4, 5))
    out_lines(lines)


@log.command(context_settings=CONTEXT)
@json_option
def path(as_json):
    """Print the path of the history database.

    $PPLX_HISTORY, else $XDG_DATA_HOME/pplx/history.db (default
    ~/.local/share/pplx/history.db).

    \b
    Examples:
      pplx log path
      sqlite3 "$(pplx log path)" 'SELECT COUNT(*) FROM exchanges'
    """
    import json

    out_lines([json.dumps({"path": _path()}) if as_json else _path()])


for _command in (log_tidy.rm, log_tidy.prune, log_tidy.export):  # defined beside, joined here
    log.add_command(_command)
