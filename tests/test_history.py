"""The history: real SQLite files in temporary directories, no mocks of sqlite3."""

import json
import os
import signal
import sqlite3
import subprocess
import time

import pytest
import responses
from click.testing import CliRunner

from pplx_cli.cli import cli
from pplx_cli.store.history import History
from pplx_cli.store.schema import MIGRATIONS, SCHEMA_VERSION
from tests.conftest import pplx_executable
from tests.server import Reply, sse

CHAT = "https://api.perplexity.ai/chat/completions"
AGENT = "https://api.perplexity.ai/v1/responses"


@pytest.fixture
def db(home, tmp_path, monkeypatch):
    path = tmp_path / "hist" / "history.db"
    monkeypatch.setenv("PPLX_HISTORY", str(path))
    return path


@pytest.fixture
def mocked(db, monkeypatch):
    """Mocked HTTP; these tests record chat completions (the Agent API's own history
    behaviour is tested in test_agent.py)."""
    monkeypatch.setenv("PPLX_API", "chat")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def invoke(*args, input=None):
    return CliRunner().invoke(cli, list(args), input=input, prog_name="pplx")


def rows(path):
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM exchanges ORDER BY id")]


def answer(content, cost=0.005, prompt_tokens=3, completion_tokens=4, model="sonar"):
    return {"id": "a", "model": model, "created": 1, "citations": ["https://a.org"],
            "search_results": [{"title": "A", "url": "https://a.org"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "cost": {"total_cost": cost}},
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}]}


def sent(mocked, i):
    return json.loads(mocked.calls[i].request.body)


# ---- logging ----


def test_success_is_recorded_with_everything(mocked, db):
    mocked.post(CHAT, json=answer("<think>hm</think>Canberra."))
    result = invoke("ask", "-s", "Be brief.", "--recency", "week", "capital?")
    assert result.exit_code == 0
    [row] = rows(db)
    assert oct(db.stat().st_mode & 0o777) == "0o600"
    assert row["prompt"] == "capital?" and row["system"] == "Be brief." and row["answer"] == "Canberra."
    assert row["reasoning"] == "hm" and row["model"] == "sonar" and row["api"] == "chat"
    assert row["exit_status"] == 0 and row["error"] is None and row["duration"] >= 0
    assert row["cost"] == 0.005 and row["prompt_tokens"] == 3 and row["completion_tokens"] == 4
    assert json.loads(row["options"]) == {"recency": "week", "store": True, "stream_mode": "concise", "api": "chat"}
    meta = json.loads(row["meta"])
    assert meta["citations"] == ["https://a.org"] and meta["usage"]["cost"]["total_cost"] == 0.005
    assert len(row["cid"]) == 12 and row["time"].endswith("Z")


def test_failure_is_recorded_with_the_error(mocked, db):
    mocked.post(CHAT, json={"error": {"message": "bad model"}}, status=400)
    assert invoke("ask", "q", "-m", "nope").exit_code == 1
    [row] = rows(db)
    assert row["exit_status"] == 1 and row["error"] == "HTTP 400: bad model" and row["answer"] == ""
    assert row["model"] == "nope"


def test_lost_stream_is_recorded_with_what_arrived(mocked, db):
    mocked.post(CHAT, body=sse({"choices": [{"delta": {"content": "half an "}}]}), content_type="text/event-stream")
    assert invoke("stream", "q").exit_code == 5
    [row] = rows(db)
    assert row["answer"] == "half an " and row["exit_status"] == 5 and row["error"] == "connection lost after 1 event"


def test_raw_parse_and_no_log_record_nothing(mocked, db, home):
    mocked.post(CHAT, body=sse({"choices": [{"delta": {"content": "x"}, "finish_reason": "stop"}]}), content_type="text/event-stream")
    mocked.post(CHAT, json=answer("x"))
    assert invoke("raw", "q").exit_code == 0
    assert invoke("stream", "--raw", "q").exit_code == 0
    assert invoke("ask", "q", "--no-log").exit_code == 0
    capture = home / "c.sse"
    capture.write_bytes(sse({"choices": [{"delta": {"content": "x"}, "finish_reason": "stop"}]}))
    assert invoke("parse", str(capture)).exit_code == 0
    assert not db.exists()
    config = home / ".config" / "pplx" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("log = false\n")
    assert invoke("ask", "q").exit_code == 0
    assert not db.exists()


def test_ask_raw_is_recorded(mocked, db):
    mocked.post(CHAT, json=answer("Raw answer."))
    result = invoke("ask", "--raw", "q")
    assert result.exit_code == 0 and json.loads(result.stdout)["id"] == "a"
    assert rows(db)[0]["answer"] == "Raw answer."


