"""Perplexity's own CLI's verbs, driven as its published agent skill and README drive them
(perplexityai/api-platform-developers skills/pplx-cli/SKILL.md; perplexity-cli's README):
the installed pplx as a subprocess against the local server, every byte of stdout and stderr
checked against that CLI's contract: success is exit 0 and one JSON object on stdout (and
nothing on stderr); failure is exit 1, nothing on stdout and one error object on stderr."""

import json
import os
import re
import subprocess

import pytest

from tests.conftest import KEY, pplx_executable
from tests.server import DROP, Reply, agent_error

#: One wording's results (the Search API's shape), and a rewording's: the page at
#: www.example.com/pods is found by both, spelled differently by the second.
OOM = [
    {"title": "OOMKilled explained", "url": "https://kubernetes.io/docs/oom", "snippet": "A container is killed when it exceeds its limit.",
     "date": "2026-05-01", "last_updated": "2026-06-01"},
    {"title": "Why pods die", "url": "https://www.example.com/pods", "snippet": "Memory limits.", "date": None,
     "last_updated": "2026-02-03"},
    {"title": "Limits and requests", "url": "https://blog.example.org/limits", "snippet": "", "date": None, "last_updated": None},
]
REWORDED = [
    {"title": "Why pods die (2)", "url": "https://WWW.example.com/pods/", "snippet": "Memory limits, again.", "date": "2026-01-09",
     "last_updated": None},
    {"title": "k8s OOM", "url": "https://stackoverflow.com/q/1", "snippet": "Raise the limit.", "date": None, "last_updated": None},
]
Q1, Q2 = "kubernetes pod OOMKilled causes", "why does k8s keep killing my pod with OOMKilled"


def pplx(api, *args, stdin=b"", env=None, cwd=None):
    """The installed pplx against ``api``, as a script or an agent runs it (nothing is a terminal)."""
    full = {**os.environ, "PPLX_BASE_URL": api.url, **(env or {})}
    return subprocess.run([pplx_executable(), *args], input=stdin, capture_output=True, env=full, timeout=60, cwd=cwd)


def succeeded(result) -> bytes:
    """The contract's success: exit 0, nothing on stderr, one JSON object (one line) on stdout."""
    assert (result.returncode, result.stderr) == (0, b""), result.stderr
    assert result.stdout.endswith(b"\n") and result.stdout.count(b"\n") == 1
    assert isinstance(json.loads(result.stdout), dict)
    return result.stdout


def failed(result, code, message, command, hint=None):
    """The contract's failure: exit 1, nothing on stdout, exactly this one object on stderr."""
    error = {"code": code, "message": message, "command": command, **({"hint": hint} if hint else {})}
    expected = json.dumps({"error": error}, ensure_ascii=False, separators=(",", ":")) + "\n"
    assert (result.returncode, result.stdout) == (1, b""), result.stderr
    assert result.stderr.decode() == expected


def posted(api, path):
    return [r["body"] for r in api.requests if r["path"] == path]


def bearer(api):
    return [r["headers"].get("Authorization") for r in api.requests]


AUTH_HINT = "set PERPLEXITY_API_KEY, or run 'pplx auth login' on a terminal"


# ---- search web: the skill's examples ----


def test_search_web_prints_one_json_object_of_hits(api, home):
    api.search_results = OOM
    out = succeeded(pplx(api, "search", "web", Q1))
    assert out.decode() == (
        '{"hits":['
        '{"url":"https://kubernetes.io/docs/oom","title":"OOMKilled explained","domain":"kubernetes.io",'
        '"snippet":"A container is killed when it exceeds its limit.","date":"2026-05-01","last_updated":"2026-06-01"},'
        '{"url":"https://www.example.com/pods","title":"Why pods die","domain":"example.com","snippet":"Memory limits.",'
        '"last_updated":"2026-02-03"},'
        '{"url":"https://blog.example.org/limits","title":"Limits and requests","domain":"blog.example.org","snippet":""}'
        '],"total":3}\n')
    assert posted(api, "/search") == [{"query": Q1, "max_results": 10, "display_server_time": True}]


