"""The history at size: ``log search`` gives the newest matches, ``log cost`` the sums of
every exchange, whatever was added, removed or changed by hand. Each answer is checked
against a plain computation over all the rows (Python for search, the whole-table SQL that
``log cost`` ran before it kept sums); real SQLite files, no mocks."""

import json
import sqlite3
import threading

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from pplx_cli.cli import cli
from pplx_cli.store.costs import read_costs
from pplx_cli.store.history import History
from pplx_cli.store.schema import MIGRATIONS, SCHEMA_VERSION

MODELS = ("sonar", "sonar-pro", "openai/gpt-5.1")


@pytest.fixture
def db(home, tmp_path, monkeypatch):
    path = tmp_path / "hist" / "history.db"
    monkeypatch.setenv("PPLX_HISTORY", str(path))
    return path


def invoke(*args):
    return CliRunner().invoke(cli, list(args), prog_name="pplx")


def fill(history, n, start=0):
    """``n`` exchanges over many days and three models, conversations of four; "zeppelin" in
    every answer but each seventh; each 50th recorded with a time ten days before its
    neighbours' (a run's answer recorded late): ids do not follow times."""
    history.db.execute("BEGIN")
    for i in range(start, start + n):
        day = 1 + (i // 40 if i % 50 else max(i // 40 - 10, 0))
        history.record(cid=f"c{i // 4}", prompt=f"question {i}", model=MODELS[i % 3], exit_status=0,
                       answer=f"answer {i} about {'the weather' if i % 7 == 0 else 'a zeppelin'}",
                       time=f"2026-{1 + day // 28:02d}-{1 + day % 28:02d}T{i % 24:02d}:{i % 60:02d}:00.000000Z",
                       meta={"usage": {"prompt_tokens": i, "completion_tokens": 2 * i, "cost": {"total_cost": i / 1000}}})
    history.db.execute("COMMIT")


def newest_matches(path, limit, since=None, model=None, cid=None) -> list:
    """The ids ``log search zeppelin`` must give, by reading every row."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT id, time, model, cid, answer FROM exchanges ORDER BY id DESC").fetchall()
    return [id_ for id_, time, m, c, answer in rows
            if "zeppelin" in answer.split() and (since is None or time >= since) and (model is None or m == model)
            and (cid is None or c == cid)][:limit]


def test_log_search_gives_the_newest_matches_newest_first_on_a_large_history(db):
    with History(str(db)) as history:
        fill(history, 3000)
    cases = [dict(limit=20), dict(limit=1), dict(limit=5000), dict(limit=7, model="sonar-pro"),
             dict(limit=20, since="2026-03-10T00:00:00"), dict(limit=20, since="2026-04-20T05:00:00", model="sonar"),
             dict(limit=5000, since="2026-03-10T00:00:00"), dict(limit=20, since="2027-01-01T00:00:00"),
             dict(limit=3, cid="c700"), dict(limit=3, cid="c702"), dict(limit=20, cid="c7", model="sonar"),
             dict(limit=20, model="nowhere")]

    def check():
        with History(str(db)) as history:
            for case in cases:
                found = [row["id"] for row in history.search(["zeppelin"], **case)]
                assert found == newest_matches(db, **case), case

    check()
    # the newest, a whole conversation, and every match of a day removed: the index follows
    with History(str(db)) as history:
        history.remove(ids=[3000, 2999, 2998, 1500])
        history.remove(cid="c700")
        history.db.execute("DELETE FROM exchanges WHERE time LIKE '2026-03-10%'")
    check()
    with History(str(db)) as history:
        fill(history, 30, start=3000)  # new ids, never the removed ones
    check()
    listed = invoke("log", "search", "zeppelin", "-n", "3", "--json")
    assert listed.exit_code == 0
    assert [json.loads(line)["id"] for line in listed.stdout.splitlines()] == newest_matches(db, 3) == [3030, 3029, 3028]


#: What ``log cost`` ran before it kept sums: every exchange read, grouped by day and model.
WHOLE_TABLE = (
    "SELECT substr(time, 1, 10) AS day, model, COUNT(*) AS exchanges, COALESCE(SUM(cost), 0) AS cost, "
    "SUM(cost_estimated) AS estimated, "
    "CASE WHEN TOTAL(prompt_tokens) BETWEEN -9223372036854775808.0 AND 9223372036854774784.0 "
    "THEN CAST(TOTAL(prompt_tokens) AS INTEGER) END AS prompt_tokens, "
    "CASE WHEN TOTAL(completion_tokens) BETWEEN -9223372036854775808.0 AND 9223372036854774784.0 "
    "THEN CAST(TOTAL(completion_tokens) AS INTEGER) END AS completion_tokens FROM exchanges{} "
    "GROUP BY day, model ORDER BY day, model")


def whole_table(path, since=None, model=None) -> list:
    """The sums of every exchange, read in the order they were recorded (NOT INDEXED: a
    filter on time must not make SQLite read them, and add their costs, in time order)."""
    clauses = [c for c, v in (("time >= ?", since), ("model = ?", model)) if v]
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        sql = WHOLE_TABLE.format(" NOT INDEXED" + (" WHERE " + " AND ".join(clauses) if clauses else ""))
        rows = [dict(r) for r in conn.execute(sql, [v for v in (since, model) if v])]
        if not (since or model):  # what log cost gave before
            assert rows == [dict(r) for r in conn.execute(WHOLE_TABLE.format(""))]
        return rows


SINCES = (None, "2026-01-05T00:00:00", "2026-01-05T13:30:00", "2026-02-01T00:00:00", "2020-01-01T00:00:00",
          "2027-01-01T00:00:00", "2026", "2026-01-05")
FILTERS = [(since, model) for since in SINCES for model in (None, "sonar", "", "odd", "nowhere")]


def assert_sums_are_every_exchanges(path):
    with History(str(path)) as history:
        for since, model in FILTERS:
            assert history.cost(since=since, model=model) == whole_table(path, since, model), (since, model)
        assert history.db.execute("SELECT COUNT(*) FROM cost_days_changed").fetchone()[0] == 0  # summed, kept


def add_odd_rows(history):
    """What an older pplx, a hand or a server may have left: no model, an empty one, costs
    of text, of NaN's neighbours and past a float, counts past 64 bits, negative, a blob,
    times that are no date."""
    for i, time in enumerate(("2026-01-05T13:30:00.000000Z", "2026-01-05T00:00:00.000000Z", "2026-01-05T23:59:59Z")):
        history.record(cid="o", prompt="huge", answer="x", model="odd", time=time, exit_status=0,
                       meta={"usage": {"cost": {"total_cost": 1e308, "estimated": i == 1},
                                       "prompt_tokens": 2**63 - 1, "completion_tokens": 5}})
    history.record(cid="o", prompt="none", answer="x", time="2026-01-05T08:00:00.000000Z", exit_status=0, meta={})
    history.record(cid="o", prompt="empty", answer="x", model="", time="2026-01-06T08:00:00.000000Z", exit_status=0,
                   meta={"model": ""})
    conn = history.db
    conn.execute("INSERT INTO exchanges (time, cid, prompt, model, cost, prompt_tokens, completion_tokens) "
                 "VALUES ('2026-01-07T09:00:00Z', 'h', 'by hand', 'odd', 'lots', -5, X'00')")
    for time in ("2026", "", "yesterday", "2026-01-07"):
        conn.execute("INSERT INTO exchanges (time, cid, prompt, model, cost) VALUES (?, 'h', 'odd time', 'sonar', 0.25)", (time,))
    conn.execute("INSERT INTO exchanges (time, cid, prompt, model, cost) VALUES (X'32303236', 'h', 'a blob', 'sonar', 1)")


def test_log_cost_gives_the_sums_of_every_exchange_through_adds_removals_and_hand_edits(db):
    with History(str(db)) as history:
        fill(history, 400)
        add_odd_rows(history)
    assert_sums_are_every_exchanges(db)
    with History(str(db)) as history:
        fill(history, 100, start=400)
        history.cost()  # summed and kept ...
        history.record(cid="n", prompt="one more", answer="x", model="sonar", time="2026-01-05T20:00:00.000000Z",
                       exit_status=0, meta={"usage": {"cost": {"total_cost": 0.125}}})
    assert_sums_are_every_exchanges(db)  # ... and summed again when a day changes
    with History(str(db)) as history:
        history.remove(ids=[1, 2, 3])
        history.remove(cid="o")
        history.remove(before="2026-01-03")
        history.db.execute("UPDATE exchanges SET model = 'sonar-pro', cost = 2.5 WHERE id = 300")
        history.db.execute("UPDATE exchanges SET time = '2026-01-09T10:00:00Z' WHERE id = 301")  # to another day
        history.db.execute("UPDATE exchanges SET prompt_tokens = 2e30 WHERE id = 302")
    assert_sums_are_every_exchanges(db)
    with History(str(db)) as history:
        history.db.execute("DELETE FROM exchanges")
    assert_sums_are_every_exchanges(db)
    result = invoke("log", "cost")
    assert result.exit_code == 0 and result.stdout == ""


def test_log_cost_shows_the_same_table_from_kept_sums(db):
    with History(str(db)) as history:
        for day, model, cost in (("01", "sonar", 0.5), ("01", "sonar", 0.25), ("01", None, 0.125), ("02", "sonar", 1e-5),
                                 ("03", "sonar-pro", 3.0)):
            history.record(cid="c", prompt="p", answer="x", model=model, time=f"2026-11-{day}T10:00:00.000000Z",
                           exit_status=0, meta={"usage": {"prompt_tokens": 1000, "completion_tokens": 20,
                                                          "cost": {"total_cost": cost, "estimated": day == "02"}}})
    expected = ("2026-11-01  -          1  1,000   20   $0.1250\n"  # as log cost printed it when it read every exchange
                "2026-11-01  sonar      2  2,000   40   $0.7500\n"
                "2026-11-02  sonar      1  1,000   20  <$0.0001  (estimate)\n"
                "2026-11-03  sonar-pro  1  1,000   20   $3.0000\n"
                "total                  5  5,000  100   $3.8750  (estimate)\n")
    for _ in range(2):  # summed, then read as kept
        result = invoke("log", "cost")
        assert result.exit_code == 0 and result.stdout == expected
    since = invoke("log", "cost", "--since", "2026-11-01T10:00", "--model", "sonar", "--json")
    assert [json.loads(line) for line in since.stdout.splitlines()] == [
        {"day": "2026-11-01", "model": "sonar", "exchanges": 2, "cost": 0.75, "estimated": 0, "prompt_tokens": 2000,
         "completion_tokens": 40},
        {"day": "2026-11-02", "model": "sonar", "exchanges": 1, "cost": 1e-5, "estimated": 1, "prompt_tokens": 1000,
         "completion_tokens": 20}]
    later = invoke("log", "cost", "--since", "2026-11-01T10:01", "--json")
    assert [json.loads(line)["day"] for line in later.stdout.splitlines()] == ["2026-11-02", "2026-11-03"]


def test_log_cost_of_a_history_that_cannot_be_written_sums_every_exchange(db):
    with History(str(db)) as history:
        fill(history, 60)
        history.cost()
        fill(history, 10, start=60)  # days changed since the sums were kept
    reader = sqlite3.connect(f"file:{db}?mode=ro", uri=True, isolation_level=None)
    reader.row_factory = sqlite3.Row
    try:
        for since, model in FILTERS:
            assert read_costs(reader, since, model) == whole_table(db, since, model)
        assert not reader.in_transaction
    finally:
        reader.close()


def test_migration_to_kept_sums_sums_every_day_on_first_read(db):
    db.parent.mkdir(parents=True)
    conn = sqlite3.connect(db)
    for step in MIGRATIONS[:6]:
        conn.executescript(step)
    conn.execute("PRAGMA user_version = 6")
    conn.executemany("INSERT INTO exchanges (time, cid, prompt, model, cost, prompt_tokens) VALUES (?, 'c', 'p', ?, ?, ?)",
                     [(f"2026-0{1 + i % 3}-1{i % 5}T10:00:00Z", MODELS[i % 3], i / 8, i) for i in range(90)])
    conn.commit()
    conn.close()
    before = whole_table(db)
    with History(str(db)) as history:
        assert history.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 7
        assert history.db.execute("SELECT COUNT(*) FROM cost_days").fetchone()[0] == 0  # nothing summed yet
        assert history.cost() == before
        history.record(cid="n", prompt="new", answer="x", model="sonar", time="2026-01-10T11:00:00Z", exit_status=0, meta={})
        assert [tuple(r) for r in history.db.execute("SELECT day FROM cost_days_changed")] == [("2026-01-10",)]
    assert_sums_are_every_exchanges(db)


def test_log_cost_while_another_connection_writes_sees_one_moment_and_never_fails(db):
    with History(str(db)) as history:
        fill(history, 50)
    stop, errors = threading.Event(), []

    def write():
        try:
            with History(str(db)) as history:
                for i in range(300):
                    history.record(cid="w", prompt=f"w{i}", answer="x", model=MODELS[i % 3], exit_status=0,
                                   time=f"2026-01-0{1 + i % 3}T10:00:00Z", meta={"usage": {"cost": {"total_cost": 0.5}}})
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
        finally:
            stop.set()

    writer = threading.Thread(target=write)
    writer.start()
    seen = []
    with History(str(db)) as history:
        while not stop.is_set():
            rows = history.cost()
            count = sum(r["exchanges"] for r in rows)
            # one moment: the count of writer's rows (0.5 each) and the cost agree
            assert sum(r["cost"] for r in rows) == pytest.approx(sum(i / 1000 for i in range(50)) + 0.5 * (count - 50))
            seen.append(count)
    writer.join()
    assert errors == []
    assert seen == sorted(seen)
    assert_sums_are_every_exchanges(db)


def test_log_search_reads_the_index_newest_first(db):
    with History(str(db)) as history:
        fill(history, 200)
        statements = []
        history.db.set_trace_callback(statements.append)
        assert [row["id"] for row in history.search(["zeppelin"], limit=5)] == newest_matches(db, 5)
        [search] = [s for s in statements if "MATCH" in s]
        plan = " / ".join(row[3] for row in history.db.execute("EXPLAIN QUERY PLAN " + search))
        assert "TEMP B-TREE" not in plan  # no sort of every match: the index gives the order


def test_log_cost_reads_only_the_kept_sums_when_nothing_changed(db):
    with History(str(db)) as history:
        fill(history, 200)
        history.cost()
        statements = []
        history.db.set_trace_callback(statements.append)
        assert history.cost() == whole_table(db)
        assert statements and not [s for s in statements if "exchanges " in s or s.endswith("exchanges")]


def cell_by_cell(rows, header, right, terminal, columns):
    """The table as log printed it before printable ASCII rows took a quicker way."""
    from pplx_cli.output.terminal import cells, fit, neutralise_line

    rows = [[neutralise_line(cell) for cell in row] for row in rows]
    if terminal:
        rows = [header] + rows
    widths = [max(cells(row[i]) for row in rows) for i in range(len(header) - 1)]
    room = max(columns - sum(widths) - 2 * len(widths), 10) if terminal else None
    out = []
    for row in rows:
        padded = []
        for i, (cell, w) in enumerate(zip(row, widths)):
            fill = " " * (w - cells(cell))
            padded.append(fill + cell if i in right else cell + fill)
        last = fit(row[-1], room) if room is not None else row[-1]
        out.append(("  ".join(padded + [last])).rstrip())
    return out


CELLS = st.one_of(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=12),
                  st.text(max_size=8), st.sampled_from(["量子", "e\u0301", "\x1b[31m", "a\tb", "\u202e", "👍\ufe0f", " "]))


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.lists(CELLS, min_size=4, max_size=4), min_size=1, max_size=6), terminal=st.booleans(),
       columns=st.integers(1, 120))
def test_the_table_is_the_one_laid_out_cell_by_cell(rows, terminal, columns, monkeypatch_module):
    from pplx_cli.commands import log_view

    monkeypatch_module.setattr("pplx_cli.commands._isatty", lambda stream: terminal)
    monkeypatch_module.setenv("COLUMNS", str(columns))
    header = ["ID", "NAME", "COST", "TEXT"]
    assert log_view._table(rows, header, right=(0, 2)) == cell_by_cell(rows, header, (0, 2), terminal, columns)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch
