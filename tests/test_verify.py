"""pplx verify (and --verify): an answer's claims checked against the pages they cite, the
installed CLI against the local server (the Agent API, the Context API's highlights, the
judge's structured output), as a user runs it."""

import json
import os
import re
import signal
import sqlite3
import subprocess
import time

import pytest

from tests.conftest import pplx_executable
from tests.server import AgentRun, agent_error

#: An answer whose four claims meet a page that supports, contradicts, omits and fails them.
TEXT = ("The Eiffel Tower is 330 metres tall [1]. Paris had 2.1 million residents in 2023 [2]. "
        "The tower was painted gold in 1999 [3]. It opened in March 1889 [4].\n\nNobody disputes this. Or that.")
RESULTS = [
    {"id": 1, "url": "https://a.example/tower", "title": "The tower", "snippet": "s"},
    {"id": 2, "url": "https://b.example/paris", "title": "Paris in numbers", "snippet": "s"},
    {"id": 3, "url": "https://c.example/colour", "title": "Colours", "snippet": "s"},
    {"id": 4, "url": "https://fail.example/opening", "title": "Opening", "snippet": "s"},
]
PAGES = {
    "https://a.example/tower": {"markdown": "# The tower\n\nThe Eiffel Tower is 330 metres tall since 2022.\n\nIt is in Paris."},
    "https://b.example/paris": {"markdown": "Paris had 21 million residents in 2023 according to nobody."},
    "https://c.example/colour": {"markdown": "Tickets are sold at the tower gate."},
}
REPORT = (
    "1. The Eiffel Tower is 330 metres tall.\n"
    "   [1] found · The tower (a.example)\n"
    "       “The Eiffel Tower is 330 metres tall since 2022.”\n"
    "2. Paris had 2.1 million residents in 2023.\n"
    "   [2] weak · Paris in numbers (b.example) · missing: 2.1\n"
    "       “Paris had 21 million residents in 2023 according to nobody.”\n"
    "3. The tower was painted gold in 1999.\n"
    "   [3] not found · Colours (c.example) · missing: 1999, painted, gold\n"
    "       “Tickets are sold at the tower gate.”\n"
    "4. It opened in March 1889.\n"
    "   [4] unreachable · Opening (fail.example) · fetch_failed: the page could not be fetched\n"
)
SUMMARY = "4 claims · 1 found · 1 weak · 1 not found · 1 unreachable\n"


def run_cli(api, *args, stdin=b"", env=None, timeout=60):
    full = dict(os.environ, PPLX_BASE_URL=api.url, **(env or {}))
    return subprocess.run([pplx_executable(), *args], input=stdin, capture_output=True, env=full, timeout=timeout)


def posted(api, path):
    return [r["body"] for r in api.requests if r["path"] == path]


def answered(api, text=TEXT, results=RESULTS, pages=PAGES, *args):
    """Record an answer in the history with ``pplx ask``; the server then serves ``pages``."""
    api.ratelimit["limit"] = 1_000_000  # no pause for x-ratelimit-remaining: 0 however many requests a test makes
    api.context_pages = pages
    api.add("/v1/responses", AgentRun(text=text, searches=[{"queries": ["q"], "results": results}] if results else []))
    result = run_cli(api, "ask", "q", "--no-meta", *args)
    assert result.returncode == 0, result.stderr
    api.routes.pop("/v1/responses")  # what comes next (a judge) gets the server's own answer
    return result


def history(home):
    db = sqlite3.connect(home / ".local/share/pplx/history.db")
    db.row_factory = sqlite3.Row
    return db


# ---- the verdicts ----


