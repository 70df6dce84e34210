"""pplx batch: many prompts in one process against the local server: order, invalid lines,
partial failure, resume from an output file, the shared pause after a 429, Ctrl-C."""

import hashlib
import json
import os
import signal
import subprocess
import time

import pytest

from tests.conftest import pplx_executable

AGENT = "/v1/responses"
ANSWER = "Canberra is the capital of Australia [1]."


def run_cli(api, *args, stdin=b"", env=None, timeout=120):
    full = dict(os.environ, PPLX_BASE_URL=api.url, **(env or {}))
    return subprocess.run([pplx_executable(), *args], input=stdin, capture_output=True, env=full, timeout=timeout)


def records(out: bytes) -> list:
    return [json.loads(line) for line in out.splitlines()]


def prompts_sent(api) -> list:
    return [r["body"]["input"] for r in api.requests if r["path"] == AGENT]


def wait_for(condition, timeout=30.0):
    """Wait until ``condition()`` holds (what a test waits on is the server's, never a guess at
    how long a loaded machine takes to start a process)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def start_batch(api, *args, lines=(), env=None):
    """The installed CLI's ``batch`` as a running subprocess, its input written and closed."""
    proc = subprocess.Popen([pplx_executable(), "batch", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=dict(os.environ, PPLX_BASE_URL=api.url, **(env or {})))
    proc.stdin.write(b"".join(f"{line}\n".encode() for line in lines))
    proc.stdin.close()
    proc.stdin = None  # written and closed: communicate() must not flush it again
    return proc


def test_records_come_in_input_order_with_ids_and_per_line_options(api, home):
    lines = ["first", json.dumps({"id": "acme", "prompt": "second", "effort": "low", "domain": "acme.com"}), "",
             json.dumps({"prompt": "third", "model": "openai/gpt-5.1", "system": "Be brief."})]
    result = run_cli(api, "batch", "-j", "3", stdin=("\n".join(lines) + "\n").encode())
    assert result.returncode == 0, result.stderr
    got = records(result.stdout)
    assert [(r["id"], r["prompt"], r["answer"], r["status"], r["error"]) for r in got] == [
        (1, "first", ANSWER, 0, None), ("acme", "second", ANSWER, 0, None), (4, "third", ANSWER, 0, None)]
    assert got[0]["meta"]["model"] == "openai/gpt-5.1" and got[0]["meta"]["usage"]["cost"]["total_cost"] > 0
    bodies = {r["body"]["input"]: r["body"] for r in api.requests}
    assert bodies["first"]["effort"] == "fast"
    assert bodies["second"]["effort"] == "low"
    assert bodies["second"]["tools"][0]["filters"]["search_domain_filter"] == ["acme.com"]
    assert (bodies["third"]["model"], bodies["third"]["instructions"]) == ("openai/gpt-5.1", "Be brief.")
    summary = result.stderr.decode().splitlines()[-1]
    assert summary.startswith("pplx: batch b-") and summary.endswith(": 3 done, 0 failed, $0.0036")
    batch_id = summary.split()[2].rstrip(":")
    logged = records(run_cli(api, "log", "--batch", batch_id, "--json").stdout)
    assert sorted(r["prompt"] for r in logged) == ["first", "second", "third"]


def test_invalid_lines_stop_everything_before_sending_unless_skipped(api, home):
    lines = ["fine", "{not json", json.dumps({"prompt": "x", "effort": "ultra max"}), json.dumps({"prompt": "y", "bogus": 1}),
             json.dumps({"id": 1, "prompt": "dup"}), json.dumps({"prompt": ""})]
    data = ("\n".join(lines) + "\n").encode()
    refused = run_cli(api, "batch", stdin=data)
    assert refused.returncode == 2 and api.requests == []
    said = refused.stderr.decode().splitlines()
    assert [line.split(": ")[2] for line in said[:-2]] == ["line 2", "line 3", "line 4", "line 5", "line 6"]
    assert said[-2:] == ["pplx: error: 5 invalid lines: nothing was sent (--skip-invalid runs the rest)",
                         "Try 'pplx batch --help' for help."]
    skipped = run_cli(api, "batch", "--skip-invalid", stdin=data)
    assert skipped.returncode == 1
    got = records(skipped.stdout)
    assert [r["status"] for r in got] == [0, 2, 2, 2, 2, 2] and prompts_sent(api) == ["fine"]
    assert got[2]["error"].startswith("effort: ") and got[3]["error"] == "unknown option 'bogus'"


def test_a_failing_line_is_its_record_and_exit_1(api, home):
    lines = ["good", json.dumps({"prompt": "bad", "option": {"bogus_field": 1}}), "good too"]
    result = run_cli(api, "batch", "-j", "2", stdin=("\n".join(lines) + "\n").encode())
    assert result.returncode == 1
    got = records(result.stdout)
    assert [r["status"] for r in got] == [0, 1, 0]
    assert got[1]["error"].startswith("HTTP 400: ") and got[1]["answer"] == "" and got[1]["meta"]["error"] == got[1]["error"]
    assert result.stderr.decode().splitlines()[-1].endswith(": 2 done, 1 failed, $0.0024")
    assert "pplx: error" not in result.stderr.decode()


def test_answers_only_and_nul(api, home):
    data = b"a\nb\nc\n"
    blank = run_cli(api, "batch", "--answers-only", stdin=data)
    assert blank.returncode == 0 and blank.stdout == f"{ANSWER}\n\n{ANSWER}\n\n{ANSWER}\n".encode()
    nul = run_cli(api, "batch", "--answers-only", "-0", stdin=data)
    assert nul.stdout == f"{ANSWER}\0{ANSWER}\0{ANSWER}\0".encode()
    assert run_cli(api, "batch", "-0", stdin=data).returncode == 2


def test_the_output_file_resumes_only_what_did_not_succeed(api, home, tmp_path):
    out = tmp_path / "done.jsonl"
    # an earlier run: line 1 succeeded, line 2 failed, line 3 was cut short by a kill
    out.write_text(json.dumps({"id": 1, "prompt": "a", "status": 0}) + "\n" + json.dumps({"id": 2, "prompt": "b", "status": 1})
                   + "\n" + '{"id": 3, "prompt": "c", "sta')
    result = run_cli(api, "batch", "--output", str(out), stdin=b"a\nb\nc\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"" and sorted(prompts_sent(api)) == ["b", "c"]
    assert result.stderr.decode().splitlines()[-1].endswith(": 2 done, 0 failed, 1 already done, $0.0024")
    again = run_cli(api, "batch", "--output", str(out), stdin=b"a\nb\nc\n")
    assert again.returncode == 0 and sorted(prompts_sent(api)) == ["b", "c"]  # nothing sent twice


def test_a_killed_run_resumes_without_resending_what_succeeded(api, home, tmp_path):
    out = tmp_path / "out.jsonl"
    prompts = [f"q{i}" for i in range(12)]
    api.latency = 0.3
    proc = subprocess.Popen([pplx_executable(), "batch", "-j", "2", "--output", str(out)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ, PPLX_BASE_URL=api.url))
    proc.stdin.write(("\n".join(prompts) + "\n").encode())
    proc.stdin.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not out.exists() or len(out.read_bytes().splitlines()) < 4):
        time.sleep(0.05)
    proc.kill()
    proc.wait(10)
    kept = out.read_bytes()  # a kill inside a write can leave a record cut short: not a success
    succeeded = {r["prompt"] for r in records(kept[:kept.rfind(b"\n") + 1]) if r["status"] == 0}
    assert len(succeeded) >= 3
    api.latency = 0
    sent_before = len(prompts_sent(api))
    result = run_cli(api, "batch", "-j", "2", "--output", str(out), stdin=("\n".join(prompts) + "\n").encode())
    assert result.returncode == 0, result.stderr
    resent = prompts_sent(api)[sent_before:]
    assert not (set(resent) & succeeded) and set(resent) | succeeded == set(prompts)
    final = {r["prompt"] for r in records(out.read_bytes()) if r["status"] == 0}
    assert final == set(prompts)


def test_ctrl_c_lets_the_requests_in_flight_finish_and_exits_130(api, home):
    api.latency = 1.0
    proc = start_batch(api, "-j", "2", lines=[f"q{i}" for i in range(10)])
    wait_for(lambda: len(prompts_sent(api)) == 2)  # two requests in flight
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    got = records(out)
    assert [r["prompt"] for r in got] == ["q0", "q1"] and all(r["status"] == 0 for r in got)
    lines = err.decode().splitlines()
    assert lines[0] == "pplx: note: stopping: no new request is sent; the 2 in flight finish (Ctrl-C again abandons them)"
    assert lines[-1].endswith(": 2 done, 0 failed, 8 not done, $0.0024")
    assert len(prompts_sent(api)) == 2


def test_a_429_pauses_every_worker_and_they_resume_paced(api, home):
    # 3 a second in fixed one-second windows: 8 workers' first requests, split across at most
    # two windows, overflow at least one of them whatever the timing; the latency keeps the
    # answers (the third says remaining 0, which pauses everyone) from coming back before a
    # slow machine has sent all eight
    api.rate_limit = 3
    api.latency = 1.0
    result = run_cli(api, "batch", "-j", "8", "--retries", "5", stdin=b"".join(f"q{i}\n".encode() for i in range(12)))
    assert result.returncode == 0, result.stderr
    assert len(records(result.stdout)) == 12
    log = api.rate_log
    first_429 = next(i for i, entry in enumerate(log) if not entry.accepted)
    resumed = next(i for i in range(first_429, len(log)) if log[i].accepted)
    # the requests already on the wire with the first 429 may get theirs; once the workers
    # resume they are paced under the limit and none is refused again
    assert all(entry.accepted for entry in log[resumed:]), log
    assert resumed - first_429 <= 8 and len(log) - resumed == 12 - first_429


# ---- --remote: Perplexity's Batch API ----


def test_the_remote_round_trip_gives_local_records_in_input_order(api, home, tmp_path):
    from tests.server import agent_error

    questions = tmp_path / "q.txt"
    questions.write_text("alpha\n" + json.dumps({"id": "b", "prompt": "beta", "effort": "low"}) + "\ngamma\n")
    api.add("/v1/batches", agent_error(503, "busy", "internal_error", headers={"Retry-After": "0"}))
    api.batch_fail_lines = {"3": (500, "upstream failed")}
    submitted = run_cli(api, "batch", "--remote", "submit", str(questions))
    assert submitted.returncode == 0, submitted.stderr
    batch_id = submitted.stdout.decode().strip()
    assert list(api.batches) == [batch_id]  # the create was retried with the same Idempotency-Key: one batch
    creates = [r for r in api.requests if r["path"] == "/v1/batches"]
    assert len(creates) == 2 and creates[0]["headers"]["Idempotency-Key"] == creates[1]["headers"]["Idempotency-Key"]
    content = api.files[creates[1]["body"]["input_file_id"]].content
    digest = hashlib.sha256(content + b'\n{"completion_window": "24h", "endpoint": "/v1/responses"}').hexdigest()
    assert creates[1]["headers"]["Idempotency-Key"] == "pplx-" + digest  # the same lines and options: the same key
    assert creates[1]["body"] == {"input_file_id": creates[1]["body"]["input_file_id"], "endpoint": "/v1/responses",
                                  "completion_window": "24h", "metadata": {"pplx_sha256": digest}}
    uploaded = api.files[creates[1]["body"]["input_file_id"]].content.decode().splitlines()
    assert [json.loads(line)["custom_id"] for line in uploaded] == ["1", "b", "3"]
    assert json.loads(uploaded[1])["body"] == {"effort": "low", "input": "beta", "stream": False, "store": True}
    early = run_cli(api, "batch", "--remote", "results", batch_id)
    assert early.returncode == 1 and b"--remote wait" in early.stderr
    waited = run_cli(api, "batch", "--remote", "wait", batch_id)
    assert waited.returncode == 0 and waited.stdout.decode() == f"{batch_id}: completed, 2/3 done, 1 failed\n"
    results = run_cli(api, "batch", "--remote", "results", batch_id)
    assert results.returncode == 1
    got = records(results.stdout)
    assert [(r["id"], r["prompt"], r["answer"], r["status"]) for r in got] == [
        (1, "alpha", ANSWER, 0), ("b", "beta", ANSWER, 0), (3, "gamma", "", 1)]
    assert got[2]["error"].startswith("HTTP 500: upstream failed")
    assert results.stderr == f"pplx: batch {batch_id}: 2 done, 1 failed\n".encode()
    again = run_cli(api, "batch", "--remote", "cancel", batch_id)
    assert again.returncode == 1 and b"cannot be cancelled" in again.stderr


def test_remote_cancel_status_and_usage(api, home, tmp_path):
    questions = tmp_path / "q.txt"
    questions.write_text("one\ntwo\n")
    api.batch_polls_per_step = None  # moves only when the test says
    batch_id = run_cli(api, "batch", "--remote", "submit", str(questions)).stdout.decode().strip()
    status = run_cli(api, "batch", "--remote", "status", batch_id)
    assert status.returncode == 0 and status.stdout.decode() == f"{batch_id}: validating, 0/0 done, 0 failed\n"
    cancelled = run_cli(api, "batch", "--remote", "cancel", batch_id)
    assert cancelled.returncode == 0 and cancelled.stdout.decode() == f"{batch_id}: cancelling\n"
    ended = run_cli(api, "batch", "--remote", "wait", batch_id)
    assert ended.returncode == 1 and ended.stderr.decode().endswith("pplx: error: the batch ended cancelled\n")
    for args in (["--remote"], ["--remote", "submit"], ["--remote", "fly", "x"], ["a", "b"]):
        assert run_cli(api, "batch", *args).returncode == 2, args
    unknown = run_cli(api, "batch", "--remote", "status", "batch_nope")
    assert unknown.returncode == 1 and unknown.stderr.startswith(b"pplx: error: no batch batch_nope on the service")


def test_unordered_writes_each_record_as_it_completes(api, home):
    from tests.server import AgentRun

    def slow_then_quick():
        slow, _ = AgentRun().render({"input": "q", "stream": False})
        slow.stall_before_headers = 1.0
        api.add(AGENT, slow, AgentRun())  # the first request to arrive is slow, the others quick

    slow_then_quick()
    result = run_cli(api, "batch", "-j", "2", "--unordered", stdin=b"q1\nq2\nq3\nq4\n")
    assert result.returncode == 0
    got = [r["id"] for r in records(result.stdout)]
    assert sorted(got) == [1, 2, 3, 4] and got[-1] in (1, 2) and got[:2] != [1, 2]  # the slow one comes last
    slow_then_quick()
    ordered = run_cli(api, "batch", "-j", "2", stdin=b"q1\nq2\nq3\nq4\n")
    assert [r["id"] for r in records(ordered.stdout)] == [1, 2, 3, 4]


def test_the_progress_line_on_a_terminal_and_the_summary_always(api, home):
    import pty

    from tests.conftest import read_all

    api.latency = 0.4
    master, slave = pty.openpty()
    proc = subprocess.Popen([pplx_executable(), "batch", "-j", "2"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=slave, env=dict(os.environ, PPLX_BASE_URL=api.url))
    os.close(slave)
    out, _ = proc.communicate(b"".join(f"q{i}\n".encode() for i in range(10)), timeout=60)
    shown = read_all(master).decode().replace("\r\n", "\n")
    assert proc.returncode == 0 and len(records(out)) == 10
    drawn = [part for part in shown.split("\r\x1b[2K") if part.strip()]
    assert any(" done · 0 failed · " in part and "/s · $" in part for part in drawn), drawn
    assert shown.rstrip("\n").endswith(": 10 done, 0 failed, $0.0119") and "\r\x1b[2Kpplx: batch b-" in shown


# ---- what a new user's trial found ----


def test_ctrl_c_while_workers_wait_on_the_limiter_sends_nothing_more(api, home):
    proc = start_batch(api, "-j", "4", "--rate", "0.5/s", lines=[f"q{i}" for i in range(20)])
    wait_for(lambda: len(prompts_sent(api)) == 1)  # one request sent, three workers waiting their turn
    time.sleep(0.3)  # its answer back (the fake answers at once)
    sent = len(prompts_sent(api))
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and len(prompts_sent(api)) == sent == len(records(out))
    assert err.decode().splitlines()[-1].endswith(f": {sent} done, 0 failed, {20 - sent} not done, ${0.00119 * sent:.4f}")


def test_whole_batch_problems_are_one_error_and_odd_values_are_line_warnings(api, home, tmp_path):
    no_key = run_cli(api, "batch", stdin=b"a\nb\nc\n", env={"PPLX_API_KEY": ""})
    assert no_key.returncode == 3 and len(no_key.stderr.splitlines()) == 1 and api.requests == []
    odd = [json.dumps({"prompt": "a", "fetch": 1}), json.dumps({"prompt": "b", "domain": {"x": 1}}),
           '{"prompt": "c", "option": ' + "[" * 5000 + "]" * 5000 + "}", json.dumps({"prompt": "d", "id": None})]
    result = run_cli(api, "batch", "--skip-invalid", stdin=("\n".join(odd) + "\n").encode())
    assert b"Traceback" not in result.stderr and result.returncode == 1
    got = records(result.stdout)
    assert [r["status"] for r in got] == [2, 2, 2, 0] and got[3]["id"] == 4
    assert all(line.startswith("pplx: warning: line ") for line in result.stderr.decode().splitlines()[:-1])


def test_a_refused_key_stops_the_batch_with_exit_3(api, home):
    from tests.server import agent_error

    api.add(AGENT, agent_error(401, "Invalid API key", "invalid_api_key"))
    result = run_cli(api, "batch", "-j", "1", stdin=b"".join(f"q{i}\n".encode() for i in range(30)))
    assert result.returncode == 3 and len(prompts_sent(api)) <= 2
    assert "the key was refused" in result.stderr.decode()


def test_a_batch_is_no_conversation_for_dash_c(api, home):
    assert run_cli(api, "ask", "solo question", "--no-meta").returncode == 0
    assert run_cli(api, "batch", stdin=b"batch one\nbatch two\n").returncode == 0
    assert run_cli(api, "ask", "-c", "and why?", "--no-meta").returncode == 0
    follow = api.requests[-1]["body"]
    assert follow.get("previous_response_id") or any("solo question" in str(m) for m in follow.get("input", []))
    assert "batch" not in json.dumps(follow)


def test_the_progress_line_is_erased_before_answers_on_the_same_terminal(api, home):
    import pty

    from tests.conftest import read_all

    api.latency = 0.5
    master, slave = pty.openpty()
    proc = subprocess.Popen([pplx_executable(), "batch", "-j", "1", "--answers-only", "-"], stdin=subprocess.PIPE,
                            stdout=slave, stderr=slave, env=dict(os.environ, PPLX_BASE_URL=api.url))
    os.close(slave)
    proc.stdin.write(b"a\nb\nc\nd\n")
    proc.stdin.close()
    shown = read_all(master).decode().replace("\r\n", "\n")
    assert proc.wait(30) == 0
    for line in shown.split("\n"):
        visible = line.rsplit("\r\x1b[2K", 1)[-1]  # what stays on the line after the last erase
        assert visible in ("", ANSWER) or visible.startswith("pplx: batch "), repr(line)


# ---- records: the key never in one; --output FILE appended one way ----


def test_no_record_carries_the_key_a_server_echoes(api, home, tmp_path):
    from tests.conftest import KEY
    from tests.server import AgentRun, agent_error

    def echoing():  # the key as the answering model and request id, then in an error message
        api.routes[AGENT] = [AgentRun(model=f"x/{KEY}", headers={"x-request-id": KEY}),
                             agent_error(400, f"the key {KEY} may not ask this"), AgentRun()]

    echoing()
    printed = run_cli(api, "batch", "-j", "1", stdin=b"a\nb\nc\n")
    out = tmp_path / "out.jsonl"
    echoing()
    kept = run_cli(api, "batch", "-j", "1", "--output", str(out), stdin=b"a\nb\nc\n")
    for result, written in ((printed, printed.stdout), (kept, out.read_bytes())):
        assert result.returncode == 1 and KEY.encode() not in written + result.stderr
        got = records(written)
        assert got[0]["meta"]["model"] == "x/[redacted]" and got[0]["meta"]["request_id"] == "[redacted]"
        assert got[1]["error"] == "HTTP 400: the key [redacted] may not ask this (invalid_request)"


def test_a_second_batch_on_the_same_output_file_stops_before_sending(api, home, tmp_path):
    out = tmp_path / "out.jsonl"
    api.latency = 0.5
    first = start_batch(api, "-j", "1", "--output", str(out), lines=["q0", "q1", "q2"])
    wait_for(lambda: len(prompts_sent(api)) == 1)
    second = run_cli(api, "batch", "--output", str(out), stdin=b"q0\nq1\nq2\n")
    assert second.returncode == 2 and second.stdout == b""
    assert second.stderr.decode() == (f"pplx: error: {out} is locked by another process (another pplx batch "
                                      "writing to it?): nothing was sent\n"
                                      "Try 'pplx batch --help' for help.\n")
    first.communicate(timeout=60)
    assert first.returncode == 0
    assert sorted(prompts_sent(api)) == ["q0", "q1", "q2"]  # each once
    assert sorted(r["prompt"] for r in records(out.read_bytes())) == ["q0", "q1", "q2"]


def test_a_cut_record_of_any_length_is_removed_before_appending(api, home, tmp_path):
    done = json.dumps({"id": 1, "prompt": "a", "status": 0}).encode() + b"\n"
    cut = b'{"id": 2, "prompt": "b", "answer": "' + b"x" * (3 << 20)  # a kill in the middle of a 3 MiB record
    out = tmp_path / "out.jsonl"
    for before, resent in ((done + cut, ["b"]), (cut, ["a", "b"])):
        out.write_bytes(before)
        sent_before = len(prompts_sent(api))
        result = run_cli(api, "batch", "-j", "1", "--output", str(out), stdin=b"a\nb\n")
        assert result.returncode == 0, result.stderr
        assert prompts_sent(api)[sent_before:] == resent
        assert sorted((r["id"], r["status"]) for r in records(out.read_bytes())) == [(1, 0), (2, 0)]


def test_an_output_file_on_a_full_disk_is_named_and_its_records_go_to_stdout(api, home):
    # answers that take a while: both workers' lines are in flight before the first record
    # fails the file (on a busy machine q0 could otherwise fail it before q1 was sent at all)
    api.latency = 0.5
    result = run_cli(api, "batch", "-j", "2", "--output", "/dev/full", stdin=b"q0\nq1\nq2\nq3\n")
    assert result.returncode == 74
    assert [r["prompt"] for r in records(result.stdout)] == ["q0", "q1"]  # what the file could not take
    said = result.stderr.decode().splitlines()
    assert said[-1] == "pplx: error: cannot write to /dev/full: No space left on device"
    assert said[-2].endswith(": 2 done, 0 failed, 2 not done, $0.0024") and "stdout" not in result.stderr.decode()
    assert sorted(prompts_sent(api)) == ["q0", "q1"]  # no line sent once the file failed


def test_a_record_the_file_size_limit_cuts_is_taken_back_whole(api, home, tmp_path):
    import sys

    def limited(size, out, lines):  # the CLI under a file size limit (RLIMIT_FSIZE) of ``size`` bytes
        wrapper = ("import os, resource, sys; n = int(sys.argv[1]); resource.setrlimit(resource.RLIMIT_FSIZE, (n, n)); "
                   "os.execv(sys.argv[2], sys.argv[2:])")
        return subprocess.run([sys.executable, "-c", wrapper, str(size), pplx_executable(), "batch", "-j", "1", "--no-log",
                               "--output", str(out)], input=lines, capture_output=True, timeout=60,
                              env=dict(os.environ, PPLX_BASE_URL=api.url))

    probe = tmp_path / "probe.jsonl"
    assert limited(1 << 20, probe, b"q0\n").returncode == 0
    size = len(probe.read_bytes())  # one record's size (each of these is within a few bytes of it)
    out = tmp_path / "out.jsonl"
    result = limited(2 * size + size // 2, out, b"q0\nq1\nq2\nq3\n")
    assert result.returncode == 74
    assert result.stderr.decode().splitlines()[-1] == f"pplx: error: cannot write to {out}: File too large"
    assert [r["prompt"] for r in records(out.read_bytes())] == ["q0", "q1"]  # whole records only
    assert [r["prompt"] for r in records(result.stdout)] == ["q2"]


def test_each_record_is_one_write_of_the_whole_line(tmp_path, monkeypatch):
    from pplx_cli.runs.records import RecordFile

    writes = []
    real = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: writes.append(bytes(data)) or real(fd, data))
    record = {"id": 1, "prompt": "p", "answer": "x" * (1 << 20), "meta": None, "status": 0, "error": None}
    with RecordFile(str(tmp_path / "out.jsonl")) as f:
        f.append(record)
        f.append(dict(record, id=2))
    assert [json.loads(w)["id"] for w in writes] == [1, 2] and all(w.endswith(b"\n") for w in writes)
    assert (tmp_path / "out.jsonl").read_bytes() == b"".join(writes)


# ---- signals: SIGTERM and SIGHUP stop a batch as Ctrl-C does ----


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_stop_sending_and_write_what_finished(api, home, tmp_path, sig, code):
    out = tmp_path / "out.jsonl"
    api.latency = 1.0
    proc = start_batch(api, "-j", "2", lines=[f"q{i}" for i in range(10)])
    wait_for(lambda: len(prompts_sent(api)) == 2)  # two requests in flight
    proc.send_signal(sig)
    stdout, err = proc.communicate(timeout=30)
    assert proc.returncode == code
    assert [(r["prompt"], r["status"]) for r in records(stdout)] == [("q0", 0), ("q1", 0)]
    lines = err.decode().splitlines()
    assert lines[0] == "pplx: note: stopping: no new request is sent; the 2 in flight finish (Ctrl-C again abandons them)"
    assert lines[-1].endswith(": 2 done, 0 failed, 8 not done, $0.0024") and "Traceback" not in err.decode()
    assert len(prompts_sent(api)) == 2
    # into --output, with workers waiting out a pause: they give up at once, what finished is kept
    api.latency = 0
    proc = start_batch(api, "-j", "4", "--rate", "0.5/s", "--output", str(out), lines=[f"r{i}" for i in range(20)])
    wait_for(lambda: out.exists() and out.read_bytes().count(b"\n") == 1)  # one answered, three waiting their turn
    sent = len(prompts_sent(api))
    started = time.monotonic()
    proc.send_signal(sig)
    stdout, err = proc.communicate(timeout=30)
    assert proc.returncode == code and time.monotonic() - started < 3  # not the 6 s the last worker would wait
    assert len(prompts_sent(api)) == sent and len(records(out.read_bytes())) == sent - 2
    assert err.decode().splitlines()[-1].endswith(f": {sent - 2} done, 0 failed, {22 - sent} not done, "
                                                  f"${0.00119 * (sent - 2):.4f}")


def test_a_second_signal_abandons_the_requests_in_flight(api, home):
    api.latency = 5.0
    proc = start_batch(api, "-j", "2", lines=[f"q{i}" for i in range(4)])
    wait_for(lambda: len(prompts_sent(api)) == 2)
    proc.send_signal(signal.SIGINT)
    first = proc.stderr.readline()  # the first signal taken: stopping, the two in flight let finish
    assert first.startswith(b"pplx: note: stopping: ")
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    stdout, err = proc.communicate(timeout=30)
    assert proc.returncode == 143 and time.monotonic() - started < 3 and stdout == b""  # not the 5 s they take
    assert (first + err).decode().splitlines()[-1].endswith(": 0 done, 0 failed, 4 not done, $0.0000")


def test_a_third_signal_ends_a_batch_stuck_writing_to_a_reader_that_stopped_reading(api, home):
    from tests.server import AgentRun

    api.add(AGENT, AgentRun(text="x" * 200_000, deltas=1))  # one record more than a pipe holds
    proc = start_batch(api, "-j", "1", lines=["q0", "q1", "q2"])  # stdout is never read
    wait_for(lambda: len(prompts_sent(api)) == 1)
    time.sleep(1.0)  # its record is being written, and blocks
    for _ in range(3):  # one at a time: a signal landing while pplx exits would be no batch's
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(3)
            break
        except subprocess.TimeoutExpired:
            continue
    assert proc.wait(10) == 130


def test_a_signal_wakes_a_worker_backing_off_before_a_retry(api, home):
    from tests.server import AgentRun, agent_error

    api.add(AGENT, agent_error(503, "busy", "internal_error", headers={"Retry-After": "20"}), AgentRun())
    proc = start_batch(api, "-j", "1", lines=["q0", "q1", "q2"])
    wait_for(lambda: len(prompts_sent(api)) == 1)  # answered 503: the worker waits 20 s before trying again
    time.sleep(0.3)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    stdout, err = proc.communicate(timeout=30)
    assert proc.returncode == 143 and time.monotonic() - started < 3 and stdout == b""
    assert err.decode().splitlines()[-1].endswith(": 0 done, 0 failed, 3 not done, $0.0000")
    assert len(prompts_sent(api)) == 1  # not sent again: a re-run sends it


# ---- numbers from the network, and the pauses they cause ----


def test_a_cost_that_is_no_usable_number_is_left_out_and_the_batch_goes_on(api, home):
    from tests.server import DEFAULT_USAGE, AgentRun

    odd = [10**400, "0.5", -1, True, None]  # too large for a float, text, negative, a bool, null
    api.add(AGENT, *[AgentRun(usage=dict(DEFAULT_USAGE, cost={"total_cost": cost})) for cost in odd], AgentRun())
    result = run_cli(api, "batch", "-j", "1", stdin=b"".join(f"q{i}\n".encode() for i in range(6)))
    assert result.returncode == 0, result.stderr
    assert [r["status"] for r in records(result.stdout)] == [0] * 6
    said = result.stderr.decode().splitlines()
    assert len(said) <= 2 and said[-1].endswith(": 6 done, 0 failed, $0.0012"), said  # the one usable cost


JUNK_HEADERS = {
    "a fractional limit": {"x-ratelimit-limit": "0.001", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "0"},
    "a limit in exponent form": {"x-ratelimit-limit": "1e-300", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "0"},
    "negative": {"x-ratelimit-limit": "-5", "x-ratelimit-remaining": "-1"},
    "huge": {"x-ratelimit-limit": "9" * 40, "x-ratelimit-remaining": "9" * 40, "x-ratelimit-reset": "9" * 40},
    "a superscript digit": {"x-ratelimit-remaining": "\xb2", "x-ratelimit-limit": "\xb9"},
    "a date for a reset": {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "Tue, 01 Jan 2030 00:00:00 GMT"},
    "text for Retry-After": {"x-ratelimit-remaining": "0", "Retry-After": "soon", "retry-after-ms": "-5",
                             "x-ratelimit-reset": "soon"},
}


@pytest.mark.parametrize("headers", list(JUNK_HEADERS.values()), ids=list(JUNK_HEADERS))
def test_rate_limit_headers_that_are_no_usable_number_change_nothing(api, home, headers):
    from tests.server import AgentRun

    api.add(AGENT, AgentRun(headers=headers), AgentRun())
    started = time.monotonic()
    result = run_cli(api, "batch", "-j", "1", stdin=b"q0\nq1\nq2\n", timeout=30)
    assert result.returncode == 0, result.stderr
    assert [r["status"] for r in records(result.stdout)] == [0, 0, 0]
    assert len(result.stderr.splitlines()) <= 2 and b"Traceback" not in result.stderr
    assert time.monotonic() - started < 15  # no pause past the one second a 0 without a usable reset gets


def test_a_long_rate_limit_pause_is_one_note_for_every_worker(api, home):
    from tests.server import AgentRun, agent_error

    slow_down = agent_error(429, "Rate limit exceeded", "request_rate_limit_exceeded", headers={"Retry-After": "4"})
    api.add(AGENT, slow_down, slow_down, slow_down, AgentRun())
    api.latency = 1.0  # the three workers' first requests are all on the wire before the first 429 comes back
    result = run_cli(api, "batch", "-j", "3", stdin=b"q0\nq1\nq2\n")
    assert result.returncode == 0, result.stderr
    assert len(records(result.stdout)) == 3
    said = result.stderr.decode().splitlines()
    assert said[:-1] == ["pplx: note: rate limited: every request waits 4s"], said
    api.latency = 0
    api.routes[AGENT] = [slow_down, AgentRun()]
    quiet = run_cli(api, "batch", "-j", "1", "-q", stdin=b"q0\n")  # -q: the pause passes unremarked
    assert quiet.returncode == 0 and len(quiet.stderr.splitlines()) == 1 and len(prompts_sent(api)) == 8


# ---- --remote: what a hostile or unlucky service sends ----


def test_remote_batch_objects_of_the_wrong_types_are_one_line(api, home):
    from tests.batch_server import StoredFile, jsonl, request_line
    from tests.server import json_reply

    bid, path = "batch_odd", "/v1/batches/batch_odd"
    api.add(path, json_reply({"id": bid, "status": "in_progress",
                              "request_counts": {"total": "3", "completed": [1], "failed": 10**400}}))
    status = run_cli(api, "batch", "--remote", "status", bid)
    assert status.returncode == 0 and status.stdout == f"{bid}: in_progress, -/- done, - failed\n".encode()
    api.add(path, json_reply({"id": ["x"], "status": "in_progress", "request_counts": {"total": 1234, "completed": 1000}}))
    assert run_cli(api, "batch", "--remote", "status", bid).stdout == f"{bid}: in_progress, 1,000/1,234 done, 0 failed\n".encode()
    for odd in ({"id": bid, "status": 5}, {"id": bid, "status": ["completed"]}, {"id": bid}):
        for action in ("status", "wait", "results"):
            api.add(path, json_reply(odd))
            result = run_cli(api, "batch", "--remote", action, bid)
            assert (result.returncode, result.stdout) == (1, b""), (odd, action)
            assert result.stderr.decode() == f"pplx: error: the service's answer for batch {bid} has no status\n"
    stored = StoredFile("in.jsonl", "batch", jsonl([request_line("1")]))
    api.files[stored.id] = stored
    for field, value in (("input_file_id", 7), ("input_file_id", None), ("output_file_id", ["f"]), ("error_file_id", {})):
        api.add(path, json_reply({"id": bid, "status": "completed", "input_file_id": stored.id, "output_file_id": None,
                                  "error_file_id": None, field: value}))
        result = run_cli(api, "batch", "--remote", "results", bid)
        assert (result.returncode, result.stdout) == (1, b""), field
        assert result.stderr.decode() == f"pplx: error: the batch's {field} is not a file id\n"


def test_remote_results_of_the_wrong_types_are_failed_records(api, home):
    from tests.batch_server import StoredFile, jsonl, request_line
    from tests.server import AgentRun, json_reply

    _, body = AgentRun().render({"input": "q"})

    def result(cid, response, error=None):
        return {"id": "batch_req_1", "custom_id": cid, "response": response, "error": error}

    inputs = StoredFile("in.jsonl", "batch", jsonl([
        request_line("1"), request_line("2"), request_line("3"), request_line("\xb2"), request_line(["x"]), "not json",
        request_line("6", "not an object"), request_line("7", {"input": [{"role": "user", "content": [
            {"type": "input_text", "text": "with a file"}, {"type": "input_file", "file_url": "https://x.example/a.pdf"}]}]})]))
    outputs = StoredFile("out.jsonl", "batch_output", jsonl([
        result("1", {"status_code": "200", "body": body}),  # a status code as text
        result("2", {"status_code": 200, "body": "hi"}),  # a body that is no object
        result("3", ["not", "an", "object"]),
        result("\xb2", {"status_code": 200, "body": body}),  # digits only to str.isdigit()
        result(5, {"status_code": 200, "body": body}),  # no usable custom_id: no line's
        result("7", {"status_code": 200, "body": body}),
        result("6", None, {"code": ["odd"], "message": 5}),
    ]))
    api.files.update({inputs.id: inputs, outputs.id: outputs})
    api.add("/v1/batches/batch_odd", json_reply({"id": "batch_odd", "status": "completed", "input_file_id": inputs.id,
                                                 "output_file_id": outputs.id, "error_file_id": None}))
    got = run_cli(api, "batch", "--remote", "results", "batch_odd")
    assert got.returncode == 1 and b"Traceback" not in got.stderr
    assert [(r["id"], r["prompt"], r["status"], r["error"]) for r in records(got.stdout)] == [
        (1, "question 1", 1, "the result's status_code is not a number"),
        (2, "question 2", 1, "the response is not a JSON object"),
        (3, "question 3", 1, "the result's response is not an object"),
        ("\xb2", "question \xb2", 0, None),
        (6, "", 1, "5"),
        (7, "with a file", 0, None)]
    assert got.stderr.decode().splitlines() == [
        "pplx: warning: 2 lines of the input file are not requests pplx can read; they have no record",
        "pplx: batch batch_odd: 2 done, 4 failed"]


def test_remote_results_stream_an_output_file_larger_than_a_body_may_be(api, home, tmp_path):
    import sys

    from tests.batch_server import StoredFile, jsonl, request_line
    from tests.server import AgentRun, json_reply

    count, size = 300, 240_000  # 72 MB of results; a whole body may be 64 MiB
    ids = [str(i) for i in range(1, count + 1)]
    _, body = AgentRun(text="x" * size, deltas=1).render({"input": "q"})
    line = json.dumps({"id": "batch_req_1", "custom_id": "ID", "response": {"status_code": 200, "body": body}, "error": None})
    inputs = StoredFile("in.jsonl", "batch", jsonl([request_line(cid) for cid in ids]))
    outputs = StoredFile("out.jsonl", "batch_output",
                         "".join(line.replace('"ID"', json.dumps(cid), 1) + "\n" for cid in reversed(ids)).encode())
    assert len(outputs.content) > 72_000_000
    api.files.update({inputs.id: inputs, outputs.id: outputs})
    api.add("/v1/batches/batch_big", json_reply({"id": "batch_big", "status": "completed", "input_file_id": inputs.id,
                                                 "output_file_id": outputs.id, "error_file_id": None}))
    written = tmp_path / "results.jsonl"
    measure = ("import resource, subprocess, sys; code = subprocess.call(sys.argv[2:], stdout=open(sys.argv[1], 'wb')); "
               "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    run = subprocess.run([sys.executable, "-c", measure, str(written), pplx_executable(), "batch", "--remote", "results",
                          "batch_big"], capture_output=True, timeout=300, env=dict(os.environ, PPLX_BASE_URL=api.url))
    code, peak_kib = map(int, run.stdout.split())
    assert code == 0 and run.stderr == b"pplx: batch batch_big: 300 done, 0 failed\n", run.stderr
    with open(written, "rb") as f:
        got = [json.loads(record) for record in f]
    assert [r["id"] for r in got] == list(range(1, count + 1))  # input order, though the file came reversed
    assert all(r["status"] == 0 and r["answer"] == "x" * size for r in got)
    assert peak_kib < 64 * 1024, peak_kib  # bounded: far less than the file, let alone its records


def test_submitting_again_after_a_lost_answer_gives_the_same_batch(api, home, tmp_path):
    questions = tmp_path / "q.txt"
    questions.write_text("alpha\nbeta\n")
    api.batch_lost_answers = 1  # the create is made; its answer never arrives
    lost = run_cli(api, "batch", "--remote", "submit", str(questions))
    assert lost.returncode == 5 and lost.stdout == b"" and len(api.batches) == 1
    [batch_id] = api.batches
    again = run_cli(api, "batch", "--remote", "submit", str(questions))
    assert again.returncode == 0, again.stderr
    assert again.stdout.decode() == f"{batch_id}\n" and list(api.batches) == [batch_id]
    assert again.stderr.decode() == f"pplx: note: these lines were submitted before, as {batch_id}: no second batch\n"
    creates = [r for r in api.requests if r["path"] == "/v1/batches" and r["body"]]
    assert len(creates) == 2 and len({r["headers"]["Idempotency-Key"] for r in creates}) == 1
    other = run_cli(api, "batch", "--remote", "submit", "--effort", "low", str(questions))  # other options: another batch
    assert other.returncode == 0 and len(api.batches) == 2 and other.stdout.decode().strip() != batch_id


# ---- attachments: sent with the lines, never dropped ----


def _parts(body) -> tuple:
    """(the prompt, the attachments' parts) of an Agent API body."""
    if isinstance(body["input"], str):
        return body["input"], []
    [message] = body["input"]
    return message["content"][0]["text"], message["content"][1:]


def test_attachments_go_with_every_line_or_a_line_its_own(api, home, tmp_path):
    import base64

    doc, own = tmp_path / "notes.txt", tmp_path / "own.pdf"
    doc.write_bytes(b"shared notes\n")
    own.write_bytes(b"%PDF-1.4 a line's own\n")
    shared = {"type": "input_file", "file_data": base64.b64encode(b"shared notes\n").decode(), "filename": "notes.txt"}
    mine = {"type": "input_file", "file_data": base64.b64encode(own.read_bytes()).decode(), "filename": "own.pdf"}
    image = {"type": "input_image", "image_url": "https://x.example/a.png"}
    lines = ["plain", json.dumps({"prompt": "its own", "attach": str(own)}),
             json.dumps({"prompt": "two", "attach": [str(own), "https://x.example/a.png"]}), json.dumps({"prompt": "none", "attach": []})]
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(lines) + "\n")
    result = run_cli(api, "batch", "-j", "1", "-a", str(doc), str(questions))
    assert result.returncode == 0, result.stderr
    assert [_parts(r["body"]) for r in api.requests if r["path"] == AGENT] == [
        ("plain", [shared]), ("its own", [mine]), ("two", [mine, image]), ("none", [])]
    assert [r["prompt"] for r in records(result.stdout)] == ["plain", "its own", "two", "none"]
    # stdin as the attachment of every line, the lines from FILE
    piped = run_cli(api, "batch", "-j", "1", "-a", "-", str(questions), stdin=b"a log\n")
    assert piped.returncode == 0, piped.stderr
    assert _parts(api.requests[-4]["body"]) == ("plain", [{"type": "input_file", "filename": "stdin",
                                                            "file_data": base64.b64encode(b"a log\n").decode()}])
    # remote: the uploaded requests carry the same parts, and results show the prompt
    submitted = run_cli(api, "batch", "--remote", "submit", "-a", str(doc), str(questions))
    assert submitted.returncode == 0, submitted.stderr
    [upload] = [f for f in api.files.values() if f.purpose == "batch"]
    assert [_parts(json.loads(line)["body"]) for line in upload.content.splitlines()] == [
        ("plain", [shared]), ("its own", [mine]), ("two", [mine, image]), ("none", [])]
    batch_id = submitted.stdout.decode().strip()
    assert run_cli(api, "batch", "--remote", "wait", batch_id).returncode == 0
    results = run_cli(api, "batch", "--remote", "results", batch_id)
    assert [(r["prompt"], r["status"]) for r in records(results.stdout)] == [
        ("plain", 0), ("its own", 0), ("two", 0), ("none", 0)]