def test_reworded_queries_are_one_request_merged_into_one_ranked_list(api, home):
    """Pitfall 3: extra positional queries are rewordings of one question, not searches of their own."""
    api.search_results = {Q1: OOM, Q2: REWORDED}
    out = succeeded(pplx(api, "search", "web", Q1, Q2, "-n", "5"))
    assert posted(api, "/search") == [{"query": [Q1, Q2], "max_results": 5, "display_server_time": True}]
    # best rank first, ties to the first wording; the page both found is one hit, at its better rank
    assert out.decode() == (
        '{"hits":['
        '{"url":"https://kubernetes.io/docs/oom","title":"OOMKilled explained","domain":"kubernetes.io",'
        '"snippet":"A container is killed when it exceeds its limit.","date":"2026-05-01","last_updated":"2026-06-01"},'
        '{"url":"https://WWW.example.com/pods/","title":"Why pods die (2)","domain":"example.com",'
        '"snippet":"Memory limits, again.","date":"2026-01-09"},'
        '{"url":"https://stackoverflow.com/q/1","title":"k8s OOM","domain":"stackoverflow.com","snippet":"Raise the limit."},'
        '{"url":"https://blog.example.org/limits","title":"Limits and requests","domain":"blog.example.org","snippet":""}'
        '],"total":4}\n')
    capped = json.loads(succeeded(pplx(api, "search", "web", Q1, Q2, "-n", "2")))
    assert [h["url"] for h in capped["hits"]] == ["https://kubernetes.io/docs/oom", "https://WWW.example.com/pods/"]
    assert capped["total"] == 2


def test_save_and_preview_as_the_skill_shows_it(api, home, tmp_path):
    """The skill's save-and-preview example: the full JSON in out/web/RANDOM.json, stdout cut."""
    api.search_results = {Q1: OOM, Q2: REWORDED}
    result = pplx(api, "search", "web", Q1, Q2, "-n", "5", "--output-dir", "out", "--stdout-preview=12", cwd=tmp_path)
    shown = json.loads(succeeded(result))
    [saved] = list((tmp_path / "out" / "web").iterdir())
    assert re.fullmatch(r"[0-9a-f]{16}\.json", saved.name) and shown["saved_to"] == str(saved)
    full = succeeded(pplx(api, "search", "web", Q1, Q2, "-n", "5"))
    assert saved.read_bytes() == full  # the file: the whole answer, as stdout has it without saving
    assert result.stdout.decode() == (
        '{"hits":['
        '{"url":"https://kubernetes.io/docs/oom","title":"OOMKilled ex...<truncated>","domain":"kubernetes.io",'
        '"snippet":"A container ...<truncated>","date":"2026-05-01","last_updated":"2026-06-01"},'
        '{"url":"https://WWW.example.com/pods/","title":"Why pods die...<truncated>","domain":"example.com",'
        '"snippet":"Memory limit...<truncated>","date":"2026-01-09"},'
        '{"url":"https://stackoverflow.com/q/1","title":"k8s OOM","domain":"stackoverflow.com","snippet":"Raise the li...<truncated>"},'
        '{"url":"https://blog.example.org/limits","title":"Limits and r...<truncated>","domain":"blog.example.org","snippet":""}'
        f'],"total":4,"saved_to":"{saved}","truncated":true}}\n')


def test_preview_without_a_save_dir_does_nothing_and_a_bare_one_takes_no_argument(api, home, tmp_path):
    """Pitfall 2: --stdout-preview alone is a no-op; --stdout-preview takes its value only after '='."""
    api.search_results = OOM
    plain = succeeded(pplx(api, "search", "web", Q1))
    assert succeeded(pplx(api, "search", "web", Q1, "--stdout-preview=5")) == plain
    assert succeeded(pplx(api, "search", "web", "--stdout-preview", Q1)) == plain  # the query is not its value
    env = {"PPLX_OUTPUT_DIR": str(tmp_path / "saved")}
    nothing_cut = json.loads(succeeded(pplx(api, "search", "web", Q1, "--stdout-preview=100", env=env)))
    assert "truncated" not in nothing_cut and nothing_cut["hits"] == json.loads(plain)["hits"]
    assert nothing_cut["saved_to"].startswith(str(tmp_path / "saved" / "web") + "/")
    api.search_results = [dict(OOM[0], snippet="x" * 250)]
    short = json.loads(succeeded(pplx(api, "search", "web", Q1, "--stdout-preview", env=env)))
    assert short["truncated"] is True and short["hits"][0]["snippet"] == "x" * 200 + "...<truncated>"  # the default: 200
    assert len(list((tmp_path / "saved" / "web").iterdir())) == 2


