"""The Agent API, the default path, end to end: the installed CLI against the local server
that speaks it as the real service does (tests/server.py). Exact stdout, stderr lines,
exit status, and the request body field by field."""

import json
import os
import subprocess
import time

import pytest

from tests.conftest import KEY, pplx_executable
from tests.server import AgentRun, Reply, agent_error, json_reply

AGENT = "/v1/responses"
CHAT = "/chat/completions"


def run_cli(api, *args, input=b"", env=None, timeout=30, exe=None):
    full = dict(os.environ, PPLX_BASE_URL=api.url, **(env or {}))
    return subprocess.run([exe or pplx_executable(), *args], input=input, capture_output=True, env=full, timeout=timeout)


def meta_of(result) -> dict:
    [line] = [x for x in result.stderr.decode().splitlines() if x.startswith("{")]
    return json.loads(line)


def block(ids, query):
    """A search block whose results have the given ids."""
    return {"queries": [query], "results": [{"id": i, "url": f"https://example.org/{i}", "title": f"Source {i}",
                                             "snippet": f"snippet {i}"} for i in ids]}


# ---- the default request ----


@pytest.mark.parametrize("event_lines", [True, False])
@pytest.mark.parametrize("command", ["ask", "stream"])
def test_default_request_and_answer(api, home, command, event_lines):
    api.add(AGENT, AgentRun(event_lines=event_lines, seq_gaps=True, id="resp_default"))
    result = run_cli(api, command, "What", "is", "the", "capital", "of", "Australia?")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"Canberra is the capital of Australia [1].\n"
    assert api.requests[0]["body"] == {"effort": "fast", "input": "What is the capital of Australia?",
                                       "stream": command == "stream", "store": True}
    meta = meta_of(result)
    assert result.stderr.decode().count("\n") == 1  # the metadata alone
    assert meta["api"] == "agent" and meta["id"] == "resp_default"
    assert meta["model"] == "openai/gpt-5.1"  # the model that answered, not the effort's name
    assert meta["usage"]["cost"]["total_cost"] == 0.00119 and meta["usage"]["tool_calls_details"]["search_web"]["invocation"] == 1
    assert meta["usage"]["prompt_tokens"] == 3007 and meta["usage"]["completion_tokens"] == 36
    assert meta["search_queries"] == ["capital of Australia"]
    assert meta["citations"] == ["https://en.wikipedia.org/wiki/Canberra", "https://www.britannica.com/place/Canberra"]
    assert meta["request_id"] == "default"
    assert meta["ratelimit"] == {"limit": 50, "remaining": 49, "reset": meta["ratelimit"]["reset"], "used": 1}
    assert meta["finish_reason"] == "stop"


def test_the_search_web_item_and_unknown_events_are_not_printed(api, home):
    api.add(AGENT, AgentRun(unknown_events=4, seq_gaps=True))  # 2 documented (skill.loaded), 2 not
    quiet = run_cli(api, "stream", "q", "--no-meta", "--reasoning", "show")
    assert quiet.returncode == 0 and quiet.stderr == b""
    # reasoning shows what was searched; no tool call is printed for the service's own search
    assert quiet.stdout == b"Searching: capital of Australia\n\nCanberra is the capital of Australia [1].\n"
    verbose = run_cli(api, "stream", "q", "--no-meta", "-v")
    notes = [x for x in verbose.stderr.decode().splitlines() if x.startswith("pplx: note:")]
    assert notes == ["pplx: note: ignored 2 events of unknown type: response.plan.updated (2)"]


# ---- what the stream lost, the final text recovers ----


def test_missed_final_deltas_are_printed_from_output_text_done(api, home, tmp_path):
    text = "Canberra was chosen in 1908 as a compromise between Sydney and Melbourne."
    api.add(AGENT, AgentRun(text=text, drop_deltas={9, 10, 11}))  # the last three words never arrive as deltas
    result = run_cli(api, "stream", "q", "--no-meta")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (text + "\n").encode()
    assert result.stderr == b""


