"""pplx search, fetch and embed: the installed CLI against the local server's Search, Context
and Embeddings APIs (tests/platform_server.py), as a user runs them."""

import json
import os
import subprocess

import pytest

from tests.conftest import pplx_executable, read_all
from tests.platform_server import expected_contextualized_embedding, expected_embedding
from tests.server import Reply, agent_error

RESULTS = [
    {"title": "First\nresult", "url": "https://a.example/1", "snippet": "Line one.\nLine  two.", "date": "2026-11-20",
     "last_updated": None},
    {"title": "Second", "url": "https://b.example/2", "snippet": "Only snippet.", "date": None, "last_updated": "2026-10-01"},
    {"title": "Third", "url": "https://c.example/3", "snippet": "", "date": None, "last_updated": None},
]


def run_cli(api, *args, stdin=b"", env=None, timeout=60):
    full = dict(os.environ, PPLX_BASE_URL=api.url, **(env or {}))
    return subprocess.run([pplx_executable(), *args], input=stdin, capture_output=True, env=full, timeout=timeout)


def posted(api, path):
    return [r["body"] for r in api.requests if r["path"] == path]


# ---- search ----


def test_search_prints_one_block_per_result_and_its_metadata(api, home):
    api.search_results = RESULTS
    result = run_cli(api, "search", "fusion", "startups", "--max-results", "3", "--meta-style", "json")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == (
        "[1] First result\nhttps://a.example/1\n2026-11-20\nLine one. Line two.\n\n"
        "[2] Second\nhttps://b.example/2\nupdated 2026-10-01\nOnly snippet.\n\n"
        "[3] Third\nhttps://c.example/3\n")
    [body] = posted(api, "/search")
    assert body == {"query": "fusion startups", "max_results": 3, "display_server_time": True}
    meta = json.loads(result.stderr)
    assert (meta["kind"], meta["queries"], meta["requests"], meta["results"]) == ("search", ["fusion startups"], 1, 3)
    assert meta["usage"] == {"cost": {"total_cost": 0.005, "estimated": True}} and meta["server_time"]
    assert meta["request_id"] == meta["id"] and meta["ratelimit"]["limit"] == 50


def test_search_urls_json_and_several_queries(api, home):
    api.search_results = RESULTS
    urls = run_cli(api, "search", "q", "--urls", "--no-meta")
    assert urls.returncode == 0 and urls.stdout == b"https://a.example/1\nhttps://b.example/2\nhttps://c.example/3\n"
    assert urls.stderr == b""
    api.search_results = None
    lines = run_cli(api, "search", "-Q", "alpha", "-Q", "beta", "--max-results", "2", "--json", "--no-meta").stdout.splitlines()
    records = [json.loads(line) for line in lines]
    assert [(r["query"], r["rank"]) for r in records] == [("alpha", 1), ("alpha", 2), ("beta", 1), ("beta", 2)]
    assert set(records[0]) == {"title", "url", "snippet", "date", "last_updated", "query", "rank"}
    assert posted(api, "/search")[-1]["query"] == ["alpha", "beta"]
    blocks = run_cli(api, "search", "-Q", "alpha", "-Q", "beta", "--max-results", "1", "--no-meta").stdout.decode()
    assert blocks.startswith("==> alpha <==\n\n[1] ") and "\n\n==> beta <==\n\n[1] " in blocks


def test_search_options_reach_the_body_and_refused_pairs_send_nothing(api, home):
    result = run_cli(api, "search", "q", "--search-type", "fast", "--domain", "arxiv.org", "-D", "reddit.com",
                     "--after", "2026-01-02", "--country", "de", "--language", "EN", "--language", "de", "--mode",
                     "academic", "--max-tokens", "500", "--max-tokens-per-page", "100", "--meta-style", "json")
    assert result.returncode == 0, result.stderr
    assert posted(api, "/search")[0] == {
        "query": "q", "display_server_time": True, "search_type": "fast", "search_mode": "academic",
        "search_after_date_filter": "1/2/2026", "country": "DE", "max_tokens": 500, "max_tokens_per_page": 100,
        "search_domain_filter": ["arxiv.org", "-reddit.com"], "search_language_filter": ["en", "de"]}
    assert json.loads(result.stderr)["usage"]["cost"]["total_cost"] == 0.001
    api.requests.clear()
    for args in (["--recency", "week", "--updated-before", "2026-01-01"], ["--recency", "day", "--after", "2026-01-01"],
                 ["--max-results", "21"], ["--language", "eng"], ["--urls", "--json"], ["-Q", " "]):
        refused = run_cli(api, "search", "q", *args)
        assert refused.returncode == 2, (args, refused.stderr)
        said = refused.stderr.splitlines()
        assert said[0].startswith(b"pplx: error: ") and len(said) <= 2 and b"Traceback" not in refused.stderr
    assert api.requests == []