def test_the_readme_s_flags_reach_the_search_api(api, home):
    api.search_results = OOM
    succeeded(pplx(api, "search", "web", "rust programming", "-n", "5"))
    succeeded(pplx(api, "search", "web", "model releases", "--domains", "wikipedia.org,arxiv.org",
                   "--excluded-domains", "reddit.com", "--country", "de", "--search-context-size", "low"))
    succeeded(pplx(api, "search", "web", "openai news", "--recency-filter", "week"))
    succeeded(pplx(api, "search", "web", "openai news", "--published-after-date", "3/1/2026",
                   "--published-before-date", "03/05/2026", "--max-tokens", "2000", "--max-tokens-per-page", "500"))
    succeeded(pplx(api, "search", "web", "many", "--limit", "50"))  # more than the API's 20: asked for 20, capped at 50
    base = {"display_server_time": True}
    assert posted(api, "/search") == [
        {"query": "rust programming", "max_results": 5, **base},
        {"query": "model releases", "max_results": 10, "country": "DE", "search_context_size": "low",
         "search_domain_filter": ["wikipedia.org", "arxiv.org", "-reddit.com"], **base},
        {"query": "openai news", "max_results": 10, "search_recency_filter": "week", **base},
        {"query": "openai news", "max_results": 10, "search_after_date_filter": "3/1/2026",
         "search_before_date_filter": "03/05/2026", "max_tokens": 2000, "max_tokens_per_page": 500, **base},
        {"query": "many", "max_results": 20, **base}]


# ---- the failure contract: the skill's pitfalls, and everything else that can go wrong ----


def test_unknown_flags_bad_values_and_refused_combinations_send_nothing(api, home):
    help_hint = "see 'pplx search web --help'"
    no_json = f"{help_hint}; the output is JSON already (there is no --json or --format)"
    failed(pplx(api, "search", "web", "q", "--json"), "UNKNOWN_ARGUMENT", "unknown option '--json'", "search web", no_json)
    failed(pplx(api, "search", "web", "q", "--format", "md"), "UNKNOWN_ARGUMENT", "unknown option '--format'", "search web", no_json)
    failed(pplx(api, "search", "web", "q", "--published-after-date", "2026-07-01"), "ARGUMENT_ERROR",
           "Invalid value for '--published-after-date': '2026-07-01' is not a date as MM/DD/YYYY (e.g. 07/01/2026; not ISO)",
           "search web", help_hint)
    failed(pplx(api, "search", "web", "q", "--published-before-date", "02/30/2026"), "ARGUMENT_ERROR",
           "Invalid value for '--published-before-date': '02/30/2026' is no date in the calendar", "search web", help_hint)
    failed(pplx(api, "search", "web", "q", "-n", "0"), "ARGUMENT_ERROR",
           "Invalid value for '-n' / '--limit': 0 is not in the range x>=1.", "search web", help_hint)
    failed(pplx(api, "search", "web"), "ARGUMENT_ERROR", "Missing argument 'QUERY [QUERY]...'.", "search web",
           'pplx search web QUERY [QUERY]...; to search for the word "web" with pplx\'s own search: pplx search -- web')
    failed(pplx(api, "search", "web", "  "), "ARGUMENT_ERROR", "an empty query", "search web")
    failed(pplx(api, "search", "web", *"abcdef"), "ARGUMENT_ERROR", "at most 5 wordings of one question", "search web",
           "a different question is a search of its own")
    # pitfall 7: the service refuses recency with a publication date as BAD_REQUEST; pplx says so before sending
    failed(pplx(api, "search", "web", "q", "--recency-filter", "week", "--published-after-date", "07/01/2026"), "BAD_REQUEST",
           "recency cannot be used together with published_after or published_before", "search web",
           "give --recency-filter or the date bounds, not both")
    failed(pplx(api, "content", "snippets", "q"), "ARGUMENT_ERROR", "Missing argument 'URL [URL]...'.", "content snippets",
           "see 'pplx content snippets --help'")
    failed(pplx(api, "content", "snippets", "q", *[f"https://a.example/{i}" for i in range(51)]), "ARGUMENT_ERROR",
           "51 URLs: the Context API takes at most 50 in one request", "content snippets")
    failed(pplx(api, "content", "fetch", "example.com"), "ARGUMENT_ERROR",
           "not an http(s) URL: 'example.com'; did you mean https://example.com?", "content fetch")
    failed(pplx(api, "content", "fetch", "https://a.example/", "--json"), "UNKNOWN_ARGUMENT", "unknown option '--json'",
           "content fetch", "see 'pplx content fetch --help'; the output is JSON already (there is no --json or --format)")
    failed(pplx(api, "content", "summarize"), "UNKNOWN_ARGUMENT", "unknown command 'summarize'", "content",
           "the commands are: fetch, snippets")
    assert api.requests == []


