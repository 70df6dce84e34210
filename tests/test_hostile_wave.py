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


# ---- fetch: results paired by their URL ----


def test_a_short_reordered_context_answer_pairs_pages_by_url(api, home):
    urls = ["https://a.example/1", "https://b.example/2", "https://c.example/3"]
    answer = {"id": "ctx", "results": [
        {"url": "https://c.example/3", "status": {"type": "ok"}, "markdown": "page C\n", "metadata": {"title": "C"}},
        {"url": "https://a.example/1", "status": {"type": "ok"}, "markdown": "page A\n", "metadata": {"title": "A"}}]}
    api.add("/v1/context", json_reply(answer))
    result = run_cli(api, "fetch", *urls, "--no-meta")
    assert result.returncode == 1
    assert result.stdout.decode() == "==> https://a.example/1 <==\npage A\n\n==> https://c.example/3 <==\npage C\n"
    assert result.stderr.decode().splitlines() == ["pplx: warning: https://b.example/2: no result for it in the answer",
                                                   "pplx: error: 1 of 3 pages could not be fetched"]


# ---- search --urls: nothing but URLs reaches the next command ----


def test_search_urls_prints_only_http_urls(api, home, tmp_path):
    api.search_results = [{"title": "ok", "url": "https://good.example/a"},
                          {"title": "option", "url": "--base-url=https://evil.example"},
                          {"title": "file", "url": f"--meta={tmp_path}/owned"},
                          {"title": "js", "url": "javascript:alert(1)"},
                          {"title": "ok2", "url": "http://also.example/b"}]
    result = run_cli(api, "search", "q", "--urls", "--no-meta")
    assert result.returncode == 0
    assert result.stdout == b"https://good.example/a\nhttp://also.example/b\n"
    assert result.stderr.decode().splitlines() == [
        "pplx: warning: left out a result whose URL is not an http(s) URL: '--base-url=https://evil.example'",
        f"pplx: warning: left out a result whose URL is not an http(s) URL: '--meta={tmp_path}/owned'",
        "pplx: warning: left out a result whose URL is not an http(s) URL: 'javascript:alert(1)'"]
    piped = subprocess.run(f"{pplx_executable()} search q --urls --no-meta 2>/dev/null | xargs -n 50 {pplx_executable()} fetch -- "
                           "--no-meta", shell=True, capture_output=True, env=dict(os.environ, PPLX_BASE_URL=api.url), timeout=60)
    assert not (tmp_path / "owned").exists()
    assert [r["body"]["urls"] for r in api.requests if r["path"] == "/v1/context"] in ([], [["https://good.example/a",
                                                                                             "http://also.example/b"]])


# ---- completion: only plain ids, a bounded cache ----


def test_model_ids_that_a_shell_would_run_never_reach_the_completion_cache(api, home):
    api.models = [{"id": "openai/gpt-5.1", "object": "model", "owned_by": "openai"},
                  {"id": "x; touch /tmp/pwned", "object": "model"}, {"id": "$(reboot)", "object": "model"},
                  {"id": "a b", "object": "model"}, {"id": "--help", "object": "model"}, {"id": "q'uote", "object": "model"}]
    assert run_cli(api, "models").returncode == 0
    cache = json.loads((home / ".cache" / "pplx" / "models.json").read_text())
    assert cache == ["openai/gpt-5.1"]
    api.models = [{"id": f"p/m{i}", "object": "model"} for i in range(5000)]
    assert run_cli(api, "models", "--json").returncode == 0
    assert len(json.loads((home / ".cache" / "pplx" / "models.json").read_text())) == 2000


def test_a_huge_model_list_is_one_line(api, home):
    api.add("/v1/models", Reply(parts=[b'{"object":"list","data":[' + b'{"id":"p/m"},' * 500_000 + b'{"id":"p/last"}]}'],
                                headers={"Content-Type": "application/json"}, framing="length"))
    result = run_cli(api, "models")
    assert result.returncode == 1 and result.stdout == b""
    assert result.stderr == b"pplx: error: the response body is larger than 4 MiB; stopped reading\n"


# ---- embeddings: checked before decoding, bounded ----