def test_attachments_that_cannot_be_sent_stop_the_batch_before_anything_is_sent(api, home, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text("one\n" + json.dumps({"prompt": "two", "attach": str(tmp_path / "missing.pdf")}) + "\n"
                         + json.dumps({"prompt": "three", "attach": "-"}) + "\n")
    for args in (["batch", str(questions)], ["batch", "--remote", "submit", str(questions)]):
        result = run_cli(api, *args)
        assert result.returncode == 2 and result.stdout == b"", args
        said = result.stderr.decode().splitlines()
        assert said[0] == f"pplx: warning: line 2: cannot attach {tmp_path / 'missing.pdf'}: No such file or directory"
        assert said[1] == "pplx: warning: line 3: attach: '-' (stdin) is only for -a on the command line"
    stdin_taken = run_cli(api, "batch", "-a", "-", stdin=b"one\ntwo\n")
    assert stdin_taken.returncode == 2 and stdin_taken.stderr.decode() == (
        "pplx: error: '-a -' reads the attachment from stdin, which holds the prompts: give them as FILE\n"
        "Try 'pplx batch --help' for help.\n")
    missing = run_cli(api, "batch", "-a", str(tmp_path / "gone.txt"), stdin=b"one\ntwo\n")
    assert missing.returncode == 2 and missing.stderr.decode() == (
        f"pplx: error: cannot attach {tmp_path / 'gone.txt'}: No such file or directory\n"
        "Try 'pplx batch --help' for help.\n")
    chat = run_cli(api, "batch", "--api", "chat", "-a", str(questions), stdin=b"one\n")
    assert chat.returncode == 2
    assert api.requests == []
