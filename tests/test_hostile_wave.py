"""What a hostile server found in the commands of the last wave: runs, search, fetch, embed,
models, completion. The installed CLI against the local server over real sockets; each case
ends in one line, the documented exit status, the rest of the work done, and no traceback."""

import json
import os
import subprocess
import time

from tests.conftest import pplx_executable
from tests.server import DROP, AgentRun, BackgroundRun, Reply, json_reply, sse

AGENT = "/v1/responses"


def run_cli(api, *args, stdin=b"", env=None, timeout=60):
    full = dict(os.environ, PPLX_BASE_URL=api.url)
    full.update(env or {})
    return subprocess.run([pplx_executable(), *args], input=stdin, capture_output=True, env=full, timeout=timeout)


def no_traceback(result):
    assert b"Traceback" not in result.stderr and b"Error:" not in result.stderr.replace(b"pplx: error:", b""), result.stderr


# ---- polling a run ----


def test_retry_after_0_never_polls_faster_than_the_floor(api, home):
    api.add(AGENT, BackgroundRun(polls_until_done=4, retry_after="0"))
    started = time.monotonic()
    result = run_cli(api, "ask", "q", "--background", "--no-meta")
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    polls = [r for r in api.requests if r["path"].startswith(AGENT + "/")]
    assert len(polls) == 4 and elapsed >= 3 * 0.5  # three waits between four polls, each at least the floor


def test_a_run_whose_state_names_no_status_is_not_polled_forever(api, home):
    rid = "resp_nameless"
    api.add(f"{AGENT}/{rid}", json_reply({"id": rid, "output": []}, headers={"Retry-After": "0"}))
    result = run_cli(api, "jobs", "wait", rid, "--no-meta")
    assert result.returncode == 1
    assert result.stderr.decode() == (f"pplx: error: the service's answers about the run {rid} name no status "
                                      "(5 polls in a row); stopped waiting\n")
    assert len(api.requests) == 5


def test_a_status_pplx_does_not_know_is_said_once_and_polled_on(api, home):
    rid = "resp_paused"
    paused = json_reply({"id": rid, "status": "paused", "output": []}, headers={"Retry-After": "0"})
    final = AgentRun(id=rid).response({}, rid, 0, "completed",
                                      output=[{"type": "message", "content": [{"type": "output_text", "text": "Done."}]}],
                                      final=True)
    api.add(f"{AGENT}/{rid}", paused, paused, json_reply(final))
    result = run_cli(api, "jobs", "wait", rid, "--no-meta")
    assert result.returncode == 0 and result.stdout == b"Done.\n"
    assert result.stderr.decode() == (f"pplx: note: the run {rid} is 'paused', a status pplx does not know; "
                                      "still waiting for it to end\n")


def test_wrong_types_in_a_runs_state_are_no_traceback(api, home):
    rid = "resp_odd"
    for state in ({"id": ["x"], "status": ["completed"], "output": "no"}, {"id": rid, "status": {"a": 1}, "output": [1, None]}):
        api.routes.clear()
        api.requests.clear()
        api.add(f"{AGENT}/{rid}", json_reply(state, headers={"Retry-After": "0"}))
        shown = run_cli(api, "jobs", "show", rid)
        no_traceback(shown)
        assert shown.returncode == 0 and shown.stdout.decode().splitlines()[:2] == [f"id: {rid}", "status: -"]
        waited = run_cli(api, "jobs", "wait", rid, "--no-meta")
        no_traceback(waited)
        assert waited.returncode == 1 and "name no status" in waited.stderr.decode()


def test_a_stream_without_sequence_numbers_is_polled_not_replayed(api, home):
    """Resuming needs a cursor: events without sequence_number would be replayed from the
    start and the text repeated, every time the stream broke. Polled to its end instead."""
    rid = "resp_noseq"
    created = {"type": "response.created", "response": {"id": rid, "status": "in_progress", "output": []}}
    deltas = [{"type": "response.output_text.delta", "item_id": "m", "delta": word} for word in ("One ", "two ")]
    api.add(AGENT, Reply(parts=[sse(created, *deltas), DROP]))
    final = AgentRun(id=rid).response({}, rid, 0, "completed",
                                      output=[{"type": "message", "content": [{"type": "output_text", "text": "One two three."}]}],
                                      final=True)
    api.add(f"{AGENT}/{rid}", json_reply(final))
    result = run_cli(api, "stream", "q", "--background", "--no-meta", "--retries", "3")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"One two three.\n"
    assert [r["path"] for r in api.requests[1:]] == [f"{AGENT}/{rid}"]  # one poll, no stream replay
    assert result.stderr.decode() == (f"pplx: note: connection lost after 3 events that carry no sequence numbers; "
                                      f"polling the run {rid} to its end instead of resuming\n")