def test_no_key_and_a_refused_key_are_authentication(api, home):
    failed(pplx(api, "search", "web", "q", env={"PPLX_API_KEY": ""}), "AUTHENTICATION", "no API key", "search web", AUTH_HINT)
    failed(pplx(api, "content", "fetch", "https://a.example/", env={"PPLX_API_KEY": ""}), "AUTHENTICATION", "no API key",
           "content fetch", AUTH_HINT)
    assert api.requests == []
    api.keys = {KEY}
    wrong = "pplx-wrong-0123456789abcdef"
    result = pplx(api, "search", "web", "q", env={"PERPLEXITY_API_KEY": wrong})
    failed(result, "AUTHENTICATION", "HTTP 401: Invalid API key (invalid_api_key); the key came from PERPLEXITY_API_KEY",
           "search web", AUTH_HINT)
    api.add("/v1/context", Reply(status=401, parts=[b"<html><title>401 Authorization Required</title></html>"],
                                 headers={"Content-Type": "text/html"}, framing="length"))
    failed(pplx(api, "content", "snippets", "q", "https://a.example/"), "AUTHENTICATION",
           "HTTP 401: HTML page '401 Authorization Required'; the key came from PPLX_API_KEY", "content snippets", AUTH_HINT)


def test_perplexity_api_key_wins_over_pplx_api_key_and_the_stored_key(api, home):
    stored = home / ".config" / "perplexity" / "credentials.json"
    stored.parent.mkdir(parents=True)
    stored.write_text('{"api_key": "pplx-stored-0123456789abcdef"}')
    succeeded(pplx(api, "search", "web", "q", env={"PERPLEXITY_API_KEY": "pplx-env-0123456789abcdef"}))
    succeeded(pplx(api, "search", "web", "q", env={"PPLX_API_KEY": ""}))
    ours = pplx(api, "search", "q", "--no-meta", env={"PERPLEXITY_API_KEY": "pplx-env-0123456789abcdef"})
    assert ours.returncode == 0  # pplx's own commands: PPLX_API_KEY first
    assert bearer(api) == ["Bearer pplx-env-0123456789abcdef", "Bearer pplx-stored-0123456789abcdef", f"Bearer {KEY}"]


def test_a_429_after_the_retries_is_rate_limit_and_server_errors_and_bad_requests_have_their_codes(api, home):
    slow = agent_error(429, "rate limit exceeded", "request_rate_limit_exceeded", headers={"Retry-After": "0"})
    api.add("/search", slow, slow, slow)
    failed(pplx(api, "search", "web", "q"), "RATE_LIMIT", "HTTP 429: rate limit exceeded (request_rate_limit_exceeded)",
           "search web", "the service's rate limit: try again later")
    assert len(posted(api, "/search")) == 3  # the first and two retries, said nowhere
    api.add("/search", slow, slow)
    assert json.loads(succeeded(pplx(api, "search", "web", "q")))["total"] == 10  # the third try answered
    down = agent_error(503, "upstream down", "bad_gateway", headers={"Retry-After": "0"})
    api.add("/v1/context", down, down, down)
    failed(pplx(api, "content", "fetch", "https://a.example/"), "SERVER_ERROR", "HTTP 503: upstream down (bad_gateway)",
           "content fetch", "the service failed: try again later")
    api.add("/search", agent_error(400, "validation failed: country must be an ISO 3166-1 alpha-2 code", param="country"))
    failed(pplx(api, "search", "web", "q"), "BAD_REQUEST",
           "HTTP 400: validation failed: country must be an ISO 3166-1 alpha-2 code (invalid_request)", "search web")