def test_a_missed_middle_delta_warns_and_the_complete_answer_follows(api, home):
    text = "one two three four"
    api.add(AGENT, AgentRun(text=text, drop_deltas={1}))
    result = run_cli(api, "stream", "q", "--no-meta")
    assert result.returncode == 0
    assert result.stdout == b"one three four\n\none two three four\n"
    assert result.stderr == b"pplx: warning: some of the streamed answer was lost; the complete answer follows\n"
    # what is kept (pplx log, a follow-up's input) is the complete answer alone
    [record] = [json.loads(x) for x in run_cli(api, "log", "--json", "-n", "1").stdout.decode().splitlines()]
    assert record["answer"] == text


# ---- terminal states ----


@pytest.mark.parametrize("command", ["ask", "stream"])
@pytest.mark.parametrize("run, stdout, error", [
    (AgentRun(text="partial answer", status="failed", error="upstream model overloaded"), b"partial answer\n",
     "response failed: upstream model overloaded (internal_error)"),
    (AgentRun(text="partial answer", status="cancelled"), b"partial answer\n",
     "response cancelled: the run was cancelled"),
    (AgentRun(text="", status="incomplete", incomplete_reason="max_output_tokens"), b"",
     "response incomplete: the reasoning used the whole output budget before any answer; raise --max-tokens"),
    (AgentRun(text="cut off he", status="incomplete", incomplete_reason="max_output_tokens"), b"cut off he\n",
     "response incomplete: the answer was cut off at the output budget; raise --max-tokens"),
    (AgentRun(text="", status="requires_action"), b"",
     "response requires_action: the model asked for a function call that pplx does not run"),
], ids=["failed", "cancelled", "incomplete-empty", "incomplete-cut", "requires_action"])
def test_unfinished_runs_exit_1_with_what_arrived(api, home, command, run, stdout, error):
    api.add(AGENT, run)
    result = run_cli(api, command, "q")
    assert result.returncode == 1
    assert result.stdout == stdout
    lines = result.stderr.decode().splitlines()
    assert lines[-1] == f"pplx: error: {error}"
    assert len(lines) == 2 and json.loads(lines[0])["error"] == error
    assert "Traceback" not in result.stderr.decode()


def test_failed_body_is_exit_1(api, home):
    api.add(AGENT, AgentRun(text="", status="failed", error="quota exhausted"))
    result = run_cli(api, "ask", "q", "--no-meta")
    assert result.returncode == 1
    assert result.stderr == b"pplx: error: response failed: quota exhausted (internal_error)\n"


@pytest.mark.parametrize("flat", [False, True])
def test_a_bare_error_event_keeps_the_text(api, home, flat):
    api.add(AGENT, AgentRun(text="so far", status="error", error="stream broke", flat_error=flat))
    result = run_cli(api, "stream", "q", "--no-meta")
    assert result.returncode == 1
    assert result.stdout == b"so far\n"
    expected = "stream broke" if flat else "stream broke (internal_error)"  # a flat event's "type" is the event's
    assert result.stderr.decode() == f"pplx: error: {expected}\n"


def test_not_found_is_exit_1_with_its_message(api, home):
    api.add(AGENT, agent_error(404, "resource not found", "not_found"))
    result = run_cli(api, "ask", "q")
    assert (result.returncode, result.stdout) == (1, b"")
    assert result.stderr == b"pplx: error: HTTP 404: resource not found (not_found)\n"


# ---- sources and citations ----

SEARCHES = [block(range(11, 14), "first"), block(range(21, 23), "second"), block(range(1, 3), "third")]
FETCHES = [{"urls": ["https://docs.example/a"], "contents": [
    {"url": "https://docs.example/a", "title": "Doc A", "snippet": "page a"},
    {"url": "https://docs.example/b", "title": "Doc B", "snippet": "page b"}]}]
SOURCE_LINES = ("\n[1] Source 1 <https://example.org/1>\n[2] Source 2 <https://example.org/2>\n"
                "[11] Source 11 <https://example.org/11>\n[12] Source 12 <https://example.org/12>\n"
                "[13] Source 13 <https://example.org/13>\n[21] Source 21 <https://example.org/21>\n"
                "[22] Source 22 <https://example.org/22>\n[page 1] Doc A <https://docs.example/a>\n"
                "[page 2] Doc B <https://docs.example/b>\n")


