"""The answer's end is the user's end: stdout is closed as soon as the answer is out, before
the history is written, and the process then leaves at once; nothing written is lost on the
way out. Real processes, real pipes, a real SQLite file held locked by the test."""

import os
import select
import signal
import sqlite3
import subprocess
import time

import pytest

from tests.conftest import pplx_executable


@pytest.fixture
def env(api, home, tmp_path):
    return dict(os.environ, PPLX_BASE_URL=api.url, PPLX_ALLOW_HTTP="1", PPLX_HISTORY=str(tmp_path / "history.db"))


def _count(path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT COUNT(*) FROM exchanges").fetchone()[0]


def _read_to_end(pipe, seconds: float) -> bytes:
    """All of ``pipe`` until its end, or fail after ``seconds``."""
    got, deadline = b"", time.monotonic() + seconds
    while True:
        ready, _, _ = select.select([pipe], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            pytest.fail(f"stdout did not end within {seconds}s; read so far: {got!r}")
        chunk = os.read(pipe.fileno(), 65536)
        if not chunk:
            return got
        got += chunk


@pytest.fixture
def locked(env):
    """The history, created by one answer, then held by a write transaction of the test's
    (so pplx's next record waits for it); yields (path, release)."""
    first = subprocess.run([pplx_executable(), "ask", "first", "--no-meta"], env=env, capture_output=True, timeout=30)
    assert first.returncode == 0, first.stderr
    db = sqlite3.connect(env["PPLX_HISTORY"], isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    yield env["PPLX_HISTORY"], lambda: db.execute("COMMIT")
    db.close()


@pytest.mark.parametrize("command", ["ask", "stream"])
def test_stdout_ends_before_the_history_is_written(env, locked, command):
    path, release = locked
    proc = subprocess.Popen([pplx_executable(), command, "q", "--no-meta"], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        answer = _read_to_end(proc.stdout, 20)
        assert answer.strip(), "the answer arrived"
        time.sleep(0.2)
        assert proc.poll() is None, "pplx is still waiting to write the history"
        assert _count(path) == 1
    finally:
        release()
    assert proc.wait(timeout=30) == 0
    assert proc.stderr.read() == b""
    assert _count(path) == 2  # the record was not lost by leaving early


def test_a_history_error_is_still_said_after_stdout_closed(env, tmp_path):
    """The record that cannot be written is one warning on stderr, written before the process
    leaves, though stdout was let go of before it."""
    (tmp_path / "file").write_text("not a directory")
    env = dict(env, PPLX_HISTORY=str(tmp_path / "file" / "history.db"))
    done = subprocess.run(f"{pplx_executable()} ask q --no-meta | cat", shell=True, env=env, capture_output=True,
                          timeout=30)
    assert done.returncode == 0
    assert done.stdout.strip()
    assert done.stderr.decode().startswith("pplx: warning: history not recorded: ")
    assert done.stderr.count(b"\n") == 1


def test_help_and_errors_are_complete_when_the_process_leaves_early(home):
    """os._exit skips the interpreter's flushing: every byte written must be out before it."""
    helped = subprocess.run([pplx_executable(), "--help"], capture_output=True, timeout=30)
    assert helped.returncode == 0 and helped.stdout.rstrip().endswith(b"Show a command's manual page, or pplx(1) without COMMAND.")
    piped = subprocess.run(f"{pplx_executable()} --help | cat", shell=True, capture_output=True, timeout=30)
    assert piped.stdout == helped.stdout
    wrong = subprocess.run([pplx_executable(), "ask", "--effort", "no pe", "q"], capture_output=True, timeout=30)
    assert wrong.returncode == 2
    assert wrong.stderr.decode().splitlines()[-1] == "Try 'pplx ask --help' for help."


def test_a_worker_still_running_gets_the_ordinary_exit():
    """The early exit is taken only when no thread but the main one has work left."""
    import threading

    from pplx_cli import cli

    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    worker.start()
    try:
        with pytest.raises(SystemExit) as left:
            cli._leave(3)
        assert left.value.code == 3
    finally:
        stop.set()
        worker.join()