def test_network_failures_are_one_error_object(api, home):
    config = home / ".config" / "pplx" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("retries = 0\n")
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    refused = pplx(api, "search", "web", "q", env={"PPLX_BASE_URL": f"http://127.0.0.1:{port}"})
    failed(refused, "NETWORK_ERROR", f"cannot connect to http://127.0.0.1:{port}: Connection refused", "search web")
    api.add("/v1/context", Reply(parts=[b'{"id": "x", "results": [', DROP], headers={"Content-Type": "application/json"}))
    cut = pplx(api, "content", "fetch", "https://a.example/")
    assert (cut.returncode, cut.stdout) == (1, b"") and cut.stderr.count(b"\n") == 1
    assert json.loads(cut.stderr)["error"]["code"] == "NETWORK_ERROR"


def test_a_hostile_answer_is_said_safely_or_refused(api, home):
    for body, message in ((b"<html>maintenance</html>", "the answer of /search is not JSON"),
                          (b"[1, 2]", "the answer of /search is not a JSON object"),
                          (b'{"results": "none"}', "the search answer has no results list"),
                          (b"[" * 100_000, "the answer of /search is not JSON")):
        api.add("/search", Reply(parts=[body], headers={"Content-Type": "application/json"}, framing="length"))
        failed(pplx(api, "search", "web", "q"), "API_ERROR", message, "search web")
    api.add("/search", agent_error(400, f"bad key {KEY}\x1b[2J\nsecond line"))
    failed(pplx(api, "search", "web", "q"), "BAD_REQUEST", "HTTP 400: bad key [redacted]\x1b[2J second line (invalid_request)",
           "search web")
    api.search_results = [
        {"title": f"Evil \x1b]0;pwned\x07 title {KEY}", "url": "https://a.example/1", "snippet": "\u202eesrever\u202c",
         "date": 20260101, "last_updated": None},
        "not a result", {"title": "no url"}, {"title": "script", "url": "javascript:alert(1)"},
        {"title": "an option", "url": "--base-url=http://evil.example"}, {"title": 7, "url": "https://b.example/2"}]
    out = succeeded(pplx(api, "search", "web", "q"))
    assert out == (b'{"hits":[{"url":"https://a.example/1","title":"Evil \\u001b]0;pwned\\u0007 title [redacted]",'
                   b'"domain":"a.example","snippet":"\\u202eesrever\\u202c"},'
                   b'{"url":"https://b.example/2","title":"","domain":"b.example"}],"total":2}\n')


# ---- content snippets and content fetch ----


def test_snippets_are_one_result_per_url_in_order_and_a_failed_page_is_no_failure(api, home):
    """The third-party skills' example: a failed page carries "error", and the command succeeds."""
    bloom = "https://en.wikipedia.org/wiki/Bloom_filter"
    api.context_pages = {bloom: {"highlights": ["A Bloom filter tests membership.", "  ", "False positives are possible."]}}
    api.context_failures = {"https://blocked.example/": ("blocked", "the site does not allow fetching")}
    result = pplx(api, "content", "snippets", "how does a bloom filter decide set membership", bloom,
                  "https://blocked.example/", "https://c.example/x", "--max-tokens", "512", "--max-tokens-per-page", "256")
    assert succeeded(result).decode() == (
        '{"results":['
        '{"url":"https://en.wikipedia.org/wiki/Bloom_filter","text":"A Bloom filter tests membership.\\n…\\nFalse positives are possible."},'
        '{"url":"https://blocked.example/","error":"blocked: the site does not allow fetching"},'
        '{"url":"https://c.example/x","text":"Body of https://c.example/x.\\n…\\nMatched: how does a bloom filter decide set membership"}'
        ']}\n')
    # the Context API has no budget for all pages: each gets its share of --max-tokens, at most --max-tokens-per-page
    assert posted(api, "/v1/context") == [{"urls": [bloom, "https://blocked.example/", "https://c.example/x"],
                                            "formats": ["highlights"], "max_tokens_per_url": 170,
                                            "highlights": {"query": "how does a bloom filter decide set membership"}}]
    succeeded(pplx(api, "content", "snippets", "q", "https://c.example/x"))
    assert posted(api, "/v1/context")[-1]["max_tokens_per_url"] == 1024
    failed(pplx(api, "content", "snippets", "q", "https://c.example/x", "--max-tokens", "100", "--max-tokens-per-page", "200"),
           "ARGUMENT_ERROR", "--max-tokens-per-page (200) is more than --max-tokens (100)", "content snippets")