def test_sources_keep_their_ids_across_every_block_and_fetched_pages(api, home):
    text = "Alpha [12], beta [web:21] and gamma [2][13]; from a page [web:1]."
    api.add(AGENT, AgentRun(text=text, searches=SEARCHES, fetches=FETCHES))
    asked = run_cli(api, "ask", "q", "--sources")
    streamed = run_cli(api, "stream", "q", "--sources")
    for result in (asked, streamed):
        assert result.returncode == 0, result.stderr
        assert result.stdout.decode() == text + "\n" + SOURCE_LINES
    ask_meta, stream_meta = meta_of(asked), meta_of(streamed)
    for key in ("search_results", "citations", "search_queries", "fetch_url_results"):
        assert ask_meta[key] == stream_meta[key], key
    assert [r["id"] for r in ask_meta["search_results"]] == [1, 2, 11, 12, 13, 21, 22]
    assert ask_meta["search_queries"] == ["first", "second", "third"]
    assert [p["url"] for p in ask_meta["fetch_url_results"]] == ["https://docs.example/a", "https://docs.example/b"]


def test_a_fetch_only_answer_cites_pages_from_zero(api, home):
    api.add(AGENT, AgentRun(text="It says so [web:0].", searches=[], fetches=FETCHES))
    result = run_cli(api, "ask", "q", "-m", "perplexity/sonar", "--no-search", "--fetch", "--sources", "--no-meta")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (b"It says so [web:0].\n\n[web:0] Doc A <https://docs.example/a>\n"
                             b"[web:1] Doc B <https://docs.example/b>\n")
    assert api.requests[0]["body"]["tools"] == [{"type": "fetch_url"}]


@pytest.mark.parametrize("command", ["ask", "stream"])
def test_on_a_terminal_web_n_links_to_the_search_result_with_id_n(api, home, command):
    """A run that searched and fetched (as recorded medium-effort runs do): [web:1] and [1]
    link to search result 1, [web:12] to result 12, on ask as on stream; a fetched page is
    listed as [page N] and no marker links to it."""
    import re

    from tests.test_hostile import run_on_pty, unstyled

    text = "Alpha [web:12], beta [1] and a page [web:1].\n"
    api.add(AGENT, AgentRun(text=text, searches=SEARCHES, fetches=FETCHES))
    env = dict(os.environ, PPLX_BASE_URL=api.url, TERM="xterm-256color", COLUMNS="100")
    env.pop("NO_COLOR", None)
    code, shown = run_on_pty([command, "q", "--no-meta", "--sources"], env, columns=100)
    assert code == 0, shown
    links = dict((label, url) for url, label in re.findall(r"\x1b\]8;;([^\x1b]+)\x1b\\(?:\x1b\[[0-9;]*m)*\[([^\]]+)\]", shown))
    assert links == {"web:12": "https://example.org/12", "1": "https://example.org/1", "web:1": "https://example.org/1"}
    assert "[page 1] Doc A <https://docs.example/a>" in unstyled(shown)


@pytest.mark.parametrize("command", ["ask", "stream"])
def test_citations_strip_removes_markers_even_split_across_deltas(api, home, command):
    text = "Canberra [1] is the capital[2]. It was planned [web:11].\n\n```py\nx = a[1]\n```\nDone [3]."
    api.add(AGENT, AgentRun(text=text, deltas=len(text)))  # one character per delta: every marker is split
    result = run_cli(api, command, "q", "--citations", "strip", "--no-meta")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"Canberra is the capital. It was planned.\n\n```py\nx = a[1]\n```\nDone.\n"
    api.routes.clear()
    kept = run_cli(api, command, "q", "--no-meta")
    assert kept.stdout == b"Canberra is the capital of Australia [1].\n"


def test_raw_piped_to_parse_equals_stream_for_agent_streams(api, home, tmp_path):
    run = AgentRun(text="Alpha [12] and [web:0].", searches=SEARCHES, fetches=FETCHES, seq_gaps=True, unknown_events=2,
                   id="resp_same")
    api.add(AGENT, run)
    flags = ["--sources", "--reasoning", "show"]
    streamed = run_cli(api, "stream", "q", *flags, "--meta", str(tmp_path / "a.json"))
    raw = run_cli(api, "raw", "q")
    parsed = run_cli(api, "parse", *flags, "--meta", str(tmp_path / "b.json"), input=raw.stdout)
    assert streamed.returncode == raw.returncode == parsed.returncode == 0, (streamed.stderr, parsed.stderr)
    assert parsed.stdout == streamed.stdout and b"[page 1] Doc A" in streamed.stdout
    a, b = (json.loads((tmp_path / n).read_text()) for n in ("a.json", "b.json"))
    a.pop("request_id"), a.pop("ratelimit")  # response headers: parse has only the body
    a.pop("created"), b.pop("created")  # two runs of the same script, perhaps a second apart
    assert a == b