def test_search_reads_stdin_retries_a_429_and_no_result_is_exit_1(api, home):
    api.add("/search", Reply(status=429, parts=[b'{"error":{"message":"slow down","type":"request_rate_limit_exceeded","code":429}}'],
                             headers={"Content-Type": "application/json", "Retry-After": "0"}, framing="length"))
    api.search_results = RESULTS[:1]
    result = run_cli(api, "search", "--urls", "--no-meta", stdin=b"from stdin\n")
    assert result.returncode == 0 and result.stdout == b"https://a.example/1\n"
    assert [b["query"] for b in posted(api, "/search")] == ["from stdin", "from stdin"]
    api.search_results = []
    empty = run_cli(api, "search", "nothing", "--no-meta")
    assert empty.returncode == 1 and empty.stdout == b"" and empty.stderr == b"pplx: error: no results\n"


def test_search_errors_are_one_line_with_the_right_status(api, home):
    api.add("/search", agent_error(400, "validation failed: bad", param="query"))
    bad = run_cli(api, "search", "q", "--no-meta")
    assert bad.returncode == 1 and bad.stderr.decode().startswith("pplx: error: HTTP 400: validation failed: bad")
    api.add("/search", agent_error(401, "Invalid API key", "invalid_api_key"))
    denied = run_cli(api, "search", "q", env={"PPLX_API_KEY": "pplx-wrong-key-000000"})
    assert denied.returncode == 3 and denied.stderr.decode().startswith(
        "pplx: error: HTTP 401: Invalid API key (invalid_api_key); the key (pplx-…[redacted]) came from PPLX_API_KEY; ")
    assert run_cli(api, "search", "q", env={"PPLX_API_KEY": ""}).returncode == 3


def test_searches_are_in_the_history_with_their_kind_and_estimated_cost(api, home):
    api.search_results = RESULTS
    assert run_cli(api, "search", "one", "--no-meta").returncode == 0
    assert run_cli(api, "search", "two", "--search-type", "fast", "--no-meta").returncode == 0
    assert run_cli(api, "search", "three", "--no-log", "--no-meta").returncode == 0
    records = [json.loads(line) for line in run_cli(api, "log", "--json").stdout.splitlines()]
    assert [(r["kind"], r["prompt"], r["model"], r["cost"]) for r in records] == [
        ("search", "two", "search (fast)", 0.001), ("search", "one", "search", 0.005)]
    assert records[1]["answer"].startswith("[1] First result\n") and records[1]["meta"]["results"] == 3
    cost = run_cli(api, "log", "cost").stdout.decode().splitlines()
    assert cost[-1].endswith("$0.0060  (estimate)") and cost[-1].startswith("total")
    # a search is no conversation: -c has nothing to continue
    follow = run_cli(api, "ask", "-c", "and?")
    assert follow.returncode == 2 and b"no ask or stream exchange" in follow.stderr


# ---- fetch ----


def test_fetch_one_url_prints_its_content(api, home):
    result = run_cli(api, "fetch", "https://example.com/a", "--meta-style", "json")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"# Title for https://example.com/a\n\nBody of https://example.com/a.\n"
    assert posted(api, "/v1/context") == [{"urls": ["https://example.com/a"], "formats": ["markdown"]}]
    meta = json.loads(result.stderr)
    assert (meta["kind"], meta["pages"], meta["failed"]) == ("fetch", 1, 0)