def test_content_fetch_prints_the_page_and_its_flags_and_a_failed_page_says_error(api, home, tmp_path):
    url = "https://example.com/article"
    api.context_pages = {url: {"title": "An article", "description": "About it", "author": "Ada Writer",
                               "published_date": "2026-03-01", "markdown": "# An article\n\nIts text.\n", "html": "<p>Its text.</p>"}}
    assert succeeded(pplx(api, "content", "fetch", url)).decode() == (
        '{"url":"https://example.com/article","title":"An article","description":"About it","authors":["Ada Writer"],'
        '"published_date":"2026-03-01","domain":"example.com","content":"# An article\\n\\nIts text.\\n","is_paywall":false,'
        '"cached":true}\n')
    live = json.loads(succeeded(pplx(api, "content", "fetch", url, "--no-cache", "--html")))
    assert (live["cached"], live["raw_html"]) == (False, "<p>Its text.</p>")
    assert posted(api, "/v1/context") == [{"urls": [url], "formats": ["markdown"]},
                                          {"urls": [url], "formats": ["markdown", "html"], "max_age_seconds": 0}]
    api.context_failures = {url: ("timeout", "the page did not load in time")}
    assert succeeded(pplx(api, "content", "fetch", url)).decode() == (
        '{"url":"https://example.com/article","domain":"example.com","content":"","is_paywall":false,'
        '"error":"timeout: the page did not load in time"}\n')
    api.context_failures = {}
    saved = json.loads(succeeded(pplx(api, "content", "fetch", url, "--output-dir", str(tmp_path), "--stdout-preview=4")))
    assert saved["content"] == "# An...<truncated>" and saved["url"] == url and saved["truncated"] is True
    assert saved["saved_to"].startswith(str(tmp_path / "fetch") + "/")
    assert json.loads((tmp_path / "fetch" / os.path.basename(saved["saved_to"])).read_text())["content"] == "# An article\n\nIts text.\n"