def test_pages_that_support_contradict_omit_and_fail_a_claim_give_each_verdict(api, home):
    answered(api)
    result = run_cli(api, "verify")
    assert result.returncode == 1  # a claim not found: a linter's convention
    assert result.stdout.decode() == REPORT + "2 of 6 sentences cite nothing (--uncited lists them)\n" + SUMMARY
    assert result.stderr == b""
    bodies = posted(api, "/v1/context")
    assert sorted(bodies, key=lambda b: b["urls"]) == [  # one request per claim, the claim its highlights query
        {"urls": ["https://a.example/tower"], "formats": ["highlights"],
         "highlights": {"query": "The Eiffel Tower is 330 metres tall."}},
        {"urls": ["https://b.example/paris"], "formats": ["highlights"],
         "highlights": {"query": "Paris had 2.1 million residents in 2023."}},
        {"urls": ["https://c.example/colour"], "formats": ["highlights"],
         "highlights": {"query": "The tower was painted gold in 1999."}},
        {"urls": ["https://fail.example/opening"], "formats": ["highlights"], "highlights": {"query": "It opened in March 1889."}},
    ]


def test_json_lines_one_record_per_claim_and_source_and_the_uncited(api, home):
    answered(api)
    result = run_cli(api, "verify", "--json", "--uncited")
    assert result.returncode == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[0] == {
        "claim": "The Eiffel Tower is 330 metres tall.", "position": {"n": 1, "start": 0, "end": 40}, "kind": "sentence",
        "label": "1", "url": "https://a.example/tower", "title": "The tower", "status": "ok", "verdict": "found",
        "score": 1.0, "excerpt": "The Eiffel Tower is 330 metres tall since 2022.", "reason": None}
    assert TEXT[0:40] == "The Eiffel Tower is 330 metres tall [1]."  # the claim as written
    assert [(r["label"], r["verdict"], r["score"], r["status"]) for r in records] == [
        ("1", "found", 1.0, "ok"), ("2", "weak", 0.8, "ok"), ("3", "not found", 0.25, "ok"),
        ("4", "unreachable", None, "fetch_failed"), (None, "uncited", None, None), (None, "uncited", None, None)]
    assert records[1]["reason"] == "missing: 2.1" and records[3]["excerpt"] is None
    assert [r["claim"] for r in records[4:]] == ["Nobody disputes this.", "Or that."]
    assert result.stderr == ("pplx: " + SUMMARY).encode()


def test_numbers_must_match_exactly(api, home):
    answered(api, "Growth was 3.2% in 2019 [1].", RESULTS[:1],
              {"https://a.example/tower": {"markdown": "Growth was 32% in 2019."}})
    result = run_cli(api, "verify", "--json")
    [record] = [json.loads(line) for line in result.stdout.splitlines()]
    assert (record["verdict"], record["reason"]) == ("weak", "missing: 3.2%")
    api.context_pages = {"https://a.example/tower": {"markdown": "Growth was 3.2 percent in 2019."}}
    assert json.loads(run_cli(api, "verify", "--json").stdout)["verdict"] == "found"


def test_list_items_and_table_cells_are_claims_with_their_markers(api, home):
    text = ("Facts:\n\n- The tower is 330 metres tall [1]\n- It has three levels [1][2]\n\n"
            "| City | Residents |\n|---|---|\n| Paris | 2.1 million [2] |\n\n```\nx = a[1]\n```\n")
    answered(api, text, RESULTS[:2], {})
    result = run_cli(api, "verify", "--json")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["position"]["n"], r["kind"], r["claim"], r["label"]) for r in records] == [
        (1, "item", "The tower is 330 metres tall", "1"), (2, "item", "It has three levels", "1"),
        (2, "item", "It has three levels", "2"), (3, "cell", "Paris: 2.1 million", "2")]
    assert all(r["verdict"] == "found" for r in records)  # the fake's default highlights echo the query
    assert len(posted(api, "/v1/context")) == 3
    assert result.stderr == b"pplx: 3 claims \xc2\xb7 3 found\n"
    assert result.returncode == 0