def test_fetch_several_urls_from_stdin_with_a_failure(api, home):
    api.context_failures = {"https://b.example/x": ("blocked", "robots.txt disallows it")}
    result = run_cli(api, "fetch", "--no-meta", "--format", "links", stdin=b"https://a.example/x\n\nhttps://b.example/x\nhttps://c.example/x\n")
    assert result.returncode == 1
    assert result.stderr.decode().splitlines() == ["pplx: warning: https://b.example/x: blocked: robots.txt disallows it",
                                                   "pplx: error: 1 of 3 pages could not be fetched"]
    out = result.stdout.decode()
    assert out.startswith("==> https://a.example/x <==\nhttps://a.example/about\n")
    assert "\n\n==> https://c.example/x <==\n" in out and "b.example" not in out
    assert posted(api, "/v1/context")[0]["formats"] == ["links"]


def test_fetch_json_highlights_and_options(api, home):
    result = run_cli(api, "fetch", "https://a.example/", "--highlights", "price", "--max-age", "0", "--max-tokens-per-url",
                     "50", "--json", "--no-meta")
    assert result.returncode == 0, result.stderr
    [record] = [json.loads(line) for line in result.stdout.splitlines()]
    assert set(record) == {"url", "status", "title", "metadata", "markdown", "highlights"}
    assert record["status"] == {"type": "ok"} and record["metadata"]["origin"] == "live"
    assert record["title"] == record["metadata"]["title"] == "Title for https://a.example/"  # where the Context API puts it
    assert posted(api, "/v1/context")[0] == {"urls": ["https://a.example/"], "formats": ["markdown", "highlights"],
                                             "highlights": {"query": "price"}, "max_tokens_per_url": 50,
                                             "max_age_seconds": 0}


def test_fetch_refuses_bad_input_before_sending(api, home):
    for args in (["ftp://x.example/"], ["not a url"], [f"https://x.example/{i}" for i in range(51)],
                 ["https://x.example/", "--format", "highlights"]):
        refused = run_cli(api, "fetch", *args)
        assert refused.returncode == 2 and refused.stderr.startswith(b"pplx: error: "), (args, refused.stderr)
    assert run_cli(api, "fetch").returncode == 2
    assert api.requests == []


# ---- embed ----


def embeddings(result):
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_embed_arguments_to_json_lines_of_numbers(api, home):
    result = run_cli(api, "embed", "first text", "second", "--dimensions", "128", "--meta-style", "json")
    assert result.returncode == 0, result.stderr
    assert embeddings(result) == [{"index": 0, "embedding": expected_embedding("first text", 128)},
                                  {"index": 1, "embedding": expected_embedding("second", 128)}]
    assert posted(api, "/v1/embeddings") == [{"input": ["first text", "second"], "model": "pplx-embed-v1-0.6b",
                                              "encoding_format": "base64_int8", "dimensions": 128}]
    meta = json.loads(result.stderr)
    assert (meta["kind"], meta["model"], meta["requests"], meta["embeddings"]) == ("embed", "pplx-embed-v1-0.6b", 1, 2)
    assert meta["usage"]["prompt_tokens"] == 3 and meta["usage"]["cost"]["total_cost"] == pytest.approx(3 * 0.004 / 1e6)


def test_embed_batches_1300_lines_into_3_requests_in_order(api, home):
    lines = [f"line number {i}" for i in range(1300)]
    result = run_cli(api, "embed", "--dimensions", "128", "--encoding", "binary", "--meta-style", "json",
                     stdin=("\n".join(lines) + "\n").encode())
    assert result.returncode == 0, result.stderr
    sizes = [len(body["input"]) for body in posted(api, "/v1/embeddings")]
    assert sizes == [512, 512, 276]
    got = embeddings(result)
    assert [g["index"] for g in got] == list(range(1300))
    assert got[0]["embedding"] == expected_embedding(lines[0], 128, "base64_binary")
    assert got[1299]["embedding"] == expected_embedding(lines[1299], 128, "base64_binary")
    assert set(got[700]["embedding"]) <= {0, 1} and len(got[700]["embedding"]) == 128
    meta = json.loads(result.stderr)
    assert (meta["requests"], meta["embeddings"], meta["usage"]["prompt_tokens"]) == (3, 1300, 3900)


def test_embed_retries_a_failed_batch_and_nul_separated_input(api, home):
    api.add("/v1/embeddings", agent_error(503, "try later", "bad_gateway", headers={"Retry-After": "0"}))
    result = run_cli(api, "embed", "-0", "--no-meta", "--dimensions", "128", stdin=b"a\nb\0c\0")
    assert result.returncode == 0, result.stderr
    assert [e["embedding"] for e in embeddings(result)] == [expected_embedding("a\nb", 128), expected_embedding("c", 128)]
    assert len(posted(api, "/v1/embeddings")) == 2


