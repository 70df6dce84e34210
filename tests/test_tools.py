"""The Agent API's other tools, end to end through the installed pplx and the local server
(tests/tools_server.py): the request each option sends, what comes back shown as reasoning
is, the sources, images and files listed, the metadata, and what cannot work refused before
anything is sent. Downloads are tests/test_files.py's."""

import sqlite3

from tests.test_agent import AGENT, run_cli


def body(api):
    """The last Agent API request's body."""
    return [r for r in api.requests if r["path"] == AGENT][-1]["body"]


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


def test_another_effort_name_is_sent_with_one_note_and_the_service_judges(api, home):
    result = run_cli(api, "ask", "q", "--effort", "wide-research@2026-11-01", "--no-meta")
    assert body(api)["effort"] == "wide-research@2026-11-01"
    assert result.returncode == 1  # the local server knows only the five documented levels
    assert errors(result) == [
        "pplx: note: effort 'wide-research@2026-11-01' is not one of the documented levels (fast, low, medium, high, "
        "xhigh): sent as given; the service says if it does not know it",
        'pplx: error: HTTP 400: validation failed: effort "wide-research@2026-11-01" is not supported (invalid_request)']
    assert errors(run_cli(api, "ask", "q", "--effort", "wide-research", "-q", "--no-meta"))[:1] == [
        'pplx: error: HTTP 400: validation failed: effort "wide-research" is not supported (invalid_request)']
    known = run_cli(api, "ask", "q", "--effort", "xhigh@2026-10-16.0", "--no-meta")
    assert known.returncode == 0 and known.stderr == b""