# ---- options through a strict server ----


def test_user_location_beyond_the_country_goes_through_o(api, home):
    result = run_cli(api, "ask", "q", "--country", "de", "-o", "tools.0.user_location.city", "Berlin", "--no-meta")
    assert result.returncode == 0, result.stderr
    assert api.requests[0]["body"]["tools"] == [
        {"type": "web_search", "user_location": {"country": "DE", "city": "Berlin"}}, {"type": "fetch_url"}]


def test_anthropic_models_get_a_default_budget_the_strict_server_accepts(api, home):
    result = run_cli(api, "ask", "q", "--models", "anthropic/claude-sonnet-4-5,openai/gpt-5.1", "--no-meta")
    assert result.returncode == 0, result.stderr
    body = api.requests[0]["body"]
    assert body["models"] == ["anthropic/claude-sonnet-4-5", "openai/gpt-5.1"] and body["max_output_tokens"] == 8192


def test_the_strict_server_refuses_anthropic_without_a_budget(api, home):
    result = run_cli(api, "ask", "q", "-m", "anthropic/claude-sonnet-4-5", "-o", "max_output_tokens", "null")
    assert result.returncode == 1
    assert result.stderr == (b"pplx: error: HTTP 400: validation failed: max_output_tokens is required for anthropic models "
                             b"(invalid_request)\n")


def test_chat_retirement_over_a_real_socket(api, home):
    api.add(CHAT, agent_error(403, "Sonar is now the Agent API. Use /v1/responses instead of /v1/sonar.",
                              "chat_completions_not_available"))
    result = run_cli(api, "ask", "q", "--api", "chat")
    assert (result.returncode, result.stdout) == (1, b"")
    assert result.stderr == (b"pplx: error: HTTP 403: Sonar chat completions are retired for this key "
                             b"(chat_completions_not_available); use --api agent (the default)\n")
    assert api.paths() == [CHAT]


# ---- rate limits ----


def test_429_without_retry_after_waits_until_the_reset(api, home):
    reset = int(time.time()) + 3
    api.add(AGENT, agent_error(429, "rate limited", "request_rate_limit_exceeded",
                               headers={"x-ratelimit-limit": "50", "x-ratelimit-remaining": "0",
                                        "x-ratelimit-reset": str(reset)}), AgentRun())
    started = time.time()
    result = run_cli(api, "ask", "q", "--no-meta")
    ended = time.time()
    assert result.returncode == 0, result.stderr
    [line] = result.stderr.decode().splitlines()
    wait = float(line.split("retrying in ")[1].split("s ")[0])
    assert line == f"pplx: retrying in {wait:.1f}s after HTTP 429 (1/2)"
    # the 429 came between started and ended: the wait is what was left until the reset then
    assert reset - ended - 0.05 <= wait <= reset - started + 0.05
    assert ended - started >= wait
    assert len(api.requests) == 2


# ---- conversations ----


def test_follow_up_continues_a_stored_response_by_id(api, home):
    first = run_cli(api, "ask", "-s", "Be brief.", "--effort", "low", "capital of Australia?", "--no-meta")
    assert first.returncode == 0
    [rid] = api.responses
    second = run_cli(api, "ask", "-c", "and why?", "--no-meta")
    assert second.returncode == 0, second.stderr
    assert api.requests[1]["body"] == {"effort": "low", "input": "and why?", "previous_response_id": rid,
                                       "instructions": "Be brief.", "stream": False, "store": True}
    third = run_cli(api, "stream", "-c", "-m", "xai/grok-4", "and Sydney?", "--no-meta")
    assert third.returncode == 0
    body = api.requests[2]["body"]
    assert body["model"] == "xai/grok-4" and "effort" not in body  # -m given: the conversation's effort is not kept
    assert body["previous_response_id"] != rid and body["previous_response_id"] in api.responses