def test_embed_refuses_empty_texts_before_sending(api, home):
    for stdin, message in ((b"one\n\nthree\n", b"pplx: error: line 2 is empty"), (b"a\0\0b", b"pplx: error: input 2 is empty"),
                           (b"", b"pplx: error: no text on stdin")):
        refused = run_cli(api, "embed", *(["-0"] if b"\0" in stdin else []), stdin=stdin)
        assert refused.returncode == 2 and refused.stderr.startswith(message), refused.stderr
    assert run_cli(api, "embed", "ok", "").returncode == 2
    assert run_cli(api, "embed", "x", "--encoding", "binary", "--dimensions", "129").returncode == 2
    assert api.requests == []


def test_embed_contextual_documents_and_chunks(api, home):
    result = run_cli(api, "embed", "--contextual", "--dimensions", "128", "--no-meta", stdin=b"a1\na2\n\n\nb1\n")
    assert result.returncode == 0, result.stderr
    assert posted(api, "/v1/contextualizedembeddings") == [{"input": [["a1", "a2"], ["b1"]], "model": "pplx-embed-context-v1-0.6b",
                                                            "encoding_format": "base64_int8", "dimensions": 128}]
    got = embeddings(result)
    assert [(g["index"], g["document"], g["chunk"]) for g in got] == [(0, 0, 0), (1, 0, 1), (2, 1, 0)]
    assert got[1]["embedding"] == expected_contextualized_embedding(["a1", "a2"], 1, 128)
    record = json.loads(run_cli(api, "log", "--json", "-n", "1").stdout)
    assert (record["kind"], record["model"], record["exit_status"]) == ("embed", "pplx-embed-context-v1-0.6b", 0)


def test_search_wraps_snippets_on_a_terminal_and_neutralises_what_the_network_sent(api, home):
    import pty

    api.search_results = [{"title": "Evil \x1b]0;pwned\x07 title", "url": "https://a.example/1",
                           "snippet": "word " * 30, "date": None, "last_updated": None}]
    master, slave = pty.openpty()
    proc = subprocess.Popen([pplx_executable(), "search", "q", "--no-meta"], stdout=slave, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=dict(os.environ, PPLX_BASE_URL=api.url, COLUMNS="40"))
    os.close(slave)
    shown = read_all(master)
    assert proc.wait(30) == 0
    lines = shown.decode().replace("\r\n", "\n").splitlines()
    assert lines[0] == "[1] Evil \\x1b]0;pwned\\x07 title" and lines[1] == "https://a.example/1"
    assert lines[2:] == ["word " * 7 + "word"] * 3 + ["word " * 5 + "word"]


def test_dry_run_prints_each_request_sends_nothing_and_records_nothing(api, home):
    from tests.conftest import KEY

    result = run_cli(api, "ask", "--dry-run", "--effort", "low", "hello")
    assert result.returncode == 0 and result.stderr == b""
    assert result.stdout.decode() == (
        f"POST {api.url}/v1/responses\nAuthorization: Bearer pplx-…[redacted]\nUser-Agent: pplx-cli/0.2.0\n"
        "Accept: application/json\nContent-Type: application/json\n\n"
        '{\n  "effort": "low",\n  "input": "hello",\n  "stream": false,\n  "store": true\n}\n')
    assert KEY.encode() not in result.stdout
    for args, stdin in ((["stream", "--dry-run", "q"], b""), (["search", "--dry-run", "q"], b""),
                        (["fetch", "--dry-run", "https://a.example/"], b""), (["embed", "--dry-run", "x"], b""),
                        (["batch", "--dry-run"], b"a\nb\n"), (["jobs", "show", "resp_x", "--dry-run"], b""),
                        (["models", "--dry-run"], b"")):
        done = run_cli(api, *args, stdin=stdin)
        assert done.returncode == 0 and done.stdout.startswith((b"POST ", b"GET ")), (args, done.stderr)
    assert b"\n\nPOST " in run_cli(api, "batch", "--dry-run", stdin=b"a\nb\n").stdout  # one request per line
    assert api.requests == []
    assert run_cli(api, "log", "--json").stdout == b""