def test_markers_resolve_as_sources_does_and_an_unknown_one_is_unreachable(api, home):
    results = [{"id": 7, "url": "https://a.example/tower", "title": "Seven", "snippet": "s"},
               {"id": 9, "url": "file:///etc/passwd", "title": "Local", "snippet": "s"}]
    answered(api, "The tower is tall [web:7]. The tower is old [2]. The tower is local [9].", results, {})
    sources = run_cli(api, "log", "show", "--sources", "--no-meta").stdout.decode()
    assert sources.endswith("[7] Seven <https://a.example/tower>\n[9] Local <file:///etc/passwd>\n")
    result = run_cli(api, "verify")
    assert result.stdout.decode() == (
        "1. The tower is tall.\n   [7] found · Seven (a.example)\n       “Matched: The tower is tall.”\n"
        "2. The tower is old.\n   [2] unreachable · the answer lists no source [2]\n"
        "3. The tower is local.\n   [9] unreachable · Local (file:///etc/passwd) · not an http(s) URL: not fetched\n"
        "3 claims · 1 found · 2 unreachable\n")
    assert [b["urls"] for b in posted(api, "/v1/context")] == [["https://a.example/tower"]]  # nothing else sent
    assert result.returncode == 1


# ---- the judge ----


def judge(request):
    """The fake judge: supported when a passage has the claim's numbers, contradicted when
    it has other numbers, else not addressed."""
    asked = json.loads(request["input"])
    numbers = set(re.findall(r"\d[\d.]*\d|\d", asked["claim"]))
    verdicts = []
    for source in asked["sources"]:
        said = set(re.findall(r"\d[\d.]*\d|\d", " ".join(source["passages"])))
        verdict = "supported" if numbers <= said else "contradicted" if said else "not addressed"
        verdicts.append({"source": source["source"], "verdict": verdict, "reason": f"the page says {sorted(said)}"})
    return {"verdicts": verdicts}


def test_judge_verdicts_by_structured_output_and_their_cost(api, home):
    answered(api)
    api.structured_output = judge
    result = run_cli(api, "verify", "1", "--judge")
    assert result.returncode == 1
    assert result.stdout.decode().splitlines()[1] == "   [1] supported · The tower (a.example) · the page says ['2022', '330']"
    assert result.stdout.decode().splitlines()[4] == "   [2] contradicted · Paris in numbers (b.example) · the page says ['2023', '21']"
    assert result.stdout.decode().endswith(
        "4 claims · 1 supported · 1 contradicted · 1 not addressed · 1 unreachable · $0.0006\n")
    bodies = posted(api, "/v1/responses")[1:]
    assert len(bodies) == 3  # one call per claim whose page was read
    body = next(b for b in bodies if "330" in b["input"])
    assert json.loads(body["input"]) == {"claim": "The Eiffel Tower is 330 metres tall.",
                                         "sources": [{"source": "1", "passages": [
                                             "The Eiffel Tower is 330 metres tall since 2022.", "The tower"]}]}
    assert body["model"] == "perplexity/sonar" and body["store"] is False and "tools" not in body
    assert body["response_format"]["type"] == "json_schema" and body["response_format"]["json_schema"]["strict"] is True
    assert body["response_format"]["json_schema"]["schema"]["properties"]["verdicts"]["items"]["properties"]["verdict"]["enum"] == [
        "supported", "partly", "contradicted", "not addressed"]
    records = [json.loads(line) for line in run_cli(api, "verify", "--judge", "openai/gpt-5.1", "--json").stdout.splitlines()]
    assert [(r["verdict"], r.get("rule")) for r in records] == [
        ("supported", "found"), ("contradicted", "weak"), ("not addressed", "not found"), ("unreachable", None)]
    assert posted(api, "/v1/responses")[-1]["model"] == "openai/gpt-5.1"
    costs = history(home).execute("SELECT model, cost FROM exchanges WHERE kind = 'verify'").fetchall()
    assert [tuple(c) for c in costs] == [("perplexity/sonar", 0.0006), ("openai/gpt-5.1", 0.0006)]