def test_an_embedding_of_the_wrong_length_is_refused_before_it_is_decoded(api, home):
    import base64
    import gzip

    huge = base64.b64encode(bytes(40_000_000)).decode()  # 40 million dimensions, for 128 asked
    body = json.dumps({"object": "list", "model": "pplx-embed-v1-0.6b",
                       "data": [{"object": "embedding", "index": 0, "embedding": huge}]}).encode()
    packed = gzip.compress(body, 9)
    assert len(packed) < 200_000  # what crosses the network is small
    api.add("/v1/embeddings", Reply(parts=[packed], headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
                                    framing="length"))
    # measured from a small wrapper process: a child forked from this (large) test process
    # would count the pages it shared with it before exec
    wrapper = ("import os, subprocess, sys\n"
               "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=open(os.environ['ERR_FILE'], 'wb'))\n"
               "_, status, usage = os.wait4(p.pid, 0)\n"
               "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)")
    err_file = home / "err.txt"
    out = subprocess.run([__import__("sys").executable, "-c", wrapper, pplx_executable(), "embed", "--dimensions", "128", "one",
                          "--no-meta"], capture_output=True, env=dict(os.environ, PPLX_BASE_URL=api.url, ERR_FILE=str(err_file)),
                         timeout=60).stdout.split()
    code, peak_kib = int(out[0]), int(out[1])
    assert code == 1
    assert err_file.read_text() == "pplx: error: an embedding has 40,000,000 values, not the 128 asked for\n"
    assert peak_kib < 400 * 1024  # the 53 MB body read once, never decoded into 40 million numbers


def test_non_finite_values_in_a_vector_are_an_error_not_null(api, home):
    api.add("/v1/embeddings", Reply(parts=[b'{"data":[{"index":0,"embedding":[1,NaN' + b",2" * 126 + b']}],"model":"m"}'],
                                    headers={"Content-Type": "application/json"}, framing="length"))
    result = run_cli(api, "embed", "--dimensions", "128", "one", "--no-meta")
    assert result.returncode == 1 and result.stdout == b""
    assert result.stderr == b"pplx: error: an embedding holds a value that is not a finite number\n"


def test_embed_ignores_blank_lines_at_the_end_and_refuses_them_between(api, home):
    ok = run_cli(api, "embed", "--dimensions", "128", "--no-meta", stdin=b"one\ntwo\n\n \n")
    assert ok.returncode == 0 and len(ok.stdout.splitlines()) == 2
    bad = run_cli(api, "embed", "--dimensions", "128", "--no-meta", stdin=b"one\n\ntwo\n")
    assert bad.returncode == 2 and bad.stderr.decode().splitlines()[0] == "pplx: error: line 2 is empty (the API refuses empty texts)"


# ---- one huge event of short lines: held in its size ----


def test_an_event_of_millions_of_short_data_lines_is_held_compactly(tmp_path, home):
    """An event of 4 million one-character data lines (28 MB on the wire, 8 MB of data) took
    a bytes object a line: 41 bytes each, 170 MB. Held as one buffer it takes its size."""
    path = tmp_path / "huge.sse"
    path.write_bytes(b"data:x\n" * 4_000_000 + b"\n")
    wrapper = ("import os, subprocess, sys\n"
               "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=open(os.environ['ERR_FILE'], 'wb'))\n"
               "_, status, usage = os.wait4(p.pid, 0)\n"
               "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)")
    err = tmp_path / "err.txt"
    out = subprocess.run([__import__("sys").executable, "-c", wrapper, pplx_executable(), "parse", str(path), "--no-meta"],
                         capture_output=True, env=dict(os.environ, ERR_FILE=str(err)), timeout=120).stdout.split()
    code, peak_kib = int(out[0]), int(out[1])
    assert code == 1 and err.read_text().startswith("pplx: warning: skipped malformed event 1 (not JSON)")
    assert peak_kib < 110 * 1024


# ---- numbers in headers and local input ----


