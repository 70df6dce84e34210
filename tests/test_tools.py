"""The Agent API's other tools, end to end through the installed pplx and the local server
(tests/tools_server.py): the request each option sends, what comes back shown as reasoning
is, the sources, images and files listed, the metadata, and what cannot work refused before
anything is sent. Downloads are tests/test_files.py's."""

import sqlite3

from tests.test_agent import AGENT, run_cli


def errors(result) -> list:
    return [line for line in result.stderr.decode().splitlines() if line.startswith("pplx:")]


def test_402_is_one_line_naming_pplx_models(api, home):
    result = run_cli(api, "ask", "-m", "anthropic/claude-opus-5", "--max-tokens", "100", "q")
    assert result.returncode == 1
    assert errors(result) == [
        "pplx: error: HTTP 402: model anthropic/claude-opus-5 is not available for your usage tier (insufficient_tier): "
        "the account's usage tier cannot use this model; 'pplx models' lists the models"]
    assert [r["path"] for r in api.requests] == [AGENT]  # never retried
    with sqlite3.connect(home / ".local/share/pplx/history.db") as db:
        assert db.execute("SELECT exit_status FROM exchanges").fetchall() == [(1,)]