def test_judge_takes_a_model_id_and_an_id_before_it(api, home):
    answered(api)
    bad = run_cli(api, "verify", "--judge", "gpt-5")
    assert bad.returncode == 2 and b"not an Agent API model id" in bad.stderr
    assert run_cli(api, "verify", "--judge", "1", "2").returncode == 2  # 1 taken as the ID, then 2 is one too many
    assert posted(api, "/v1/context") == []


# ---- what is not checked ----


@pytest.mark.parametrize("text, results, said", [
    ("Canberra is the capital. It is small.", RESULTS, "pplx: note: the answer cites nothing (2 sentences, no marker): nothing to check\n"),
    ("Canberra is the capital [1].", [], "pplx: note: the answer has markers but its metadata lists no sources: nothing to check\n"),
])
def test_an_answer_without_markers_or_sources_says_so_and_sends_nothing(api, home, text, results, said):
    answered(api, text, results)
    result = run_cli(api, "verify")
    assert (result.returncode, result.stdout, result.stderr.decode()) == (0, b"", said)
    assert posted(api, "/v1/context") == []


def test_dry_run_prints_each_request_and_sends_and_records_nothing(api, home):
    answered(api)
    result = run_cli(api, "verify", "--dry-run")
    assert result.returncode == 0
    requests = result.stdout.decode().split("\n\nPOST ")
    assert len(requests) == 4 and requests[0].startswith(f"POST {api.url}/v1/context\n")
    assert '"query": "It opened in March 1889."' in requests[3]
    assert posted(api, "/v1/context") == []
    assert history(home).execute("SELECT COUNT(*) FROM exchanges WHERE kind = 'verify'").fetchone()[0] == 0


def test_usage_errors(api, home):
    answered(api)
    for args, message in ((["1", "--from", "x.sse"], "give an exchange ID or --from FILE, not both"),
                          (["--from", "/nonexistent/x"], "cannot read /nonexistent/x"),
                          (["-j", "0"], "0 is not in the range")):
        result = run_cli(api, "verify", *args)
        assert result.returncode == 2 and message.encode() in result.stderr, result.stderr
    missing = run_cli(api, "verify", "99")
    assert (missing.returncode, missing.stderr) == (1, b"pplx: error: no exchange 99 in the history\n")
    run_cli(api, "search", "x", "--no-meta")
    search = run_cli(api, "verify", "2")
    assert search.stderr == b"pplx: error: exchange 2 is a search, not an answer: nothing to verify\n"


# ---- what was saved ----


def test_from_a_saved_stream_a_saved_body_and_stdin(api, home, tmp_path):
    api.ratelimit["limit"] = 1_000_000
    api.context_pages = PAGES
    api.add("/v1/responses", AgentRun(text=TEXT, searches=[{"queries": ["q"], "results": RESULTS}]))
    (tmp_path / "a.sse").write_bytes(run_cli(api, "raw", "q").stdout)
    (tmp_path / "a.json").write_bytes(run_cli(api, "ask", "q", "--raw").stdout)
    for args, stdin in ((["--from", str(tmp_path / "a.sse")], b""), (["--from", str(tmp_path / "a.json")], b""),
                        (["--from", "-"], (tmp_path / "a.sse").read_bytes())):
        result = run_cli(api, "verify", *args, stdin=stdin)
        assert (result.returncode, result.stdout.decode()) == (1, REPORT + "2 of 6 sentences cite nothing (--uncited lists them)\n" + SUMMARY)
    bad = run_cli(api, "verify", "--from", "-", stdin=b"hello")
    assert bad.returncode == 1 and bad.stderr == b"pplx: error: the input holds no answer (the response is empty: no events)\n"


# ---- the history ----


