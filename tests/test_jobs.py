"""Research that survives: background runs resumed across lost connections, detached and
picked up with pplx jobs, cancelled. The installed CLI against the local server's
background runs (tests/server.py BackgroundRun)."""

import json
import os
import re
import signal
import subprocess

from tests.conftest import pplx_executable
from tests.server import AgentRun, BackgroundRun, FakeAPI

AGENT = "/v1/responses"
LONG = " ".join(f"w{i}" for i in range(500))  # 500 deltas, one per word


def run_cli(api, *args, timeout=60, env=None):
    full = dict(os.environ, PPLX_BASE_URL=api.url)
    full.update(env or {})
    return subprocess.run([pplx_executable(), *args], capture_output=True, stdin=subprocess.DEVNULL, env=full, timeout=timeout)


def test_a_research_stream_cut_three_times_prints_the_answer_once(api, home):
    api.add(AGENT, BackgroundRun(run=AgentRun(text=LONG, searches=[]), drops=[100, 250, 400]))
    result = run_cli(api, "stream", "q", "--effort", "high", "--no-meta", "--retries", "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (LONG + "\n").encode()
    body = api.requests[0]["body"]
    assert (body["background"], body["store"], body["stream"], body["effort"]) == (True, True, True, "high")
    [rid] = api.runs
    assert [r["path"] for r in api.requests[1:]] == [f"{AGENT}/{rid}?stream=true&starting_after={n}" for n in (99, 249, 399)]
    resumes = [line for line in result.stderr.decode().splitlines() if "resuming" in line]
    assert len(resumes) == 3 and resumes[0].startswith("pplx: note: connection lost after 100 events; resuming run ")


def test_an_expired_cursor_falls_back_to_polling_the_run_to_its_end(api, home):
    api.add(AGENT, BackgroundRun(run=AgentRun(text=LONG, searches=[]), drops=[100], cursor_expires=10**9))
    result = run_cli(api, "stream", "q", "--background", "--no-meta", "--retries", "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (LONG + "\n").encode()
    assert "polling it to its end" in result.stderr.decode()
    [rid] = api.runs
    assert api.paths()[-1] == f"{AGENT}/{rid}"


def test_a_detached_run_is_picked_up_with_the_same_stdout_as_ask(api, home):
    plain = run_cli(api, "ask", "q", "--no-meta", "--sources")
    api.add(AGENT, BackgroundRun(polls_until_done=2, retry_after="0"))
    submitted = run_cli(api, "ask", "--background", "--detach", "q")
    assert submitted.returncode == 0 and submitted.stderr == b""
    rid = submitted.stdout.decode().strip()
    assert re.fullmatch(r"resp_\S+", rid) and submitted.stdout == (rid + "\n").encode()
    assert api.requests[-1]["body"]["background"] is True and api.requests[-1]["body"]["stream"] is False
    listed = run_cli(api, "jobs").stdout.decode().splitlines()
    assert listed[0].startswith(f"{rid}  ") and "queued" in listed[0] and listed[0].endswith("  q")
    waited = run_cli(api, "jobs", "wait", rid, "--no-meta", "--sources")
    assert waited.returncode == 0, waited.stderr
    assert waited.stdout == plain.stdout
    record = json.loads(run_cli(api, "log", "--json", "-n", "1").stdout)
    assert (record["prompt"], record["answer"], record["exit_status"]) == ("q", "Canberra is the capital of Australia [1].", 0)
    assert json.loads(run_cli(api, "jobs", "--json").stdout.decode().splitlines()[0])["status"] == "completed"


def test_ctrl_c_detaches_and_jobs_wait_gets_the_whole_answer(api, home):
    api.add(AGENT, BackgroundRun(run=AgentRun(text=LONG, searches=[]), duration=3.0))
    proc = subprocess.Popen([pplx_executable(), "stream", "q", "--effort", "medium", "--no-meta"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=dict(os.environ, PPLX_BASE_URL=api.url))
    assert proc.stdout.read(3) == b"w0 "
    proc.send_signal(signal.SIGINT)
    assert proc.wait(10) == 130
    [rid] = api.runs
    err = proc.stderr.read().decode()
    assert (f"pplx: note: the run {rid} continues on Perplexity's side: 'pplx jobs wait {rid}' picks it up, "
            f"'pplx jobs cancel {rid}' stops it") in err
    waited = run_cli(api, "jobs", "wait", "--no-meta")  # no id: the newest unfinished run
    assert waited.returncode == 0, waited.stderr
    assert waited.stdout == (LONG + "\n").encode()


def test_jobs_cancel_cancels_and_show_reports(api, home):
    api.add(AGENT, BackgroundRun(duration=None))  # moves only when advanced: still running
    rid = run_cli(api, "ask", "--background", "--detach", "q").stdout.decode().strip()
    shown = run_cli(api, "jobs", "show", rid)
    assert shown.returncode == 0
    lines = shown.stdout.decode().splitlines()
    assert lines[0] == f"id: {rid}" and lines[1] in ("status: queued", "status: in_progress") and lines[3] == "searches: 0"
    cancelled = run_cli(api, "jobs", "cancel", rid)
    assert cancelled.returncode == 0 and cancelled.stdout == f"{rid}: cancelling\n".encode()
    assert api.runs[rid].status() == "cancelled"
    assert json.loads(run_cli(api, "jobs", "show", rid, "--json").stdout)["status"] == "cancelled"
    again = run_cli(api, "jobs", "cancel", rid)
    assert again.returncode == 1
    assert again.stderr.decode().startswith(f"pplx: error: the run {rid} cannot be cancelled: it has ended, or the service does not know it (")
    waited = run_cli(api, "jobs", "wait", rid, "--no-meta")
    assert waited.returncode == 1 and "response cancelled" in waited.stderr.decode()


def test_background_needs_store_and_detach_needs_background(api, home):
    refused = run_cli(api, "ask", "q", "--background", "--no-store")
    assert refused.returncode == 2 and b"cannot be --no-store" in refused.stderr
    detach = run_cli(api, "ask", "q", "--detach")
    assert detach.returncode == 2 and b"--detach needs --background" in detach.stderr
    chat = run_cli(api, "ask", "q", "--api", "chat", "--background")
    assert chat.returncode == 2 and chat.stderr == (b"pplx: error: --background needs the Agent API (--api agent): chat "
                                                    b"completions keep no runs\nTry 'pplx ask --help' for help.\n")
    nothing = run_cli(api, "jobs", "wait")
    assert nothing.returncode == 1 and nothing.stderr == b"pplx: error: no unfinished background run to wait for (see pplx jobs)\n"
    assert api.requests == []


def test_a_quick_effort_streams_in_the_foreground(api, home):
    assert run_cli(api, "stream", "q", "--no-meta").returncode == 0
    assert "background" not in api.requests[0]["body"] and api.runs == {}


# ---- the progress line: on a terminal's stderr only, erased before anything else ----

ERASE = "\r\x1b[2K"


def test_the_progress_line_shows_the_phase_on_a_terminal_and_is_gone_before_the_answer(api, home):
    from tests.test_hostile import run_in_pty

    api.add(AGENT, AgentRun(delay=0.4))  # ~3 s of searching before the first text delta
    code, out, shown = run_in_pty(["stream", "q", "--meta-style", "json"], dict(os.environ, PPLX_BASE_URL=api.url))
    assert code == 0 and out == b"Canberra is the capital of Australia [1].\n"
    status, meta = shown.rsplit(ERASE, 1)  # the last erase comes before the metadata, which is whole
    assert json.loads(meta)["model"] == "openai/gpt-5.1"
    drawn = [part for part in status.split(ERASE) if part]
    assert drawn and all(re.fullmatch(r"\d+s · .+", part) for part in drawn), drawn
    assert any('searching for "capital of Australia"' in part for part in drawn), drawn


def test_the_progress_line_never_reaches_a_pipe_or_a_quiet_terminal(api, home):
    from tests.test_hostile import run_in_pty

    api.add(AGENT, AgentRun(delay=0.1))  # some 1.5 s: longer than the line waits to show itself
    piped = run_cli(api, "stream", "q", "--meta-style", "json")
    assert piped.returncode == 0 and b"\x1b" not in piped.stderr and b"searching" not in piped.stderr
    json.loads(piped.stderr)
    code, _, shown = run_in_pty(["stream", "q", "-q", "--meta-style", "json"], dict(os.environ, PPLX_BASE_URL=api.url))
    assert code == 0 and "\x1b" not in shown and json.loads(shown)["model"] == "openai/gpt-5.1"


def test_ask_shows_the_line_while_it_waits_and_a_quick_answer_shows_none(api, home):
    from tests.test_hostile import run_in_pty

    env = dict(os.environ, PPLX_BASE_URL=api.url)
    code, _, quick = run_in_pty(["ask", "q"], env)
    assert code == 0 and ERASE not in quick
    api.add(AGENT, BackgroundRun(polls_until_done=3, retry_after="1"))
    code, out, shown = run_in_pty(["ask", "--background", "q"], env)
    assert code == 0 and out == b"Canberra is the capital of Australia [1].\n"
    drawn = [part for part in shown.rsplit(ERASE, 1)[0].split(ERASE) if part]
    assert drawn and all(re.fullmatch(r"\d+s · .+", part) for part in drawn), drawn
    assert shown.rsplit(ERASE, 1)[1].startswith("pplx: openai/gpt-5.1 · ")


def test_chat_deep_research_progress_chunks_feed_the_line(api, home):
    from tests.server import Reply, sse
    from tests.test_hostile import run_in_pty

    progress = [sse({"id": "c", "model": "sonar-deep-research", "object": "chat.completion.chunk", "search_results": []})] * 4
    answer = sse({"id": "c", "model": "sonar-deep-research", "object": "chat.completion.chunk",
                  "choices": [{"index": 0, "delta": {"content": "Done."}, "finish_reason": "stop"}]})
    api.add("/chat/completions", Reply(parts=progress + [answer], delay=0.5))
    code, out, shown = run_in_pty(["stream", "--api", "chat", "-m", "sonar-deep-research", "q", "--no-meta"],
                                  dict(os.environ, PPLX_BASE_URL=api.url))
    assert code == 0 and out == b"Done.\n"
    assert "s · researching" in shown and shown.endswith(ERASE)


# ---- what a new user's trial found ----


def test_resumes_that_bring_nothing_new_are_bounded_by_retries_then_the_run_is_polled(api, home):
    from tests.server import Reply, json_reply

    rid = "resp_fixed"
    api.add(AGENT, BackgroundRun(run=AgentRun(text=LONG, searches=[], id=rid), drops=[100]))
    path = f"{AGENT}/{rid}"
    empty = Reply(parts=[b""], headers={"Content-Type": "text/event-stream"})
    # the poll after the two fruitless resumes gets the run's final state, made when it is asked for
    api.add(path, empty, Reply(parts=[b""], headers={"Content-Type": "text/event-stream"}),
            lambda: json_reply(api.runs[rid].final))
    result = run_cli(api, "stream", "q", "--effort", "high", "--no-meta", "--retries", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (LONG + "\n").encode()
    gets = [r["path"] for r in api.requests if r["path"].startswith(path)]
    assert gets == [f"{path}?stream=true&starting_after=99"] * 2 + [path]
    notes = result.stderr.decode().splitlines()
    assert [n.endswith(("(1/2)", "(2/2)")) for n in notes if "resuming" in n] == [True, True]


def test_no_store_streams_a_long_effort_in_the_foreground_and_raw_never_backgrounds(api, home):
    plain = run_cli(api, "stream", "q", "--effort", "high", "--no-store", "--no-meta")
    assert plain.returncode == 0, plain.stderr
    assert "background" not in api.requests[-1]["body"] and api.requests[-1]["body"]["store"] is False
    assert run_cli(api, "raw", "q", "--effort", "high").returncode == 0
    assert "background" not in api.requests[-1]["body"] and api.runs == {}
    refused = run_cli(api, "stream", "q", "--raw", "--background")
    assert refused.returncode == 2 and b"--background resumes and polls the run" in refused.stderr


def test_waiting_again_prints_the_answer_but_counts_the_run_once(api, home):
    api.add(AGENT, BackgroundRun(polls_until_done=1, retry_after="0", run=AgentRun(text=LONG, searches=[])))
    rid = run_cli(api, "ask", "--background", "--detach", "q").stdout.decode().strip()
    proc = subprocess.Popen(f"'{pplx_executable()}' jobs wait {rid} --no-meta | head -c 10", shell=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=dict(os.environ, PPLX_BASE_URL=api.url))
    out, _ = proc.communicate(timeout=60)
    assert out == b"w0 w1 w2 w"
    listed = json.loads(run_cli(api, "jobs", "--json").stdout.decode().splitlines()[0])
    assert listed["status"] == "completed" and listed["exchange_id"]
    again = run_cli(api, "jobs", "wait", rid, "--no-meta")
    assert again.returncode == 0 and again.stdout == (LONG + "\n").encode()
    assert len(run_cli(api, "log", "--json").stdout.splitlines()) == 1
    nothing = run_cli(api, "jobs", "wait")
    assert nothing.returncode == 1 and b"no unfinished background run" in nothing.stderr


def test_unknown_runs_are_named_as_such(api, home):
    waited = run_cli(api, "jobs", "wait", "resp_nonexistent")
    assert waited.returncode == 1
    assert waited.stderr.decode().startswith("pplx: error: no run resp_nonexistent on the service (")
    cancelled = run_cli(api, "jobs", "cancel", "resp_nonexistent")  # the service answers 400 for ended and unknown runs alike
    assert cancelled.returncode == 1 and cancelled.stderr.decode().startswith(
        "pplx: error: the run resp_nonexistent cannot be cancelled: it has ended, or the service does not know it (")


def test_a_retry_line_erases_the_progress_line_first(api, home):
    from tests.server import Reply, agent_error
    from tests.test_hostile import run_in_pty

    slow = agent_error(503, "overloaded", "internal_error", headers={"Retry-After": "0"})
    slow.stall_before_headers = 1.6
    api.add(AGENT, slow, AgentRun())
    code, out, shown = run_in_pty(["ask", "q", "--meta-style", "json"], dict(os.environ, PPLX_BASE_URL=api.url))
    assert code == 0 and out == b"Canberra is the capital of Australia [1].\n"
    before, retry = shown.split("pplx: retrying", 1)
    assert "s · waiting for the answer" in before and before.endswith(ERASE)


def test_jobs_use_todays_connection_and_refuse_a_run_started_elsewhere(api, home):
    """Today's key goes where today's settings say: a run started on another base URL is
    refused (naming both) unless --base-url names it."""
    rid = run_cli(api, "ask", "--background", "--detach", "q").stdout.decode().strip()
    with FakeAPI() as other:
        moved = run_cli(api, "jobs", "show", rid, env={"PPLX_BASE_URL": other.url})
        assert moved.returncode == 2 and other.requests == []
        assert moved.stderr.decode().splitlines() == [
            f"pplx: error: the run {rid} was started on {api.url}, and pplx now talks to {other.url}; to send the key "
            f"there, give --base-url {api.url}", "Try 'pplx jobs show --help' for help."]
        for command in (["wait", rid, "--no-meta"], ["cancel", rid]):
            assert run_cli(api, "jobs", *command, env={"PPLX_BASE_URL": other.url}).returncode == 2
        assert other.requests == []
    explicit = run_cli(api, "jobs", "show", rid, "--base-url", api.url, env={"PPLX_BASE_URL": "http://127.0.0.1:9"})
    assert explicit.returncode == 0 and explicit.stdout.decode().startswith(f"id: {rid}\n")
