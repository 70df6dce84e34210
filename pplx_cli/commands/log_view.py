"""What the log commands share: the history opened for reading, rows as a table or JSON
Lines, dates and ids as options take them (``pplx log`` and ``log rm|prune|export``)."""

import os
import sys
from contextlib import contextmanager

import click

from pplx_cli.errors import PplxError
from pplx_cli.output.stdio import out_lines


def _check_since(ctx, param, value):
    if value is None:
        return None
    from datetime import datetime

    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)") from None
    return when.strftime("%Y-%m-%dT%H:%M:%S")


#: A count (-n) SQLite can take; past it is a usage error, not an OverflowError.
COUNT = click.IntRange(min=1, max=2**63 - 1)


#: An exchange id: never negative; one past 64 bits is valid and names no exchange (exit 1).
class _Digits(click.ParamType):
    """An exchange id as ``pplx log`` prints it: ASCII digits only (int() would also take
    '9_9', '+39' or fullwidth digits, and name another exchange than the one typed)."""

    name = "integer"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if not (text.isascii() and text.isdigit()):
            self.fail(f"{value!r} is not an exchange id (digits, as pplx log shows them)", param, ctx)
        return int(text)


EXCHANGE_ID = _Digits()


def in_sqlite(exchange_id: int) -> bool:
    """Whether SQLite can hold ``exchange_id`` (64 bits); one it cannot is in no history."""
    return exchange_id < 2**63


def _path():
    from pplx_cli.store.paths import history_path

    return history_path(os.environ)


@contextmanager
def _reading():
    """The history for reading, or None when there is none yet; an unreadable one (or a
    failed query) is an error, exit 1."""
    from pplx_cli.store.history import History, HistoryError

    path = _path()
    if not os.path.exists(path):
        yield None
        return
    try:
        with History(path, create=False) as history:
            yield history
    except HistoryError as e:
        raise PplxError(f"cannot read the history: {e}") from None


def _print_rows(rows, as_json):
    from pplx_cli import jsonsafe
    from pplx_cli.store.history import decode_record
    from pplx_cli.numbers import dollars

    if as_json:
        lines = [jsonsafe.dumps(decode_record(row), ensure_ascii=False) for row in rows]
    else:
        table = []
        for row in rows:
            status = "" if row["exit_status"] == 0 else f"  [exit {row['exit_status']}]"
            # a batch line, a search, a fetch or embeddings has a cid, but no conversation to continue
            conversation = row["cid"] if row["kind"] == "answer" and row["batch"] is None else "-"
            table.append([str(row["id"]), row["time"][:16].replace("T", " "), conversation, row["model"] or "-",
                          dollars(row["cost"]),
                          " ".join(row["prompt"].split()) + status])
        lines = _table(table, ["ID", "TIME (UTC)", "CONVERSATION", "MODEL", "COST", "PROMPT"], right=(0, 4))
    out_lines(lines)


def _table(rows, header, right=(), estimate=None) -> list:
    """Aligned columns, the last one free. On a terminal: a header row, and the last column
    cut to the terminal's width (never the others); piped: every line whole, no header.
    Widths are terminal columns: a CJK character or an emoji takes two, a combining mark
    none. What came from the network is shown, never obeyed: one line a row."""
    from pplx_cli.commands import _isatty
    from pplx_cli.output.terminal import cells, fit, neutralise_line
    from pplx_cli.output.tty import width

    if not rows:
        return []
    terminal = _isatty(sys.stdout)
    if terminal:
        rows = [header] + rows
    # a row of printable ASCII (most are) is shown as it is, a character a column: it is
    # padded by str.format, the rest cell by cell (a table of years of days stays quick)
    plain = [_printable_ascii("".join(row)) for row in rows]
    rows = [row if ascii_only else [neutralise_line(cell) for cell in row] for row, ascii_only in zip(rows, plain)]
    n = len(header) - 1
    sizes = [[len(cell) for cell in row[:n]] if ascii_only else [cells(cell) for cell in row[:n]]
             for row, ascii_only in zip(rows, plain)]
    widths = [max(column) for column in zip(*sizes)]
    room = max(width(sys.stdout, os.environ) - sum(widths) - 2 * len(widths), 10) if terminal else None
    fmt = "  ".join(f"{{:{'>' if i in right else '<'}{w}}}" for i, w in enumerate(widths))
    out = []
    for row, ascii_only, size in zip(rows, plain, sizes):
        if ascii_only:
            line = fmt.format(*row[:n])
        else:
            line = "  ".join(" " * (w - c) + cell if i in right else cell + " " * (w - c)
                             for i, (cell, w, c) in enumerate(zip(row, widths, size)))
        last = fit(row[-1], room) if room is not None else row[-1]
        out.append((line + "  " + last).rstrip())
    return out


def _printable_ascii(text: str) -> bool:
    """Whether ``text`` is printable ASCII: shown unchanged, one column a character."""
    return text.isascii() and text.isprintable()