def test_recorded_as_its_own_kind_linked_to_the_exchange_and_named_by_log_show(api, home):
    answered(api)
    run_cli(api, "verify")
    db = history(home)
    answer, check = db.execute("SELECT * FROM exchanges ORDER BY id").fetchall()
    assert (check["kind"], check["cid"], check["prompt"], check["exit_status"], check["model"]) == (
        "verify", answer["cid"], "verify 1", 1, "context")
    assert json.loads(check["options"]) == {"exchange": 1, "jobs": 4}
    assert check["answer"] == REPORT + "2 of 6 sentences cite nothing (--uncited lists them)\n" + SUMMARY
    meta = json.loads(check["meta"])
    assert (meta["claims"], meta["sentences"], meta["uncited"], meta["verdicts"]) == (
        4, 6, 2, {"found": 1, "weak": 1, "not found": 1, "unreachable": 1})
    assert len(meta["records"]) == 4
    shown = run_cli(api, "log", "show", "1", "--no-meta")
    assert shown.returncode == 0
    note = shown.stderr.decode()
    assert re.fullmatch(r"pplx: note: verified as exchange 2 \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\): "
                        r"4 claims · 1 found · 1 weak · 1 not found · 1 unreachable \(pplx log show 2\)\n", note), note
    record = json.loads(run_cli(api, "log", "show", "1", "--json").stdout)
    assert record["verification"]["id"] == 2 and record["verification"]["exit_status"] == 1
    assert run_cli(api, "verify", "--no-log").returncode == 1
    assert db.execute("SELECT COUNT(*) FROM exchanges").fetchone()[0] == 2


# ---- errors, the rate limiter, Ctrl-C ----


def test_a_refused_key_stops_the_check_with_exit_3(api, home):
    answered(api)
    api.keys = {"another"}
    result = run_cli(api, "verify", "-j", "1")
    assert result.returncode == 3
    assert result.stderr.decode().startswith("pplx: warning: claim 1: HTTP 401: Invalid API key")
    assert len(posted(api, "/v1/context")) == 1  # no further claim sent


def test_a_failed_request_is_its_claims_and_the_exit_status_is_its(api, home):
    answered(api, "The tower is tall [1].", RESULTS[:1], {})
    api.add("/v1/context", agent_error(429, "Rate limit exceeded", "request_rate_limit_exceeded"))
    result = run_cli(api, "verify", "--retries", "0")
    assert result.returncode == 4
    assert result.stdout.decode() == ("1. The tower is tall.\n   [1] unreachable · The tower (a.example) · "
                                      "HTTP 429: Rate limit exceeded (request_rate_limit_exceeded)\n1 claim · 1 unreachable\n")
    assert result.stderr == b"pplx: warning: claim 1: HTTP 429: Rate limit exceeded (request_rate_limit_exceeded)\n"


TEN = " ".join(f"Fact {n} is true [{n}]." for n in range(1, 11))
TEN_RESULTS = [{"id": n, "url": f"https://s{n}.example/", "title": f"S{n}", "snippet": "s"} for n in range(1, 11)]


def test_claims_are_checked_in_parallel_under_the_rate_limiter(api, home):
    answered(api, TEN, TEN_RESULTS, {})
    api.context_latency = 0.5
    started = time.monotonic()
    parallel = run_cli(api, "verify", "-j", "10")
    took = time.monotonic() - started
    assert parallel.returncode == 0 and parallel.stdout.decode().endswith("10 claims · 10 found\n")
    assert took < 3.0, took  # one after another would take 5 s
    assert [line.split(".")[0] for line in parallel.stdout.decode().splitlines() if line[0].isdigit()][:10] == [
        str(n) for n in range(1, 11)]  # in order, whatever order they finished in
    api.context_latency = 0
    started = time.monotonic()
    limited = run_cli(api, "verify", "-j", "10", "--rate", "5/s")
    assert limited.returncode == 0 and time.monotonic() - started >= 1.8  # 10 requests at 5 a second