def test_follow_up_of_an_unstored_response_sends_the_conversation(api, home):
    assert run_cli(api, "ask", "--no-store", "first question", "--no-meta").returncode == 0
    assert api.responses == {}
    assert run_cli(api, "ask", "-c", "second", "--no-meta").returncode == 0
    body = api.requests[1]["body"]
    assert "previous_response_id" not in body
    assert body["input"] == [{"role": "user", "content": "first question"},
                             {"role": "assistant", "content": "Canberra is the capital of Australia [1]."},
                             {"role": "user", "content": "second"}]


def test_a_refused_previous_response_falls_back_to_the_conversation_once(api, home):
    assert run_cli(api, "ask", "first", "--no-meta").returncode == 0
    api.responses.clear()  # the service no longer has it
    result = run_cli(api, "ask", "-c", "second", "--no-meta")
    assert result.returncode == 0, result.stderr
    assert result.stderr == b"pplx: note: the previous response could not be continued; sending the conversation instead\n"
    assert [("previous_response_id" in r["body"], isinstance(r["body"]["input"], list)) for r in api.requests[1:]] == [
        (True, False), (False, True)]


# ---- pplx models ----


def test_models_lists_ids_owners_and_prices(api, home):
    result = run_cli(api, "models")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == (
        "MODEL                        OWNER       INPUT/1M  OUTPUT/1M  CACHE_READ/1M\n"
        "perplexity/sonar             perplexity      0.25        2.5         0.0625\n"
        "openai/gpt-5.1               openai          1.25         10          0.125\n"
        "openai/gpt-5-mini            openai          0.25          2          0.025\n"
        "anthropic/claude-sonnet-4-5  anthropic          3         15            0.3\n"
        "google/gemini-2.5-pro        google          1.25         10          0.125\n"
        "xai/grok-4                   xai                3         15           0.75\n")
    assert result.stderr == b""
    assert api.requests[0]["headers"]["Authorization"] == f"Bearer {KEY}"
    lines = run_cli(api, "models", "--json").stdout.decode().splitlines()
    assert [json.loads(x)["id"] for x in lines] == [m["id"] for m in api.models]
    assert json.loads(lines[0])["pricing"] == {"input": 0.25, "output": 2.5, "cache_read": 0.0625, "unit": "usd_per_1m_tokens"}


def test_models_without_a_key_says_so(api, home):
    result = run_cli(api, "models", env={"PPLX_API_KEY": ""})
    assert result.returncode == 3
    assert result.stderr.decode().startswith("pplx: error: no API key: set PPLX_API_KEY")


def test_models_complete_in_the_shell_without_a_network_call(api, home):
    def complete(words):
        env = dict(os.environ, _PPLX_COMPLETE="bash_complete", COMP_WORDS=words, COMP_CWORD=str(len(words.split()) - 1))
        env.pop("PPLX_BASE_URL", None)
        out = subprocess.run([pplx_executable()], env=env, capture_output=True, timeout=30).stdout.decode()
        return [line.split(",", 1)[1] for line in out.splitlines() if line]

    assert complete("pplx ask -m open") == []  # no cache yet, and no request either
    assert run_cli(api, "models").returncode == 0
    requests = len(api.requests)
    assert complete("pplx ask -m open") == ["openai/gpt-5.1", "openai/gpt-5-mini"]
    assert complete("pplx stream -m sonar-") == ["sonar-pro", "sonar-reasoning", "sonar-reasoning-pro", "sonar-deep-research"]
    assert complete("pplx ask --effort x") == ["xhigh"]
    assert len(api.requests) == requests


# ---- the second console script ----


def test_pplx_cli_is_the_same_program(api, home):
    exe = os.path.join(os.path.dirname(pplx_executable()), "pplx-cli")
    version = subprocess.run([exe, "--version"], capture_output=True, timeout=30)
    from pplx_cli import __version__

    assert version.stdout == f"pplx {__version__} (pplx-cli)\n".encode()
    assert run_cli(api, "ask", "q", "--no-meta", exe=exe).stdout == b"Canberra is the capital of Australia [1].\n"


# ---- the history ----