def test_a_save_dir_that_cannot_be_written_is_io_error_with_nothing_printed(api, home, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = pplx(api, "search", "web", "q", env={"PPLX_OUTPUT_DIR": str(blocker / "sub")})
    failed(result, "IO_ERROR", f"cannot save the result under {blocker / 'sub' / 'web'}: Not a directory", "search web",
           "give a directory you can write with --output-dir or PPLX_OUTPUT_DIR")


# ---- beside pplx's own commands ----


def test_the_verbs_are_in_the_history_as_searches_and_fetches(api, home):
    api.search_results = OOM
    succeeded(pplx(api, "search", "web", Q1, Q2))
    succeeded(pplx(api, "content", "fetch", "https://a.example/"))
    succeeded(pplx(api, "content", "snippets", "q", "https://a.example/", "https://b.example/"))
    failed(pplx(api, "search", "web", "q", "--recency-filter", "day", "--published-before-date", "1/1/2026"), "BAD_REQUEST",
           "recency cannot be used together with published_after or published_before", "search web",
           "give --recency-filter or the date bounds, not both")
    records = [json.loads(line) for line in pplx(api, "log", "--json").stdout.splitlines()]
    assert [(r["kind"], r["model"], r["prompt"], r["exit_status"]) for r in records] == [
        ("fetch", "context", "https://a.example/\nhttps://b.example/", 0), ("fetch", "context", "https://a.example/", 0),
        ("search", "search", f"{Q1}\n{Q2}", 0)]
    assert records[2]["meta"]["command"] == "search web" and records[2]["meta"]["results"] == 3
    assert records[2]["cost"] == 0.005 and json.loads(records[2]["answer"])["total"] == 3


def test_pplx_s_own_search_is_unchanged_and_can_search_for_the_word_web(api, home):
    api.search_results = OOM[:1]
    ours = pplx(api, "search", "web frameworks", "--no-meta")
    assert ours.returncode == 0 and ours.stdout.startswith(b"[1] OOMKilled explained\n")
    assert pplx(api, "search", "--no-meta", "--", "web", "frameworks").returncode == 0
    assert pplx(api, "search", "-Q", "web", "--urls", "--no-meta").stdout == b"https://kubernetes.io/docs/oom\n"
    assert [b["query"] for b in posted(api, "/search")] == ["web frameworks", "web frameworks", "web"]
    usage = pplx(api, "search", "--json", "--urls", "q")  # our contract: one line and a hint, exit 2
    assert usage.returncode == 2 and usage.stderr.startswith(b"pplx: error: ")


def test_version_tells_the_two_programs_apart():
    from pplx_cli import __version__

    result = subprocess.run([pplx_executable(), "--version"], capture_output=True)
    assert result.stdout == f"pplx {__version__} (pplx-cli)\n".encode()
    assert not re.match(rb"\d{4}\.\d{2}\.\d{2}\.", result.stdout)  # Perplexity's CLI prints a calendar build


# ---- pure pieces ----


@pytest.mark.parametrize("url, domain", [("https://www.example.com/a", "example.com"), ("https://EN.Wikipedia.org/", "en.wikipedia.org"),
                                         ("http://www.com/", "www.com"), ("https://a.example:8443/x", "a.example")])
def test_a_hit_s_domain(url, domain):
    from pplx_cli.dialects.official import domain_of

    assert domain_of(url) == domain


def test_merging_keeps_each_page_once_at_its_best_rank():
    from pplx_cli.dialects.official import merge_hits

    a = [{"url": f"https://a.example/{i}", "title": str(i)} for i in range(3)]
    b = [{"url": "https://a.example/2/", "title": "again"}, {"url": "https://b.example/", "title": "b"}]
    merged = merge_hits([a, b, []], 10)
    assert [(h["url"], h["title"]) for h in merged] == [
        ("https://a.example/0", "0"), ("https://a.example/2/", "again"), ("https://a.example/1", "1"), ("https://b.example/", "b")]
    assert merge_hits([a, b], 1) == [{"url": "https://a.example/0", "title": "0", "domain": "a.example"}]


def test_search_web_is_documented_with_every_option_in_pplx_content_1():
    """tests/test_docs.py walks the commands pplx lists; 'search web' is reached through 'search'."""
    import click

    from pplx_cli.commands.official import web
    from tests.test_docs import PAGE_TEXT

    options = [opt for param in web.params if isinstance(param, click.Option) for opt in param.opts]
    assert "-n" in options and "--stdout-preview" in options
    for opt in options:
        assert re.search(re.escape(opt) + r"(?![\w-])", PAGE_TEXT["pplx-content"]), opt
    assert "pplx search web" in PAGE_TEXT["pplx-search"] and "pplx search web" in PAGE_TEXT["pplx"]


@pytest.mark.parametrize("signal_name, status, code, message", [("SIGINT", 130, "INTERRUPTED", "interrupted"),
                                                                 ("SIGTERM", 143, "TERMINATED", "terminated")])
def test_a_signal_keeps_its_status_and_says_one_error_object(api, home, signal_name, status, code, message):
    import signal
    import time

    api.add("/search", Reply(stall_before_headers=20, parts=[b"{}"], headers={"Content-Type": "application/json"}))
    proc = subprocess.Popen([pplx_executable(), "search", "web", "q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env={**os.environ, "PPLX_BASE_URL": api.url})
    deadline = time.monotonic() + 20
    while not api.requests and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(getattr(signal, signal_name))
    out, err = proc.communicate(timeout=30)
    failed(subprocess.CompletedProcess([], 1, out, err), code, message, "search web")
    assert proc.returncode == status