def test_ctrl_c_prints_what_was_checked_and_exits_130(api, home):
    answered(api, TEN, TEN_RESULTS, {})
    api.context_latency = 1.0
    proc = subprocess.Popen([pplx_executable(), "verify", "-j", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ, PPLX_BASE_URL=api.url))
    first = b""
    while b"\n1. " not in b"\n" + first:  # raw reads: communicate() reads the descriptor, not a buffer
        first += os.read(proc.stdout.fileno(), 65536)
    assert first.startswith(b"1. Fact 1 is true.\n")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    lines = (first + out).decode().splitlines()
    assert re.fullmatch(r"[2-4] of 10 claims checked \(interrupted\) · [2-4] found", lines[-1]), lines
    checked = int(lines[-1][0])
    assert len(lines) == 3 * checked + 1  # every claim checked is printed whole
    assert b"pplx: note: stopping: no new request is sent" in err
    assert history(home).execute("SELECT exit_status FROM exchanges WHERE kind = 'verify'").fetchone()[0] == 130


# ---- --verify ----


@pytest.mark.parametrize("command", ["ask", "stream"])
def test_verify_option_checks_the_answer_on_stderr_and_leaves_stdout_the_answer(api, home, command):
    api.ratelimit["limit"] = 1_000_000
    api.context_pages = PAGES
    api.add("/v1/responses", AgentRun(text=TEXT, searches=[{"queries": ["q"], "results": RESULTS}]))
    result = run_cli(api, command, "q", "--verify", "--no-meta")
    assert result.returncode == 1
    assert result.stdout.decode() == TEXT + "\n"
    assert result.stderr.decode() == REPORT + "2 of 6 sentences cite nothing (--uncited lists them)\n" + SUMMARY
    check = history(home).execute("SELECT prompt, options FROM exchanges WHERE kind = 'verify'").fetchone()
    assert check["prompt"] == "verify 1" and json.loads(check["options"])["exchange"] == 1


def test_verify_option_refuses_raw_and_detach(api, home):
    for args in (["ask", "q", "--verify", "--raw"], ["stream", "q", "--verify", "--raw"],
                 ["ask", "q", "--verify", "--background", "--detach"]):
        result = run_cli(api, *args)
        assert result.returncode == 2, args
    assert api.requests == []


def test_jobs_wait_verify(api, home):
    from tests.server import BackgroundRun

    api.ratelimit["limit"] = 1_000_000
    api.context_pages = PAGES
    api.add("/v1/responses", BackgroundRun(run=AgentRun(text=TEXT, searches=[{"queries": ["q"], "results": RESULTS}]),
                                           polls_until_done=1))
    rid = run_cli(api, "ask", "--background", "--detach", "q").stdout.decode().strip()
    result = run_cli(api, "jobs", "wait", rid, "--verify", "--no-meta")
    assert result.returncode == 1, result.stderr
    assert result.stdout.decode() == TEXT + "\n"
    assert result.stderr.decode().endswith(SUMMARY)
    check = history(home).execute("SELECT cid, options FROM exchanges WHERE kind = 'verify'").fetchone()
    answer = history(home).execute("SELECT id, cid FROM exchanges WHERE kind = 'answer'").fetchone()
    assert json.loads(check["options"])["exchange"] == answer["id"] and check["cid"] == answer["cid"]


# ---- on a terminal ----


def on_a_terminal(api, *args, columns=60, env=None) -> tuple:
    """``(exit status, what the terminal showed)`` of pplx on a real pseudo-terminal."""
    import fcntl
    import pty
    import struct
    import termios

    from tests.conftest import read_all

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    full = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR")}
    full.update(PPLX_BASE_URL=api.url, TERM="xterm-256color", **(env or {}))
    try:
        proc = subprocess.Popen([pplx_executable(), *args], stdin=slave, stdout=slave, stderr=slave, env=full)
    finally:
        os.close(slave)
    shown = read_all(master)
    return proc.wait(timeout=30), shown.decode().replace("\r\n", "\n")