def test_default_path_is_under_xdg_data_home(home, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert invoke("log", "path").stdout == f"{tmp_path}/data/pplx/history.db\n"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert invoke("log", "path").stdout == f"{home}/.local/share/pplx/history.db\n"
    assert json.loads(invoke("log", "path", "--json").stdout) == {"path": f"{home}/.local/share/pplx/history.db"}


# ---- a broken history never breaks the main job ----


def test_corrupt_database_warns_and_answers(mocked, db):
    db.parent.mkdir(parents=True)
    db.write_bytes(b"this is not a database" * 100)
    mocked.post(CHAT, json=answer("Still here."))
    result = invoke("ask", "q", "--no-meta")
    assert result.exit_code == 0
    assert result.stdout == "Still here.\n"
    assert result.stderr == f"pplx: warning: history not recorded: file is not a database ({db})\n"
    assert invoke("log").exit_code == 1


def test_unwritable_path_warns_and_keeps_the_exit_status(mocked, db, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("PPLX_HISTORY", str(blocker / "history.db"))
    mocked.post(CHAT, json={"error": {"message": "slow down"}}, status=429)
    result = invoke("ask", "q", "--retries", "0")
    assert result.exit_code == 4
    lines = result.stderr.splitlines()
    assert lines[0] == f"pplx: warning: history not recorded: {blocker} is not a directory ({blocker / 'history.db'})"
    assert lines[1] == "pplx: error: HTTP 429: slow down"


def test_history_from_a_newer_pplx_is_left_alone(mocked, db):
    db.parent.mkdir(parents=True)
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    mocked.post(CHAT, json=answer("ok"))
    result = invoke("ask", "q", "--no-meta")
    assert result.exit_code == 0 and result.stdout == "ok\n"
    assert "written by a newer pplx" in result.stderr


# ---- migration ----


def test_migration_from_schema_1(db):
    db.parent.mkdir(parents=True)
    conn = sqlite3.connect(db)
    conn.executescript(MIGRATIONS[0])
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO exchanges (time, cid, model, prompt, answer, meta, exit_status) VALUES (?, ?, ?, ?, ?, ?, ?)",
        ("2026-10-01T10:00:00.000000Z", "oldcid", "sonar", "old question", "old answer about zeppelins",
         json.dumps({"usage": {"prompt_tokens": 5, "completion_tokens": 6, "cost": {"total_cost": 0.25}}}), 0),
    )
    conn.commit()
    conn.close()
    with History(str(db)) as history:
        assert history.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        [row] = history.list()
        assert (row["cost"], row["prompt_tokens"], row["completion_tokens"]) == (0.25, 5, 6)
        assert (row["kind"], row["cost_estimated"]) == ("answer", 0)
        assert [r["id"] for r in history.search(["zeppelins"])] == [1]
    result = invoke("log", "cost", "--json")
    assert json.loads(result.stdout) == {"day": "2026-10-01", "model": "sonar", "exchanges": 1, "cost": 0.25,
                                         "estimated": 0, "prompt_tokens": 5, "completion_tokens": 6}


def old_database(path, version):
    """A history as pplx left it at schema ``version``, with its full-text index."""
    from pplx_cli.store.history import FTS

    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    for step in MIGRATIONS[:version]:
        conn.executescript(step)
    conn.executescript(FTS)
    conn.execute(f"PRAGMA user_version = {version}")
    return conn


def test_ids_are_never_handed_out_twice(mocked, db):
    for text in ("One.", "Two.", "Three.", "Four."):
        mocked.post(CHAT, json=answer(text))
    for prompt in ("first", "second", "third"):
        assert invoke("ask", prompt).exit_code == 0
    assert invoke("log", "rm", "3").exit_code == 0
    assert invoke("ask", "fourth").exit_code == 0
    assert [line.split()[0] for line in invoke("log").stdout.splitlines()] == ["4", "2", "1"]
    gone = invoke("log", "show", "3")
    assert gone.exit_code == 1 and gone.stderr == "pplx: error: no exchange 3 in the history\n"
    assert invoke("log", "rm", "--cid", rows(db)[-1]["cid"]).exit_code == 0  # the newest conversation, whole
    with History(str(db)) as history:
        assert history.record(cid="c", prompt="fifth", answer="Five.", meta={}, exit_status=0) == 5


def test_migration_to_ids_never_reused_keeps_rows_ids_and_search(db):
    conn = old_database(db, 5)
    for id_, prompt in ((1, "about zeppelins"), (2, "about canberra"), (5, "about qubits"), (7, "the newest")):
        conn.execute("INSERT INTO exchanges (id, time, cid, prompt, answer, cost, batch) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (id_, f"2026-10-0{id_}T10:00:00.000000Z", f"c{id_}", prompt, f"answer {id_}", 0.5, "b1" if id_ == 2 else None))
    conn.execute("DELETE FROM exchanges WHERE id = 7")  # removed by an older pplx: 7 was handed out
    conn.execute("INSERT INTO runs (id, time, prompt, exchange_id) VALUES ('resp_1', '2026-10-08', 'q', 9)")
    conn.commit()
    conn.close()
    with History(str(db)) as history:
        assert history.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        kept = history.db.execute("SELECT id, prompt, answer, cid, cost, batch, kind FROM exchanges ORDER BY id").fetchall()
        assert [tuple(r) for r in kept] == [(1, "about zeppelins", "answer 1", "c1", 0.5, None, "answer"),
                                            (2, "about canberra", "answer 2", "c2", 0.5, "b1", "answer"),
                                            (5, "about qubits", "answer 5", "c5", 0.5, None, "answer")]
        # the highest id the old database shows was handed out (a background run's answer, 9)
        assert history.record(cid="c", prompt="new zeppelins", answer="x", meta={}, exit_status=0) == 10
    assert [json.loads(x)["id"] for x in invoke("log", "search", "zeppelins", "--json").stdout.splitlines()] == [10, 1]
    assert [json.loads(x)["id"] for x in invoke("log", "search", "qubits", "--json").stdout.splitlines()] == [5]
    assert invoke("log", "rm", "10").exit_code == 0
    assert invoke("log", "search", "new").exit_code == 1  # the index follows deletes after the migration
    with History(str(db)) as history:
        assert history.record(cid="c", prompt="after", answer="x", meta={}, exit_status=0) == 11
    with sqlite3.connect(db) as conn:
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'exchanges'")}
    assert {"exchanges_cid", "exchanges_time", "exchanges_batch"} <= indexes


def test_migration_is_done_once_by_parallel_processes(db):
    conn = old_database(db, 5)
    conn.executemany("INSERT INTO exchanges (time, cid, prompt) VALUES ('2026-10-01T10:00:00Z', 'c', ?)",
                     [(f"prompt {n}",) for n in range(200)])
    conn.commit()
    conn.close()
    code = ("import sys; from pplx_cli.store.history import History\n"
            "with History(sys.argv[1]) as h: print(h.record(cid='p', prompt='parallel', answer='x', meta={}, exit_status=0))")
    import sys

    procs = [subprocess.Popen([sys.executable, "-c", code, str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(6)]
    results = [(p.wait(60), p.stdout.read(), p.stderr.read()) for p in procs]
    assert [(code, err) for code, _, err in results] == [(0, b"")] * 6
    assert sorted(int(out) for _, out, _ in results) == list(range(201, 207))
    assert len(rows(db)) == 206
    assert [json.loads(x)["id"] for x in invoke("log", "search", "parallel", "--json", "-n", "10").stdout.splitlines()] == \
        list(range(206, 200, -1))


# ---- conversations ----


def test_continue_sends_the_conversation(mocked, db):
    mocked.post(CHAT, json=answer("<think>secret reasoning</think>Canberra."))
    mocked.post(CHAT, json=answer("Because of a compromise."))
    mocked.post(CHAT, json=answer("In 1913."))
    assert invoke("ask", "-s", "Be brief.", "Which city is the capital?").exit_code == 0
    assert invoke("ask", "-c", "and why?").exit_code == 0
    assert sent(mocked, 1)["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Which city is the capital?"},
        {"role": "assistant", "content": "Canberra."},
        {"role": "user", "content": "and why?"},
    ]
    # stdin prompts too, and -s replaces the conversation's system prompt
    assert invoke("ask", "-c", "-s", "Be precise.", input="since when?").exit_code == 0
    assert sent(mocked, 2)["messages"][0] == {"role": "system", "content": "Be precise."}
    assert [m["content"] for m in sent(mocked, 2)["messages"][1:]] == [
        "Which city is the capital?", "Canberra.", "and why?", "Because of a compromise.", "since when?"]
    assert len({r["cid"] for r in rows(db)}) == 1


def test_failed_exchange_is_left_out_so_roles_alternate(mocked, db):
    mocked.post(CHAT, json=answer("First answer."))
    mocked.post(CHAT, json={"error": {"message": "oops"}}, status=400)
    mocked.post(CHAT, json=answer("Third answer."))
    invoke("ask", "first")
    assert invoke("ask", "-c", "second").exit_code == 1
    assert invoke("ask", "-c", "third").exit_code == 0
    roles = [m["role"] for m in sent(mocked, 2)["messages"]]
    assert roles == ["user", "assistant", "user"]
    assert [m["content"] for m in sent(mocked, 2)["messages"]] == ["first", "First answer.", "third"]


def test_cid_continues_a_given_conversation(mocked, db):
    for text in ("A1.", "B1.", "A2."):
        mocked.post(CHAT, json=answer(text))
    invoke("ask", "conversation a")
    invoke("ask", "conversation b")
    cid_a = rows(db)[0]["cid"]
    assert invoke("ask", "--cid", cid_a, "more on a").exit_code == 0
    assert [m["content"] for m in sent(mocked, 2)["messages"]] == ["conversation a", "A1.", "more on a"]
    assert rows(db)[2]["cid"] == cid_a


def test_continue_an_unstored_agent_api_response_sends_an_input_list(mocked, db):
    mocked.post(AGENT, json={"id": "r", "status": "completed", "model": "perplexity/sonar",
                             "output": [{"type": "message", "content": [{"type": "output_text", "text": "Yes."}]}]})
    invoke("ask", "--api", "agent", "--no-store", "-s", "Sys", "q1")
    assert invoke("ask", "--api", "agent", "-c", "q2").exit_code == 0
    body = sent(mocked, 1)
    assert body["instructions"] == "Sys"
    assert "previous_response_id" not in body
    assert body["input"] == [{"role": "user", "content": "q1"}, {"role": "assistant", "content": "Yes."},
                             {"role": "user", "content": "q2"}]


def test_nothing_to_continue_is_a_usage_error(mocked, db):
    result = invoke("ask", "-c", "and why?")
    assert result.exit_code == 2
    assert result.stderr.startswith("pplx: error: cannot continue: no history yet")
    mocked.post(CHAT, json=answer("x"))
    invoke("ask", "q")
    result = invoke("ask", "--cid", "nosuchcid", "q")
    assert result.exit_code == 2
    assert result.stderr == "pplx: error: no conversation 'nosuchcid' in the history\nTry 'pplx ask --help' for help.\n"
    assert len(mocked.calls) == 1


# ---- the log command ----


def seed(mocked):
    mocked.post(CHAT, json=answer("Canberra is the capital.", cost=0.005, prompt_tokens=10, completion_tokens=20))
    mocked.post(CHAT, json=answer("Zeppelins float.", cost=0.25, prompt_tokens=1, completion_tokens=2, model="sonar-pro"))
    mocked.post(CHAT, json={"error": {"message": "bad"}}, status=400)
    invoke("ask", "capital of Australia")
    invoke("ask", "-m", "sonar-pro", "why do airships float\nexplain")
    invoke("ask", "broken")


def test_log_lists_newest_first(mocked, db):
    seed(mocked)
    result = invoke("log")
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["3", "2", "1"]
    assert lines[2].endswith("$0.0050  capital of Australia")
    assert lines[1].endswith("$0.2500  why do airships float explain")
    assert lines[0].endswith("-  broken  [exit 1]")
    assert [line.split()[0] for line in invoke("log", "-n", "1").stdout.splitlines()] == ["3"]
    cid = rows(db)[1]["cid"]
    assert [json.loads(x)["id"] for x in invoke("log", "--cid", cid, "--json").stdout.splitlines()] == [2]
    assert invoke("log", "--since", "2999-01-01").stdout == ""
    assert invoke("log", "--since", "soon").exit_code == 2


def test_log_show_has_the_ask_contract(mocked, db, tmp_path):
    seed(mocked)
    result = invoke("log", "show", "1", "--sources")
    assert result.exit_code == 0
    assert result.stdout == "Canberra is the capital.\n\n[1] A <https://a.org>\n"
    assert json.loads(result.stderr)["usage"]["cost"]["total_cost"] == 0.005
    meta = tmp_path / "m.json"
    assert invoke("log", "show", "--meta", str(meta)).stdout == ""  # the latest failed before any answer
    assert json.loads(meta.read_text())["error"] == "HTTP 400: bad"
    assert json.loads(invoke("log", "show", "2", "--json").stdout)["answer"] == "Zeppelins float."
    missing = invoke("log", "show", "99")
    assert missing.exit_code == 1 and missing.stderr == "pplx: error: no exchange 99 in the history\n"


def test_log_search_with_fts_and_with_like(mocked, db, monkeypatch):
    seed(mocked)
    assert [x.split()[0] for x in invoke("log", "search", "zeppelins").stdout.splitlines()] == ["2"]
    assert [x.split()[0] for x in invoke("log", "search", "capital", "australia").stdout.splitlines()] == ["1"]
    quoted = invoke("log", "search", 'quote"s', "AND", "(")  # FTS syntax is quoted away: no error, nothing found
    assert quoted.exit_code == 1 and quoted.stderr == ""
    monkeypatch.setattr(History, "_ensure_fts", lambda self: False)
    result = invoke("log", "search", "Zeppelin")
    assert [x.split()[0] for x in result.stdout.splitlines()] == ["2"]
    assert result.stderr == "pplx: note: this SQLite has no FTS5; searching with LIKE\n"
    assert invoke("log", "search", "100%").stdout == ""


def test_log_cost_matches_the_recorded_costs(mocked, db):
    seed(mocked)
    result = invoke("log", "cost")
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert lines[-1].startswith("total") and lines[-1].endswith("$0.2550")
    recorded = sum(((json.loads(r["meta"]).get("usage") or {}).get("cost") or {}).get("total_cost", 0) for r in rows(db))
    total = sum(json.loads(x)["cost"] for x in invoke("log", "cost", "--json").stdout.splitlines())
    assert total == pytest.approx(recorded) == pytest.approx(0.255)


def test_log_with_no_history_lists_nothing(db):
    for args in (["log"], ["log", "search", "x"], ["log", "cost"]):
        result = invoke(*args)
        assert result.exit_code == 0 and result.stdout == ""
    assert invoke("log", "show").exit_code == 1


# ---- real processes ----


def test_interrupted_exchange_is_recorded(api, db):
    api.add("/chat/completions", Reply(parts=[sse({"choices": [{"delta": {"content": "before "}}]}), sse({"choices": [{"delta": {"content": "after"}, "finish_reason": "stop"}]})], delay=30))
    proc = subprocess.Popen([pplx_executable(), "stream", "q"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=dict(os.environ, PPLX_BASE_URL=api.url, PPLX_API="chat"))
    assert proc.stdout.read(7) == b"before "
    proc.send_signal(signal.SIGINT)
    assert proc.wait(10) == 130
    [row] = rows(db)
    assert (row["answer"], row["exit_status"], row["error"]) == ("before ", 130, "interrupted")


def test_eight_processes_at_once_lose_no_rows(api, db):
    events = [sse({"choices": [{"delta": {"content": f"part {i} "}}]}) for i in range(5)]
    api.add("/chat/completions", Reply(parts=events + [sse({"choices": [{"delta": {"content": "end"}, "finish_reason": "stop"}]})], delay=0.01))
    env = dict(os.environ, PPLX_BASE_URL=api.url, PPLX_API="chat")
    started = time.monotonic()
    procs = [subprocess.Popen([pplx_executable(), "stream", f"question {n}"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=env) for n in range(8)]
    results = [(p.wait(60), p.stdout.read(), p.stderr.read()) for p in procs]
    for code, out, err in results:
        assert code == 0
        assert out == b"part 0 part 1 part 2 part 3 part 4 end\n"
        assert b"warning" not in err and b"locked" not in err
    assert sorted(r["prompt"] for r in rows(db)) == [f"question {n}" for n in range(8)]
    assert time.monotonic() - started < 30


def test_stream_raw_continues_but_records_nothing(mocked, db):
    mocked.post(CHAT, json=answer("First."))
    mocked.post(CHAT, body=sse({"choices": [{"delta": {"content": "x"}, "finish_reason": "stop"}]}), content_type="text/event-stream")
    invoke("ask", "first")
    assert invoke("stream", "--raw", "-c", "second").exit_code == 0
    assert [m["content"] for m in sent(mocked, 1)["messages"]] == ["first", "First.", "second"]
    assert len(rows(db)) == 1


def test_a_key_echoed_by_the_server_is_not_stored(mocked, db):
    from tests.conftest import KEY

    mocked.post(CHAT, json={"error": {"message": f"bad header: Bearer {KEY}"}}, status=400)
    assert invoke("ask", "q").exit_code == 1
    [row] = rows(db)
    assert KEY not in json.dumps(row)
    assert row["error"] == "HTTP 400: bad header: Bearer [redacted]"


# ---- everyday use: ids, failed exchanges, search ----


def test_log_show_0_is_an_id_and_a_failed_exchange_exits_with_its_status(db):
    with History(str(db)) as history:
        history.record(cid="c1", prompt="fine", answer="All good.", meta={}, exit_status=0)
        history.record(cid="c2", prompt="dropped", answer="Half an ans", meta={"error": "connection lost after 3 events"},
                       exit_status=5, error="connection lost after 3 events")
    zero = invoke("log", "show", "0")
    assert zero.exit_code == 1 and "no exchange 0 in the history" in zero.stderr
    failed = invoke("log", "show", "2", "--meta-style", "json")
    assert failed.exit_code == 5 and failed.stdout == "Half an ans\n"
    assert json.loads(failed.stderr)["error"] == "connection lost after 3 events"
    assert invoke("log", "show", "1", "--no-meta").exit_code == 0


def test_log_search_prefixes_substrings_and_exit_1_on_nothing(db):
    with History(str(db)) as history:
        history.record(cid="c1", prompt="quantum entanglement", answer="Spooky.", meta={}, exit_status=0)
        history.record(cid="c2", prompt="量子コンピュータとは", answer="計算機です。", meta={}, exit_status=0)
    prefix = invoke("log", "search", "entangle*", "--json")
    assert prefix.exit_code == 0 and [json.loads(line)["id"] for line in prefix.stdout.splitlines()] == [1]
    cjk = invoke("log", "search", "コンピュータ", "--json")
    assert cjk.exit_code == 0 and [json.loads(line)["id"] for line in cjk.stdout.splitlines()] == [2]
    nothing = invoke("log", "search", "zeppelin")
    assert nothing.exit_code == 1 and nothing.stdout == "" and nothing.stderr == ""


def test_log_rm_prune_and_export(db):
    with History(str(db)) as history:
        history.record(cid="c1", prompt="first", answer="One [1].", meta={"citations": ["https://a.org"]}, exit_status=0,
                       time="2026-01-01T10:00:00.000000Z", model="openai/gpt-5.1")
        history.record(cid="c1", prompt="second", answer="Two.", meta={}, exit_status=0, time="2026-06-01T10:00:00.000000Z")
        history.record(cid="c2", prompt="other zeppelin", answer="Three.", meta={}, exit_status=0, time="2026-11-01T10:00:00.000000Z")
    exported = invoke("log", "export", "--cid", "c1")
    assert exported.exit_code == 0
    assert exported.stdout == ("# Conversation c1\n\n## 2026-01-01 10:00:00 UTC · openai/gpt-5.1\n\n**Q:** first\n\nOne [1].\n\n"
                               "Sources:\n\n- [1] https://a.org\n\n## 2026-06-01 10:00:00 UTC · -\n\n**Q:** second\n\nTwo.\n")
    as_json = json.loads(invoke("log", "export", "--format", "json").stdout)  # the latest conversation
    assert [r["prompt"] for r in as_json] == ["other zeppelin"]
    assert invoke("log", "rm", "9").exit_code == 1 and len(rows(db)) == 3
    listed = invoke("log", "rm", "--cid", "c1", "--dry-run")
    assert listed.exit_code == 0 and [line.split()[0] for line in listed.stdout.splitlines()] == ["2", "1"] and len(rows(db)) == 3
    assert invoke("log", "rm", "--cid", "c1").exit_code == 0 and [r["id"] for r in rows(db)] == [3]
    assert invoke("log", "search", "zeppelin").exit_code == 0  # the full-text index followed
    assert invoke("log", "prune", "--before", "2026-12-01").exit_code == 0 and rows(db) == []
    assert invoke("log", "search", "zeppelin").exit_code == 1
    assert invoke("log", "prune", "--older-than", "ninety").exit_code == 2
    assert invoke("log", "rm").exit_code == 2


def test_log_shows_a_conversation_only_for_conversations(db):
    with History(str(db)) as history:
        history.record(cid="conv1", prompt="a question", answer="x", meta={}, exit_status=0, model="sonar",
                       time="2026-11-02T10:00:00.000000Z")
        history.record(cid="line1", prompt="a batch line", answer="x", meta={}, exit_status=0, model="sonar", batch="b1",
                       time="2026-11-02T10:01:00.000000Z")
        for n, kind in enumerate(("search", "fetch", "embed"), 2):
            history.record(cid=f"{kind}1", prompt=f"a {kind}", answer="x", meta={}, exit_status=0, model=kind, kind=kind,
                           time=f"2026-11-02T10:0{n}:00.000000Z")
    listed = invoke("log")
    assert listed.exit_code == 0
    assert listed.stdout == ("5  2026-11-02 10:04  -      embed   -  a embed\n"
                             "4  2026-11-02 10:03  -      fetch   -  a fetch\n"
                             "3  2026-11-02 10:02  -      search  -  a search\n"
                             "2  2026-11-02 10:01  -      sonar   -  a batch line\n"
                             "1  2026-11-02 10:00  conv1  sonar   -  a question\n")
    assert [json.loads(x)["cid"] for x in invoke("log", "--json").stdout.splitlines()] == ["embed1", "fetch1", "search1", "line1", "conv1"]
    assert [x.split()[3] for x in invoke("log", "search", "a").stdout.splitlines()] == ["-", "-", "-", "-", "conv1"]


HUGE = "99999999999999999999999"  # past 64 bits: no SQLite integer holds it


def test_ids_and_counts_beyond_64_bits_are_no_traceback(db):
    def pplx(*args):
        result = subprocess.run([pplx_executable(), *args], capture_output=True, stdin=subprocess.DEVNULL, timeout=30)
        return result.returncode, result.stdout.decode(), result.stderr.decode()

    with History(str(db)) as history:
        history.record(cid="c1", prompt="kept", answer="x", meta={}, exit_status=0)
    # an id names an exchange or none: one past 64 bits names none (exit 1), as 0 does
    for args in (["log", "show", HUGE], ["log", "show", HUGE, "--json"], ["log", "rm", HUGE], ["log", "rm", "1", HUGE],
                 ["log", "rm", "--dry-run", HUGE]):
        assert pplx(*args) == (1, "", f"pplx: error: no exchange {HUGE} in the history\n"), args
    assert len(rows(db)) == 1  # nothing removed when one id is unknown
    # an id is never negative, and a count is at most 2**63 - 1: usage errors (exit 2), as -n 0 is
    for args, option, value in ((["log", "show", "--", f"-{HUGE}"], "'[ID]'", f"-{HUGE}"),
                                (["log", "show", "--", "-1"], "'[ID]'", "-1"),
                                (["log", "rm", "--", f"-{HUGE}"], "'[ID]...'", f"-{HUGE}")):
        command = " ".join(a for a in args if a in ("log", "show", "rm", "search"))
        assert pplx(*args) == (2, "", f"pplx: error: Invalid value for {option}: '{value}' is not an exchange id (digits, "
                                      f"as pplx log shows them)\nTry 'pplx {command} --help' for help.\n"), args
    for args in (["log", "-n", HUGE], ["log", "search", "kept", "-n", HUGE]):
        command = " ".join(a for a in args if a in ("log", "show", "rm", "search"))
        assert pplx(*args) == (2, "", f"pplx: error: Invalid value for '-n': {HUGE} is not in the range "
                                      f"1<=x<=9223372036854775807.\nTry 'pplx {command} --help' for help.\n"), args
    assert [x.split()[0] for x in invoke("log", "-n", str(2**63 - 1)).stdout.splitlines()] == ["1"]
    assert invoke("log", "search", "kept", "-n", str(2**63 - 1)).exit_code == 0


@pytest.mark.parametrize("args", [["log", "show", "1", "--no-meta"], ["log", "show", "2", "--no-meta"], ["log", "show", "--json"],
                                  ["log"], ["log", "search", "canberra"], ["log", "cost"], ["log", "export", "--cid", "c1"],
                                  ["log", "rm", "1", "--dry-run"]], ids=" ".join)
def test_log_to_a_full_disk_is_exit_74_and_one_line(db, args):
    with History(str(db)) as history:
        history.record(cid="c1", prompt="capital?", answer="Canberra.", meta={"usage": {"cost": {"total_cost": 0.5}}}, exit_status=0)
        history.record(cid="c2", prompt="dropped", answer="Half an ans", meta={"error": "connection lost after 3 events"},
                       exit_status=5, error="connection lost after 3 events")  # its own status (5) yields to the write error
    with open("/dev/full", "wb") as full:
        result = subprocess.run([pplx_executable(), *args], stdout=full, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=30)
    assert (result.returncode, result.stderr) == (74, b"pplx: error: cannot write to stdout: No space left on device\n")


def test_log_show_to_a_full_disk_still_gives_the_metadata(db):
    with History(str(db)) as history:
        history.record(cid="c1", prompt="capital?", answer="Canberra.", meta={"usage": {"cost": {"total_cost": 0.5}}}, exit_status=0)
    with open("/dev/full", "wb") as full:
        result = subprocess.run([pplx_executable(), "log", "show", "--meta-style", "json"], stdout=full, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, timeout=30)
    assert result.returncode == 74
    meta, error = result.stderr.decode().splitlines()
    assert json.loads(meta)["usage"]["cost"]["total_cost"] == 0.5
    assert error == "pplx: error: cannot write to stdout: No space left on device"


def test_numbers_from_the_network_are_kept_only_when_they_are_quantities(mocked, db):
    mocked.post(CHAT, json=answer("x", cost=10**400, prompt_tokens=-5, completion_tokens=3.0))
    mocked.post(CHAT, json=answer("y", cost="0.5", prompt_tokens=True, completion_tokens=2**64))
    assert invoke("ask", "q1").exit_code == 0 and invoke("ask", "q2").exit_code == 0
    assert [(r["cost"], r["prompt_tokens"], r["completion_tokens"]) for r in rows(db)] == [(None, None, 3), (None, None, None)]


def test_log_and_log_cost_show_huge_and_odd_numbers_as_numbers_or_dash(db):
    with History(str(db)) as history:
        for tokens_out in (10**30, 5):  # 10**30 is past 64 bits: not kept
            history.record(cid="c", prompt="huge", answer="x", model="big", time="2026-01-01T10:00:00.000000Z", exit_status=0,
                           meta={"usage": {"cost": {"total_cost": 1e308}, "prompt_tokens": 2**63 - 1, "completion_tokens": tokens_out}})
        history.record(cid="c", prompt="odd", answer="x", model="odd", time="2026-01-02T10:00:00.000000Z", exit_status=0, meta={})
        history.record(cid="c", prompt="fine", answer="x", model="sonar", time="2026-01-03T10:00:00.000000Z", exit_status=0,
                       meta={"usage": {"cost": {"total_cost": 0.5}, "prompt_tokens": 10, "completion_tokens": 20}})
        # what an older pplx, or a hand, may have left in the columns
        history.db.execute("UPDATE exchanges SET cost = 'lots', prompt_tokens = -5, completion_tokens = X'00' WHERE prompt = 'odd'")
    costs = invoke("log", "cost")
    assert costs.exit_code == 0
    # a day's sum past a float ($2e308) or past 64 bits (two counts of 2**63 - 1) is no number: '-'
    assert costs.stdout == ("2026-01-01  big    2   -   5        -\n"
                            "2026-01-02  odd    1   -   0  $0.0000\n"
                            "2026-01-03  sonar  1  10  20  $0.5000\n"
                            "total              4   -  25        -\n")
    by_day = [json.loads(x) for x in invoke("log", "cost", "--json").stdout.splitlines()]
    assert [(r["cost"], r["prompt_tokens"], r["completion_tokens"]) for r in by_day] == [(None, None, 5), (0.0, -5, 0), (0.5, 10, 20)]
    listed = invoke("log")
    assert listed.exit_code == 0
    lines = listed.stdout.splitlines()
    assert lines[0].endswith(" $0.5000  fine") and lines[1].endswith(" -  odd")
    assert [json.loads(x)["cost"] for x in invoke("log", "--json").stdout.splitlines()] == [0.5, "lots", 1e308, 1e308]


def test_log_fits_an_80_column_terminal_with_a_header_and_is_whole_when_piped(db):
    import pty

    from tests.conftest import read_all

    long_prompt = "a fairly long prompt about the history of the Australian capital and why Canberra was chosen"
    with History(str(db)) as history:
        history.record(cid="c1", prompt=long_prompt, answer="x", meta={}, exit_status=0, model="openai/gpt-5.1",
                       time="2026-11-02T10:00:00.000000Z")
        history.record(cid="c2", prompt="search words", answer="x", meta={"usage": {"cost": {"total_cost": 0.005, "estimated": True}}},
                       exit_status=0, model="search", kind="search", time="2026-11-02T11:00:00.000000Z")

    def on_terminal(*args):
        master, slave = pty.openpty()
        proc = subprocess.Popen([pplx_executable(), *args], stdout=slave, stderr=slave, stdin=subprocess.DEVNULL,
                                env=dict(os.environ, COLUMNS="80"))
        os.close(slave)
        shown = read_all(master).decode().replace("\r\n", "\n")
        assert proc.wait(30) == 0
        return shown.splitlines()

    listed = on_terminal("log")
    assert listed[0].split() == ["ID", "TIME", "(UTC)", "CONVERSATION", "MODEL", "COST", "PROMPT"]
    assert all(len(line) <= 80 for line in listed) and listed[2].endswith("…")
    assert listed[2] == " 1  2026-11-02 10:00  c1            openai/gpt-5.1        -  a fairly long prom…"
    costs = on_terminal("log", "cost")
    assert costs[0].split() == ["DAY", "MODEL", "EXCHANGES", "IN", "OUT", "COST"] and all(len(x) <= 80 for x in costs)
    assert costs[-1].startswith("total") and costs[-1].endswith("$0.0050  (estimate)")
    piped = invoke("log").stdout.splitlines()
    assert len(piped) == 2 and piped[1].endswith(long_prompt)  # no header, nothing cut


def on_pty(*args, columns=80):
    """pplx with stdout and stderr on a pseudo-terminal ``columns`` wide (its size, not
    $COLUMNS): (exit status, the lines it showed)."""
    import fcntl
    import pty
    import struct
    import termios

    from tests.conftest import read_all

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    proc = subprocess.Popen([pplx_executable(), *args], stdout=slave, stderr=slave, stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    shown = read_all(master).decode().replace("\r\n", "\n")
    return proc.wait(30), shown.splitlines()


def cells(line: str) -> int:
    """The columns a line takes on a terminal: East Asian wide and fullwidth two, combining none."""
    import unicodedata

    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def test_log_counts_wide_characters_as_two_columns(db):
    cjk = "量子コンピュータはどのように誤り訂正を行い、なぜそれが難しいのですか。詳しく説明してください。"
    emoji = "e\u0301clairs, 🚀 rockets and 🌏 planets " * 3  # é as e and a combining accent: one column
    with History(str(db)) as history:
        history.record(cid="c1", prompt=cjk, answer="x", meta={"usage": {"cost": {"total_cost": 0.5}}}, exit_status=0,
                       model="通义千问", time="2026-11-02T10:00:00.000000Z")
        history.record(cid="c2", prompt=emoji, answer="x", meta={}, exit_status=0, model="sonar", time="2026-11-02T10:01:00.000000Z")
        history.record(cid="c3", prompt="short 日本", answer="x", meta={}, exit_status=0, model="sonar", time="2026-11-02T10:02:00.000000Z")
    code, listed = on_pty("log")
    assert code == 0
    assert max(cells(line) for line in listed) <= 80
    # the prompt gets 80 - 55 columns: 24 and the ellipsis
    assert listed == [
        "ID  TIME (UTC)        CONVERSATION  MODEL        COST  PROMPT",
        " 3  2026-11-02 10:02  c3            sonar           -  short 日本",
        " 2  2026-11-02 10:01  c2            sonar           -  e\u0301clairs, 🚀 rockets and …",
        " 1  2026-11-02 10:00  c1            通义千问  $0.5000  量子コンピュータはどのよ…",
    ]
    code, costs = on_pty("log", "cost")
    assert code == 0 and max(cells(line) for line in costs) <= 80
    assert costs == [
        "DAY         MODEL     EXCHANGES  IN  OUT     COST",
        "2026-11-02  sonar             2   0    0  $0.0000",
        "2026-11-02  通义千问          1   0    0  $0.5000",
        "total                         3   0    0  $0.5000",
    ]
