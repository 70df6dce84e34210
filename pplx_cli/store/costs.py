"""``pplx log cost``'s sums, a day (UTC) and model at a time, without reading every exchange.

``cost_days`` keeps each day's rows of the sum; the schema's triggers note in
``cost_days_changed`` each day an exchange was added to, removed from or changed in
(pplx_cli.store.schema, migration 7). Reading sums each changed day again (:data:`SUMS`,
the SQL that summed the whole table) and keeps it; the rest is read as kept. A day is
summed from all its exchanges every time, never by adding to or taking from a kept sum, so
the figures are the ones summing every exchange gives (the same terms, added in the same
order): TOTAL's overflow to none, text where a number belongs counted as 0, an infinite
cost. A day of a batch of 10,000 lines is summed again once, when it is next read.

A history that cannot be written (a read-only file) is summed whole, as before.
"""

import sqlite3


def _tokens(column):
    # TOTAL, not SUM: SUM fails the whole query on integer overflow (counts may come from
    # an older pplx, or a hand, unchecked); a sum past 64 bits is no count: NULL, not the
    # 2**63 - 1 that casting it back to INTEGER would saturate at
    return (f"CASE WHEN TOTAL({column}) BETWEEN -9223372036854775808.0 AND 9223372036854774784.0 "
            f"THEN CAST(TOTAL({column}) AS INTEGER) END AS {column}")


#: The sums of the exchanges that ``{where}`` selects, a row a (day, model). They are read
#: in the order they were recorded: a sum of floats depends on the order of its terms, so a
#: day summed alone, or through an index on time, gives what summing the table gives. (An
#: ORDER BY in a FROM subquery is kept when the outer query sums; SQLite drops it only when
#: nothing depends on it.)
SUMS = ("SELECT substr(time, 1, 10) AS day, model, COUNT(*) AS exchanges, COALESCE(SUM(cost), 0) AS cost, "
        f"SUM(cost_estimated) AS estimated, {_tokens('prompt_tokens')}, {_tokens('completion_tokens')} "
        "FROM (SELECT time, model, cost, cost_estimated, prompt_tokens, completion_tokens FROM exchanges "
        "WHERE {where} ORDER BY id) GROUP BY day, model")
COLUMNS = "day, model, exchanges, cost, estimated, prompt_tokens, completion_tokens"


def read_costs(db, since=None, model=None) -> list:
    """The sums by day and model (oldest first), of the exchanges at or after ``since`` (a
    UTC time as the history writes them) and by ``model``; changed days summed again first.

    ``db`` is a connection in autocommit mode (it begins and ends its own transactions) whose
    rows are sqlite3.Row. In one transaction: the figures are of one moment, however many
    write meanwhile. Raises sqlite3.Error."""
    try:
        db.execute("BEGIN")
        try:
            if db.execute("SELECT 1 FROM cost_days_changed LIMIT 1").fetchone() is not None:
                # sum again under the write lock: a day that changes meanwhile waits for it
                db.execute("COMMIT")
                db.execute("BEGIN IMMEDIATE")
                _sum_changed_days(db)
            rows = _read(db, since, model)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
    except sqlite3.OperationalError as e:
        if "readonly" not in str(e):
            raise
        return _query(db, _whole(since, model))  # no sums can be kept: sum every exchange
    return rows


def _sum_changed_days(db):
    """Sum again each day noted as changed, and keep it (in the caller's write transaction)."""
    for (day,) in db.execute("SELECT day FROM cost_days_changed").fetchall():
        db.execute("DELETE FROM cost_days WHERE day IS ?", (day,))
        where, params = _one_day(day)
        db.execute(f"INSERT INTO cost_days ({COLUMNS}) {SUMS.format(where=where)}", params)
    db.execute("DELETE FROM cost_days_changed")


def _one_day(day):
    """``(where, params)`` for the exchanges of ``day`` (what ``substr(time, 1, 10)`` gave):
    through the index on time, from the day up to the next string that does not start with
    it. A day that is no text, or empty (a hand's), is looked for in every exchange."""
    if isinstance(day, str) and day and day[-1] != "\U0010ffff":
        after = day[:-1] + chr(ord(day[-1]) + 1)  # every string that starts with day is below it
        return "time >= ? AND time < ? AND substr(time, 1, 10) = ?", (day, after, day)
    return "substr(time, 1, 10) IS ?", (day,)


def _read(db, since, model):
    """The kept sums, but the day of ``since`` summed from its exchanges at or after it."""
    clauses, params = [], []
    boundary = ""
    if since:
        day = since[:10]
        clauses.append("day > ?")  # a later day: every exchange of it is at or after since
        params.append(day)
        where, day_params = _one_day(day)
        boundary = " UNION ALL " + SUMS.format(where=f"{where} AND time >= ?" + (" AND model = ?" if model else ""))
    if model:
        clauses.append("model = ?")
        params.append(model)
    if boundary:
        params += [*day_params, since, *([model] if model else [])]
    where = " WHERE " + " AND ".join(clauses) if clauses else ""
    return _query(db, (f"SELECT {COLUMNS} FROM cost_days{where}{boundary} ORDER BY day, model", params))


def _whole(since, model):
    clauses, params = ["1"], []
    if since:
        clauses.append("time >= ?")
        params.append(since)
    if model:
        clauses.append("model = ?")
        params.append(model)
    return SUMS.format(where=" AND ".join(clauses)) + " ORDER BY day, model", params


def _query(db, sql_params) -> list:
    sql, params = sql_params
    return [dict(row) for row in db.execute(sql, params).fetchall()]