def test_on_a_terminal_claims_wrap_verdicts_are_coloured_and_matching_words_emphasised(api, home):
    from tests.test_render import SGR, assert_only_own_escapes, visible

    pages = dict(PAGES)
    pages["https://c.example/colour"] = {"markdown": "Tickets \x1b]0;owned\x07 are sold at the tower\u202e gate \x1b[2J now."}
    answered(api, TEXT, RESULTS, pages)
    status, shown = on_a_terminal(api, "verify")
    assert status == 1
    assert_only_own_escapes(shown.encode())
    seen = visible(shown)
    assert all(len(line) <= 60 for line in seen.splitlines()), seen
    assert seen == (
        "1. The Eiffel Tower is 330 metres tall.\n"
        "   [1] found · The tower (a.example)\n"
        "       “The Eiffel Tower is 330 metres tall since 2022.”\n"
        "2. Paris had 2.1 million residents in 2023.\n"
        "   [2] weak · Paris in numbers (b.example) · missing: 2.1\n"
        "       “Paris had 21 million residents in 2023 according to\n"
        "        nobody.”\n"
        "3. The tower was painted gold in 1999.\n"
        "   [3] not found · Colours (c.example) · missing: 1999,\n"
        "       painted, gold\n"
        "       “Tickets \\x1b]0;owned\\x07 are sold at the tower\\u202e\n"
        "        gate \\x1b[2J now.”\n"
        "4. It opened in March 1889.\n"
        "   [4] unreachable · Opening (fail.example) · fetch_failed:\n"
        "       the page could not be fetched\n"
        "2 of 6 sentences cite nothing (--uncited lists them)\n"
        "4 claims · 1 found · 1 weak · 1 not found · 1 unreachable\n")
    assert "\x1b[32mfound\x1b[0m" in shown and "\x1b[33mweak\x1b[0m" in shown and "\x1b[31mnot found\x1b[0m" in shown
    assert "\x1b[35munreachable\x1b[0m" in shown
    assert "“The \x1b[1mEiffel Tower\x1b[0m is \x1b[1m330 metres tall\x1b[0m since 2022.”" in shown  # the words it shares
    assert "\x1b[1m2.1\x1b[0m" not in shown and "had 21 \x1b[1mmillion residents\x1b[0m" in shown  # 21 is not 2.1
    assert {m.group(1) for m in SGR.finditer(shown)} == {"0", "1", "31", "32", "33", "35"}
    _, plain = on_a_terminal(api, "verify", env={"NO_COLOR": "1"})
    assert SGR.search(plain) is None and visible(plain) == seen


def test_a_long_excerpt_is_cut_to_a_few_lines_around_what_matches(api, home):
    filler = " ".join(["Unrelated words about something else entirely."] * 12)
    answered(api, "The tower is 330 metres tall [1].", RESULTS[:1],
             {"https://a.example/tower": {"highlights": [filler + " The tower is 330 metres tall. " + filler]}})
    status, shown = on_a_terminal(api, "verify")
    lines = shown.splitlines()
    assert status == 0 and len(lines) == 6  # the claim, the source, three lines of excerpt, the summary
    assert lines[2].startswith("       “…") and lines[4].endswith("…”")
    assert "The \x1b[1mtower\x1b[0m is \x1b[1m330\x1b[0m" in shown  # the window starts a little before the match
    piped = run_cli(api, "verify").stdout.decode().splitlines()[2]
    assert piped.startswith("       “…") and piped.endswith("…”") and "The tower is 330 metres tall." in piped
    assert len(piped) <= 7 + 2 + 240 + 2


def test_the_readme_session_is_what_pplx_prints(api, home):
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    session = readme.split("```console\n", 1)[1].split("```", 1)[0]
    asked, shown = session.split("$ pplx verify\n")
    assert asked.startswith("$ pplx ask ")
    answered(api)
    assert run_cli(api, "verify").stdout.decode() == shown
