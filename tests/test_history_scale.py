"""The history at size: ``log search`` gives the newest matches, whatever was added or
removed, checked against a plain computation over all the rows; real SQLite files, no mocks."""

import json
import sqlite3

import pytest
from click.testing import CliRunner

from pplx_cli.cli import cli
from pplx_cli.store.history import History

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


def test_log_search_reads_the_index_newest_first(db):
    with History(str(db)) as history:
        fill(history, 200)
        statements = []
        history.db.set_trace_callback(statements.append)
        assert [row["id"] for row in history.search(["zeppelin"], limit=5)] == newest_matches(db, 5)
        [search] = [s for s in statements if "MATCH" in s]
        plan = " / ".join(row[3] for row in history.db.execute("EXPLAIN QUERY PLAN " + search))
        assert "TEMP B-TREE" not in plan  # no sort of every match: the index gives the order