def test_agent_exchanges_are_recorded_with_their_answering_model_and_cost(api, home):
    assert run_cli(api, "ask", "q1", "--no-meta").returncode == 0
    assert run_cli(api, "stream", "q2", "--no-meta", "-m", "perplexity/sonar").returncode == 0
    listed = [json.loads(x) for x in run_cli(api, "log", "--json").stdout.decode().splitlines()]
    assert [(r["prompt"], r["api"], r["model"]) for r in listed] == [("q2", "agent", "perplexity/sonar"),
                                                                     ("q1", "agent", "openai/gpt-5.1")]
    assert [r["options"].get("effort") for r in listed] == [None, None] and listed[0]["options"]["model"] == "perplexity/sonar"
    assert all(r["meta"]["usage"]["cost"]["total_cost"] == 0.00119 for r in listed)
    total = sum(json.loads(x)["cost"] for x in run_cli(api, "log", "cost", "--json").stdout.decode().splitlines())
    assert total == pytest.approx(2 * 0.00119)
    tokens = [json.loads(x) for x in run_cli(api, "log", "cost", "--json").stdout.decode().splitlines()]
    assert sum(r["prompt_tokens"] for r in tokens) == 2 * 3007 and sum(r["completion_tokens"] for r in tokens) == 2 * 36


def test_completion_under_the_pplx_cli_name_and_for_models(api, home):
    assert run_cli(api, "models").returncode == 0
    exe = os.path.join(os.path.dirname(pplx_executable()), "pplx-cli")
    env = dict(os.environ, _PPLX_CLI_COMPLETE="bash_complete", COMP_WORDS="pplx-cli ask --models openai/gpt-5.1,anth",
               COMP_CWORD="3")
    out = subprocess.run([exe], env=env, capture_output=True, timeout=30).stdout.decode()
    assert [line.split(",", 1)[1] for line in out.splitlines() if line] == ["openai/gpt-5.1,anthropic/claude-sonnet-4-5"]
    source = subprocess.run([exe], env=dict(os.environ, _PPLX_CLI_COMPLETE="bash_source"), capture_output=True, timeout=30)
    assert source.returncode == 0 and b"complete -o nosort -F _pplx_cli_completion pplx-cli" in source.stdout


def test_ask_shows_the_searches_as_reasoning_as_stream_does(api, home):
    api.add(AGENT, AgentRun(searches=SEARCHES, fetches=FETCHES))
    asked = run_cli(api, "ask", "q", "--reasoning", "show", "--no-meta")
    streamed = run_cli(api, "stream", "q", "--reasoning", "show", "--no-meta")
    searches = "Searching: first\nSearching: second\nSearching: third\n"
    assert streamed.stdout.decode().startswith(searches)
    # a body names the pages read; a stream, the URLs asked for: the same searches either way
    assert asked.stdout.decode().startswith(searches + "Reading: https://docs.example/a; https://docs.example/b\n\n")
    assert asked.stdout.decode().endswith(streamed.stdout.decode().split("\n\n", 1)[1])


@pytest.mark.parametrize("command", ["ask", "stream"])
def test_a_key_echoed_in_the_answer_reaches_neither_stdout_nor_the_history(api, home, command):
    text = f"your key is {KEY} indeed, and its start {KEY[:6]} alone is text"
    # one character a delta: the key arrives split across 26 deltas
    api.add(AGENT, AgentRun(text=text, deltas=len(text)))
    result = run_cli(api, command, "q", "--no-meta", "--reasoning", "show")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().endswith(f"your key is [redacted] indeed, and its start {KEY[:6]} alone is text\n")
    assert KEY.encode() not in result.stdout
    out = run_cli(api, "log", "--json", "-n", "1").stdout.decode()
    assert KEY not in out and json.loads(out)["answer"].startswith("your key is [redacted] indeed")
    raw = run_cli(api, "raw", "q")
    assert KEY[:20].encode() in raw.stdout  # raw alone prints the bytes as received (for pplx parse)


def test_parse_of_something_that_is_not_a_stream_says_so(api, home):
    result = run_cli(api, "parse", input=b"hello\n")
    assert result.returncode == 1
    assert result.stderr.decode().splitlines()[-1] == "pplx: error: the input is not an event stream or a response body"
    empty = run_cli(api, "parse", input=b"")
    assert empty.stderr.decode().splitlines()[-1] == "pplx: error: the response is empty: no events"
