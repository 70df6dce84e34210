"""pplx batch and the history: one connection for the whole batch, opened once, closed at the
end, and still every line recorded (redacted) before its record is handed on."""

import json
import os
import signal
import sqlite3
import subprocess

from click.testing import CliRunner

from pplx_cli.cli import cli
from pplx_cli.store import history as history_module
from tests.conftest import KEY, pplx_executable
from tests.server import AgentRun

AGENT = "/v1/responses"


def rows(path) -> list:
    conn = sqlite3.connect(path)
    try:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM exchanges ORDER BY id")]
    finally:
        conn.close()


def test_a_batch_opens_the_history_once_closes_it_and_records_every_line(api, home, tmp_path, monkeypatch):
    path = tmp_path / "history.db"
    monkeypatch.setenv("PPLX_HISTORY", str(path))
    monkeypatch.setenv("PPLX_BASE_URL", api.url)
    opened, connects = [], []
    real_init, real_connect = history_module.History.__init__, sqlite3.connect

    def counting_init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        opened.append(self)

    def counting_connect(*args, **kwargs):
        connects.append(args[0])
        return real_connect(*args, **kwargs)

    monkeypatch.setattr(history_module.History, "__init__", counting_init)
    monkeypatch.setattr(sqlite3, "connect", counting_connect)
    api.routes[AGENT] = [AgentRun(model=f"x/{KEY}")] + [AgentRun() for _ in range(39)]  # the first echoes the key
    prompts = [f"question {i}" for i in range(40)]
    result = CliRunner().invoke(cli, ["batch", "-j", "8"], input="".join(p + "\n" for p in prompts), prog_name="pplx")
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line)["status"] for line in result.stdout.splitlines()] == [0] * 40
    assert len(opened) == 1 and connects == [str(path)]
    assert opened[0].db.__class__ is sqlite3.Connection
    try:
        opened[0].db.execute("SELECT 1")
        raise AssertionError("the batch's history is still open")
    except sqlite3.ProgrammingError:  # closed at the end
        pass
    monkeypatch.undo()
    assert not os.path.exists(f"{path}-wal")  # the last connection closed: its log checkpointed and gone
    recorded = rows(path)
    assert sorted(r["prompt"] for r in recorded) == sorted(prompts)
    assert len({r["batch"] for r in recorded}) == 1 and recorded[0]["batch"].startswith("b-")
    assert all(r["exit_status"] == 0 and r["answer"] for r in recorded)
    assert KEY.encode() not in path.read_bytes()
    assert any(r["model"] == "x/[redacted]" for r in recorded)


def test_each_line_is_in_the_history_before_its_record_is_handed_on(api, home, tmp_path):
    path = tmp_path / "history.db"
    api.latency = 0.3
    proc = subprocess.Popen([pplx_executable(), "batch", "-j", "1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=dict(os.environ, PPLX_BASE_URL=api.url, PPLX_HISTORY=str(path)))
    proc.stdin.write(b"".join(f"q{i}\n".encode() for i in range(20)))
    proc.stdin.close()
    handed_on = [json.loads(proc.stdout.readline())["prompt"] for _ in range(3)]
    proc.send_signal(signal.SIGKILL)  # no close, no checkpoint: what was committed is all there is
    proc.wait(10)
    proc.stdout.close()
    proc.stderr.close()
    assert handed_on == ["q0", "q1", "q2"]
    assert [r["prompt"] for r in rows(path)][:3] == handed_on


def test_a_history_that_cannot_be_opened_is_said_once_and_the_batch_runs(api, home, tmp_path):
    path = tmp_path / "history.db"
    path.write_bytes(b"this is not a database" * 100)
    result = subprocess.run([pplx_executable(), "batch", "-j", "4"], input=b"a\nb\nc\nd\ne\n", capture_output=True,
                            env=dict(os.environ, PPLX_BASE_URL=api.url, PPLX_HISTORY=str(path)), timeout=60)
    assert result.returncode == 0
    assert [json.loads(line)["status"] for line in result.stdout.splitlines()] == [0] * 5
    said = result.stderr.decode().splitlines()
    assert said[:-1] == [f"pplx: warning: history not recorded: file is not a database ({path})"]
    assert said[-1].endswith(": 5 done, 0 failed, $0.0060")
    assert path.read_bytes() == b"this is not a database" * 100


def test_no_log_opens_no_history(api, home, tmp_path):
    path = tmp_path / "history.db"
    result = subprocess.run([pplx_executable(), "batch", "--no-log"], input=b"a\nb\n", capture_output=True,
                            env=dict(os.environ, PPLX_BASE_URL=api.url, PPLX_HISTORY=str(path)), timeout=60)
    assert result.returncode == 0 and len(result.stdout.splitlines()) == 2
    assert not path.exists()