def test_junk_rate_limit_headers_are_left_out_and_junk_retry_after_backs_off(api, home):
    junk = {"x-ratelimit-limit": "-5", "x-ratelimit-remaining": "lots", "x-ratelimit-reset": "Wed, 21 Oct 2015 07:28:00 GMT",
            "x-ratelimit-used": "9" * 400}
    api.add(AGENT, AgentRun(headers=junk))
    result = run_cli(api, "ask", "q", "--meta-style", "json")
    assert result.returncode == 0, result.stderr
    assert "ratelimit" not in json.loads(result.stderr)
    api.routes.clear()
    for value in ("-1", "soon", "1e999", "9" * 400, "Fri, 31 Dec 99999 23:59:59 GMT"):
        api.requests.clear()
        refusal = json_reply({"error": {"message": "slow down", "type": "request_rate_limit_exceeded", "code": 429}}, 429,
                             headers={"Retry-After": value, "x-ratelimit-reset": "-7"})
        api.add(AGENT, refusal, AgentRun())
        result = run_cli(api, "ask", "q", "--no-meta", "--retries", "1", timeout=30)
        no_traceback(result)
        assert result.returncode == 0 and len(api.requests) == 2, (value, result.stderr)
        assert result.stderr.decode().startswith("pplx: retrying in ")  # a backoff of its own, the header ignored
        api.routes.clear()


def test_local_numbers_too_large_are_usage_errors(api, home):
    big = run_cli(api, "ask", "q", "-o", "temperature", "1e999")
    assert big.returncode == 2 and big.stderr.decode().splitlines()[0] == (
        "pplx: error: Invalid value for '-o' / '--option': the value of temperature holds a number too large for JSON (1e999)")
    many = run_cli(api, "jobs", "-n", "9" * 30)
    no_traceback(many)
    assert many.returncode == 2 and api.requests == []


# ---- nothing from the network drives the terminal ----

EVIL = "x\x1b]0;owned\x07\x1b[2J\x9b31m\u202eevil"


def test_every_listing_is_neutralised_on_a_terminal(api, home):
    from tests.test_hostile import foreign_escapes, run_on_pty

    api.models = [{"id": "p/" + EVIL, "owned_by": EVIL, "pricing": {"input": 1}}]
    rid = run_cli(api, "ask", "--background", "--detach", "q").stdout.decode().strip()
    api.add(f"{AGENT}/{rid}/cancel", json_reply({"response_id": rid, "status": EVIL}))
    api.add(AGENT, AgentRun(text=f"answer {EVIL}\n"))
    assert run_cli(api, "ask", EVIL, "--no-meta").returncode == 0
    env = dict(os.environ, PPLX_BASE_URL=api.url, TERM="xterm", COLUMNS="200")
    for args in (["models"], ["models", "--json"], ["jobs", "cancel", rid], ["log", "export"], ["log"], ["log", "--json"],
                 ["jobs", "show", rid]):
        code, shown = run_on_pty(args, env, columns=200)
        assert foreign_escapes(shown) == [], (args, shown)
        assert "\x9b" not in shown and "\u202e" not in shown and "\x07" not in shown, (args, shown)


def test_json_output_escapes_del_c1_and_bidi_controls(api, home):
    api.add(AGENT, AgentRun(text=f"answer {EVIL}\x7f\u2028"))
    result = run_cli(api, "ask", "q", "--meta-style", "json")
    assert result.returncode == 0
    logged = run_cli(api, "log", "--json").stdout.decode()
    for text in (result.stderr.decode(), logged):
        assert not any(c in text for c in "\x1b\x07\x9b\u202e\x7f\u2028"), text
        json.loads(text.splitlines()[-1])
    assert "\\u009b31m\\u202eevil\\u007f\\u2028" in logged
    assert json.loads(logged)["answer"] == f"answer {EVIL}\x7f\u2028"  # the same text, escaped


# ---- a second trial: other instances of the same classes ----


def test_the_key_in_a_model_name_reaches_neither_the_history_nor_the_completion_cache(api, home):
    from tests.conftest import KEY

    api.add(AGENT, AgentRun(model="openai/" + KEY, text=f"echoed {KEY} here"))
    assert run_cli(api, "ask", "q", "--no-meta").returncode == 0
    for args in (["log"], ["log", "--json"], ["log", "cost"], ["log", "export"]):
        shown = run_cli(api, *args)
        assert KEY.encode() not in shown.stdout and KEY[5:].encode() not in shown.stdout, args
    raw = run_cli(api, "raw", "q")
    (home / "k.sse").write_bytes(raw.stdout)
    parsed = run_cli(api, "parse", str(home / "k.sse"), "--no-meta")  # parse never asks for the key
    assert parsed.returncode == 0 and b"echoed [redacted] here" in parsed.stdout and KEY.encode() not in parsed.stdout
    api.models = [{"id": KEY, "object": "model"}, {"id": "p/fine", "object": "model"}]
    assert run_cli(api, "models").returncode == 0
    assert json.loads((home / ".cache" / "pplx" / "models.json").read_text()) == ["p/fine"]


def test_embedding_indexes_that_do_not_number_the_inputs_are_an_error(api, home):
    import base64

    vector = base64.b64encode(bytes(128)).decode()
    for indexes in ([0, 0, 1], [5, 7, 9]):
        api.routes.clear()
        data = [{"index": i, "embedding": vector} for i in indexes]
        api.add("/v1/embeddings", json_reply({"data": data, "model": "pplx-embed-v1-0.6b"}))
        result = run_cli(api, "embed", "--dimensions", "128", "a", "b", "c", "--no-meta")
        assert result.returncode == 1 and result.stdout == b""
        assert result.stderr.decode() == (f"pplx: error: the Embeddings API's indexes {json.dumps(indexes)} do not number "
                                          "its 3 answers 0 to N-1 once each: the vectors cannot be paired with the texts\n")


def test_an_absurd_sequence_number_does_not_skip_the_rest_of_a_stream(api, home):
    rid = "resp_seq"
    events = [{"type": "response.created", "sequence_number": 0, "response": {"id": rid, "status": "in_progress", "output": []}},
              {"type": "response.output_text.delta", "sequence_number": 2**63, "item_id": "m", "delta": "Hello "},
              {"type": "response.output_text.delta", "sequence_number": 2, "item_id": "m", "delta": "world."},
              {"type": "response.completed", "sequence_number": 3,
               "response": {"id": rid, "status": "completed", "output": [], "usage": None}}]
    api.add(AGENT, Reply(parts=[sse(*events)]))
    result = run_cli(api, "stream", "q", "--background", "--no-meta")
    assert result.returncode == 0 and result.stdout == b"Hello world.\n" and result.stderr == b""


def test_a_negative_cost_is_no_cost(api, home):
    usage = {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2, "cost": {"total_cost": -1}}
    api.add(AGENT, AgentRun(usage=usage))
    assert run_cli(api, "ask", "q", "--no-meta").returncode == 0
    assert json.loads(run_cli(api, "log", "--json", "-n", "1").stdout)["cost"] is None
    assert "$-" not in run_cli(api, "log", "cost").stdout.decode()


def test_fetch_pairs_a_page_written_another_way(api, home):
    asked = ["https://a.example/docs", "https://bücher.example/", "https://c.example/~user", "http://d.example/x"]
    answered = ["https://a.example/docs/", "https://xn--bcher-kva.example/", "https://c.example/%7Euser", "https://d.example:443/x"]
    api.add("/v1/context", json_reply({"results": [{"url": url, "status": {"type": "ok"}, "markdown": f"page {i}\n"}
                                                   for i, url in enumerate(answered)]}))
    result = run_cli(api, "fetch", *asked, "--no-meta")
    assert result.returncode == 0, result.stderr
    assert [line for line in result.stdout.decode().splitlines() if line.startswith("page")] == [f"page {i}" for i in range(4)]


def test_close_typos_of_commands_and_strict_ids(api, home):
    for typo, meant in (("aks", "ask"), ("lgo", "log"), ("serch", "search")):
        result = run_cli(api, typo, "hello")
        assert result.stderr.decode().startswith(f"pplx: error: no such command '{typo}'; did you mean 'pplx {meant}'?"), typo
    for spelling in ("9_9", "+39", "\uff13\uff19"):
        assert run_cli(api, "log", "show", spelling).returncode == 2


def test_search_urls_leaves_out_urls_with_bidi_or_control_characters(api, home):
    api.search_results = [{"title": "evil", "url": "https://\u202emoc.evil"}, {"title": "ok", "url": "https://ok.example/"}]
    result = run_cli(api, "search", "q", "--urls", "--no-meta")
    assert result.stdout == b"https://ok.example/\n" and b"\xe2\x80\xae" not in result.stdout
