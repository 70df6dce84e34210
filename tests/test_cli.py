"""The CLI over mocked HTTP (responses): stdout, stderr and exit codes, checked separately."""

import json

import pytest
import responses
from click.testing import CliRunner
from responses import matchers

from pplx_cli.cli import cli
from tests.conftest import FIXTURES, KEY
from tests.server import sse

CHAT = "https://api.perplexity.ai/chat/completions"
AGENT = "https://api.perplexity.ai/v1/responses"


@pytest.fixture
def mocked(home):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def invoke(*args, input=None, env=None):
    return CliRunner().invoke(cli, list(args), input=input, env=env)


def chat_body(content="Canberra.", **extra):
    return {"id": "x1", "model": "sonar", "created": 5, "usage": {"total_tokens": 3, "cost": {"total_cost": 0.005}},
            "citations": ["https://example.org/au"], "search_results": [{"title": "Australia", "url": "https://example.org/au"}],
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}], **extra}


def sent(mocked, i=0):
    return json.loads(mocked.calls[i].request.body)


# ---- ask ----


def test_ask_prints_the_answer_and_metadata_on_stderr(mocked):
    mocked.post(CHAT, json=chat_body(), match=[matchers.header_matcher({"Authorization": f"Bearer {KEY}"})])
    result = invoke("ask", "capital", "of", "Australia?")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "Canberra.\n"
    meta = json.loads(result.stderr)
    assert meta == {"api": "chat", "id": "x1", "model": "sonar", "created": 5, "usage": {"total_tokens": 3, "cost": {"total_cost": 0.005}},
                    "citations": ["https://example.org/au"], "search_results": [{"title": "Australia", "url": "https://example.org/au"}],
                    "finish_reason": "stop"}
    assert sent(mocked) == {"model": "sonar", "messages": [{"role": "user", "content": "capital of Australia?"}], "stream": False}


def test_ask_answer_keeps_its_own_final_newline(mocked):
    mocked.post(CHAT, json=chat_body("Line one\n"))
    assert invoke("ask", "q", "--no-meta").stdout == "Line one\n"


def test_ask_raw_prints_the_body_as_received(mocked):
    body = b'{"id": "x",  "choices": [{"message": {"content": "A"}}]}'
    mocked.post(CHAT, body=body, content_type="application/json")
    result = invoke("ask", "--raw", "q")
    assert result.exit_code == 0
    assert result.stdout_bytes == body
    assert result.stderr == ""


def test_sources_after_a_blank_line(mocked):
    body = chat_body("See [1][2].")
    body["citations"] = ["https://example.org/au", "https://example.org/other"]
    mocked.post(CHAT, json=body)
    result = invoke("ask", "q", "--sources", "--no-meta")
    assert result.stdout == "See [1][2].\n\n[1] Australia <https://example.org/au>\n[2] https://example.org/other\n"
    assert result.stderr == ""


def test_meta_file_keeps_stderr_for_diagnostics(mocked, tmp_path):
    mocked.post(CHAT, json=chat_body())
    meta = tmp_path / "meta.json"
    result = invoke("ask", "q", "--meta", str(meta))
    assert result.exit_code == 0
    assert result.stderr == ""
    assert json.loads(meta.read_text())["citations"] == ["https://example.org/au"]


def test_reasoning_modes(mocked):
    mocked.post(CHAT, json=chat_body("<think>ponder</think>\n\nYes."))
    hidden = invoke("ask", "q")
    assert hidden.stdout == "Yes.\n"
    assert json.loads(hidden.stderr)["reasoning"] == "ponder"
    shown = invoke("ask", "q", "--reasoning", "show", "--no-meta")
    assert shown.stdout == "ponder\n\nYes.\n"
    to_err = invoke("ask", "q", "--reasoning", "stderr", "--no-meta")
    assert to_err.stdout == "Yes.\n"
    assert to_err.stderr == "ponder\n"


# ---- the prompt ----


def test_prompt_from_stdin_and_joined_with_words(mocked):
    mocked.post(CHAT, json=chat_body())
    assert invoke("ask", input="piped prompt\n").exit_code == 0
    assert sent(mocked, 0)["messages"][-1]["content"] == "piped prompt\n"
    assert invoke("ask", "-", input="dash prompt").exit_code == 0
    assert sent(mocked, 1)["messages"][-1]["content"] == "dash prompt"
    assert invoke("ask", "review", "this", input="diff --git a b\n").exit_code == 0
    assert sent(mocked, 2)["messages"][-1]["content"] == "review this\n\ndiff --git a b\n"


@pytest.mark.parametrize("args, stdin", [((), ""), ((), "  \n\t"), (("   ",), ""), (("-",), "")])
def test_empty_prompt_is_a_usage_error_and_nothing_is_sent(mocked, args, stdin):
    result = invoke("ask", *args, input=stdin)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("pplx: error: no prompt")
    assert len(mocked.calls) == 0


def test_prompt_that_is_not_utf8_is_a_usage_error(mocked):
    result = invoke("ask", input=b"caf\xe9\n")
    assert result.exit_code == 2
    assert "not valid UTF-8" in result.stderr
    assert len(mocked.calls) == 0


# ---- keys, config, precedence ----


def test_no_key_exits_3_naming_the_variable_and_sends_nothing(mocked, monkeypatch):
    monkeypatch.delenv("PPLX_API_KEY")
    result = invoke("ask", "q")
    assert result.exit_code == 3
    assert "PPLX_API_KEY" in result.stderr
    assert len(mocked.calls) == 0


def write_config(home, text, mode=0o600):
    path = home / ".config" / "pplx" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def test_config_file_key_and_defaults(mocked, home, monkeypatch):
    monkeypatch.delenv("PPLX_API_KEY")
    write_config(home, 'api_key = "pplx-fromconfig-1234567"\nmodel = "sonar-pro"\nbase_url = "https://alt.example"\n')
    mocked.post("https://alt.example/chat/completions", json=chat_body(),
                match=[matchers.header_matcher({"Authorization": "Bearer pplx-fromconfig-1234567"})])
    result = invoke("ask", "q")
    assert result.exit_code == 0, result.stderr
    assert sent(mocked)["model"] == "sonar-pro"


def test_precedence_flag_over_env_over_config(mocked, home, monkeypatch):
    write_config(home, 'base_url = "https://config.example"\nmodel = "from-config"\n')
    monkeypatch.setenv("PPLX_BASE_URL", "https://env.example")
    mocked.post("https://env.example/chat/completions", json=chat_body())
    mocked.post("https://flag.example/chat/completions", json=chat_body())
    assert invoke("ask", "q").exit_code == 0
    assert mocked.calls[0].request.url == "https://env.example/chat/completions"
    assert sent(mocked, 0)["model"] == "from-config"
    assert invoke("ask", "q", "--base-url", "https://flag.example", "-m", "sonar").exit_code == 0
    assert mocked.calls[1].request.url == "https://flag.example/chat/completions"
    assert sent(mocked, 1)["model"] == "sonar"


def test_perplexity_api_key_is_the_fallback(mocked, monkeypatch):
    monkeypatch.delenv("PPLX_API_KEY")
    monkeypatch.setenv("PERPLEXITY_API_KEY", "pplx-second-choice-99")
    mocked.post(CHAT, json=chat_body(), match=[matchers.header_matcher({"Authorization": "Bearer pplx-second-choice-99"})])
    assert invoke("ask", "q").exit_code == 0


def test_config_with_key_readable_by_others_warns(mocked, home):
    write_config(home, 'api_key = "pplx-fromconfig-1234567"\n', mode=0o644)
    mocked.post(CHAT, json=chat_body())
    result = invoke("ask", "q", "--no-meta")
    assert result.exit_code == 0
    assert "readable by others" in result.stderr and "chmod 600" in result.stderr
    assert "pplx-fromconfig" not in result.stderr


@pytest.mark.parametrize("text, why", [("model = [", "not valid TOML"), ("timeout = \"x\"", "timeout must be a number"),
                                       ("api = \"soap\"", "api must be one of"), ('base_url = "ftp://x"', "http")])
def test_broken_config_is_one_line_exit_2(mocked, home, text, why):
    path = write_config(home, text)
    result = invoke("ask", "q")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert str(path) in result.stderr and why in result.stderr
    assert len(mocked.calls) == 0


# ---- bad values: click's usage message, exit 2, nothing sent ----


@pytest.mark.parametrize(
    "args, words",
    [
        (["--after", "2025-02-30"], "not a real date"),
        (["--before", "soon"], "not a date"),
        (["--recency", "decade"], "decade"),
        (["--search-mode", "news"], "news"),
        (["-o", "a..b", "1"], "not a field name"),
        (["-o", "", "1"], "not a field name"),
        (["--base-url", "ftp://example.org"], "http"),
        (["--timeout", "-1"], "timeout"),
        (["--timeout", "0"], "timeout"),
        (["--retries", "-1"], "retries"),
        (["--max-tokens", "0"], "max-tokens"),
        (["--api", "soap"], "soap"),
        (["--reasoning", "loud"], "loud"),
    ],
)
def test_bad_values_exit_2(mocked, args, words):
    result = invoke("ask", "q", *args)
    assert result.exit_code == 2, result.stderr
    assert "Usage:" in result.stderr and words in result.stderr
    assert len(mocked.calls) == 0


def test_json_schema_file_checked(mocked, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    result = invoke("ask", "q", "--json-schema", str(bad))
    assert result.exit_code == 2 and "not valid JSON" in result.stderr
    result = invoke("ask", "q", "--json-schema", str(tmp_path / "missing.json"))
    assert result.exit_code == 2 and "cannot read" in result.stderr
    good = tmp_path / "schema.json"
    good.write_text('{"type": "object", "properties": {"name": {"type": "string"}}}')
    mocked.post(CHAT, json=chat_body('{"name": "x"}'))
    assert invoke("ask", "q", "--json-schema", str(good)).exit_code == 0
    assert sent(mocked)["response_format"] == {"type": "json_schema", "json_schema": {"schema": {"type": "object", "properties": {"name": {"type": "string"}}}}}
    assert len(mocked.calls) == 1


# ---- HTTP errors -> exit codes ----


@pytest.mark.parametrize(
    "status, body, code, message",
    [
        (401, {"error": {"message": "Invalid API key", "type": "invalid_api_key", "code": 401}}, 3, "HTTP 401: Invalid API key (invalid_api_key)"),
        (403, {"error": {"message": "Forbidden", "type": "forbidden"}}, 3, "HTTP 403: Forbidden (forbidden)"),
        (400, {"error": {"message": "Invalid model 'x'", "type": "invalid_model"}}, 1, "HTTP 400: Invalid model 'x' (invalid_model)"),
        (422, {"detail": [{"loc": ["body", "messages"], "msg": "field required"}]}, 1, "HTTP 422: messages: field required"),
        (429, {"error": {"message": "Too many requests", "type": "rate_limit"}}, 4, "HTTP 429: Too many requests (rate_limit)"),
        (500, {"error": {"message": "oops", "type": "server_error"}}, 1, "HTTP 500: oops (server_error)"),
    ],
)
def test_http_errors(mocked, status, body, code, message):
    mocked.post(CHAT, json=body, status=status)
    result = invoke("ask", "q", "--retries", "0")
    assert result.exit_code == code
    assert result.stdout == ""
    assert result.stderr == f"pplx: error: {message}\n"


def test_html_error_page_is_summarised(mocked):
    mocked.post(CHAT, body="<html><head><title>401 Authorization Required</title></head><body>" + "x" * 5000 + "</body></html>",
                status=401, content_type="text/html")
    result = invoke("ask", "q")
    assert result.exit_code == 3
    assert result.stderr == "pplx: error: HTTP 401: HTML page '401 Authorization Required'\n"


def test_5xx_is_retried_then_succeeds(mocked):
    mocked.post(CHAT, json={"error": {"message": "busy"}}, status=503, headers={"Retry-After": "0"})
    mocked.post(CHAT, json=chat_body())
    result = invoke("ask", "q", "--no-meta")
    assert result.exit_code == 0
    assert result.stdout == "Canberra.\n"
    assert result.stderr == "pplx: retrying in 0.0s after HTTP 503 (1/2)\n"
    assert len(mocked.calls) == 2


def test_retries_counts_retries_and_quiet_silences_them(mocked):
    mocked.post(CHAT, json={"error": {"message": "slow down"}}, status=429, headers={"Retry-After": "0"})
    result = invoke("ask", "q", "--retries", "1", "-q")
    assert result.exit_code == 4
    assert len(mocked.calls) == 2
    assert result.stderr == "pplx: error: HTTP 429: slow down\n"


def test_4xx_is_never_retried(mocked):
    mocked.post(CHAT, json={"error": {"message": "bad"}}, status=400)
    assert invoke("ask", "q").exit_code == 1
    assert len(mocked.calls) == 1


def test_verbose_shows_headers_with_the_key_redacted(mocked):
    mocked.post(CHAT, json=chat_body(), headers={"X-Echo": f"Bearer {KEY}"})
    result = invoke("ask", "q", "-v", "--no-meta")
    assert result.exit_code == 0
    assert "> POST https://api.perplexity.ai/chat/completions" in result.stderr
    assert "< HTTP 200" in result.stderr
    assert "> Authorization: Bearer pplx-…[redacted]" in result.stderr
    assert KEY not in result.stderr and KEY not in result.stdout


def test_key_echoed_in_an_error_never_shown(mocked):
    mocked.post(CHAT, json={"error": {"message": f"bad header Authorization: Bearer {KEY}"}}, status=400)
    result = invoke("ask", "q")
    assert result.exit_code == 1
    assert KEY not in result.stderr
    assert "[redacted]" in result.stderr


def test_ask_with_a_non_json_body_is_an_api_error(mocked):
    mocked.post(CHAT, body="<html><title>Gateway</title></html>", content_type="text/html")
    result = invoke("ask", "q")
    assert result.exit_code == 1
    assert result.stderr == "pplx: error: the response is not JSON: HTML page 'Gateway'\n"


# ---- stream over mocked HTTP ----


def test_stream_prints_deltas_and_metadata(mocked):
    mocked.post(CHAT, body=(FIXTURES / "chat_concise_reasoning.sse").read_bytes(), content_type="text/event-stream")
    result = invoke("stream", "Tokyo?")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "Tokyo has about 14 million residents [1].\n"
    meta = json.loads(result.stderr)
    assert meta["usage"]["cost"]["total_cost"] == 0.0071
    assert meta["reasoning"].startswith("I should look up")
    body = sent(mocked)
    assert body["stream"] is True and body["stream_mode"] == "concise"


def test_stream_mode_full_is_sent(mocked):
    mocked.post(CHAT, body=(FIXTURES / "chat_full_think.sse").read_bytes(), content_type="text/event-stream")
    result = invoke("stream", "q", "--stream-mode", "full", "--no-meta")
    assert result.stdout == "No: 1001 = 7 × 11 × 13 [1].\n"
    assert sent(mocked)["stream_mode"] == "full"


@pytest.mark.parametrize(
    "body, code, stdout, error",
    [
        # an error object in the stream: the text before it is kept, exit 1
        (sse({"object": "chat.completion.chunk", "choices": [{"delta": {"content": "partial"}}]},
             {"error": {"message": "upstream failed", "type": "server_error"}}),
         1, "partial\n", "upstream failed (server_error)"),
        # the body ends before the final chunk: a lost connection, exit 5
        (sse({"choices": [{"delta": {"content": "half"}}]}), 5, "half\n", "connection lost after 1 events"),
    ],
    ids=["error event", "ends early"],
)
def test_stream_failure_keeps_text_and_writes_metadata(mocked, body, code, stdout, error):
    mocked.post(CHAT, body=body, content_type="text/event-stream")
    result = invoke("stream", "q")
    assert result.exit_code == code
    assert result.stdout == stdout
    lines = result.stderr.splitlines()
    assert json.loads(lines[0])["error"] == error
    assert lines[1] == f"pplx: error: {error}"


def test_stream_malformed_event_warns_skips_and_exits_1(mocked):
    body = (sse({"choices": [{"delta": {"content": "a"}}]}) + b"data: <oops>\n\n"
            + sse({"choices": [{"delta": {"content": "b"}, "finish_reason": "stop"}]}))
    mocked.post(CHAT, body=body, content_type="text/event-stream")
    result = invoke("stream", "q")
    assert result.exit_code == 1
    assert result.stdout == "ab\n"
    lines = result.stderr.splitlines()
    assert lines[0] == 'pplx: warning: skipped malformed event 2 (not JSON): "<oops>"'
    assert json.loads(lines[1])["skipped_events"] == 1
    assert lines[2] == "pplx: error: 1 malformed event skipped"


def test_stream_html_on_200_is_an_error(mocked):
    mocked.post(CHAT, body="<!DOCTYPE html><html><title>Blocked by proxy</title></html>", content_type="text/html")
    result = invoke("stream", "q")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "pplx: error: expected an event stream, got text/html: HTML page 'Blocked by proxy'\n"


def test_stream_empty_body_is_an_error(mocked):
    mocked.post(CHAT, body=b"", content_type="text/event-stream")
    result = invoke("stream", "q")
    assert result.exit_code == 1
    assert "empty" in result.stderr


def test_stream_raw_is_raw(mocked):
    body = (FIXTURES / "chat_full_think.sse").read_bytes()
    mocked.post(CHAT, body=body, content_type="text/event-stream")
    result = invoke("stream", "--raw", "q")
    assert result.exit_code == 0
    assert result.stdout_bytes == body
    result = invoke("raw", "q")
    assert result.stdout_bytes == body


# ---- the Agent API ----

RETIRED = {"error": {"message": "Sonar is now the Agent API. Use /v1/responses instead of /v1/sonar.",
                     "type": "chat_completions_not_available", "code": 403}}


def agent_body(text="Hello from the agent."):
    return {"id": "resp_1", "object": "response", "status": "completed", "model": "perplexity/sonar", "created_at": 9,
            "output": [{"type": "search_results", "results": [{"url": "https://example.org/a", "title": "A"}]},
                       {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}],
            "usage": {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7, "cost": {"currency": "USD", "total_cost": 0.006}}}


def test_auto_falls_back_once_and_remembers(mocked, home):
    mocked.post(CHAT, json=RETIRED, status=403)
    mocked.post(AGENT, json=agent_body())
    first = invoke("ask", "-s", "Be brief.", "hi")
    assert first.exit_code == 0, first.stderr
    assert first.stdout == "Hello from the agent.\n"
    lines = first.stderr.splitlines()
    assert lines[0] == "pplx: note: Sonar chat completions are not available for this key; using the Agent API"
    meta = json.loads(lines[1])
    assert meta["api"] == "agent" and meta["citations"] == ["https://example.org/a"] and meta["usage"]["cost"]["total_cost"] == 0.006
    assert [c.request.url for c in mocked.calls] == [CHAT, AGENT]
    assert sent(mocked, 1) == {"model": "perplexity/sonar", "input": "hi", "instructions": "Be brief.", "stream": False,
                               "tools": [{"type": "web_search"}]}
    cache = (home / ".cache" / "pplx" / "api.json").read_text()
    assert KEY not in cache
    second = invoke("ask", "hi")
    assert second.exit_code == 0
    assert "note" not in second.stderr
    assert [c.request.url for c in mocked.calls] == [CHAT, AGENT, AGENT]


def test_migration_code_variant_also_falls_back(mocked):
    mocked.post(CHAT, json={"error": {"message": "migrate", "code": "agent_api_migration_required"}}, status=403)
    mocked.post(AGENT, json=agent_body())
    assert invoke("ask", "hi").exit_code == 0


def test_api_chat_reports_the_retirement_not_a_bad_key(mocked):
    mocked.post(CHAT, json=RETIRED, status=403)
    result = invoke("ask", "hi", "--api", "chat")
    assert result.exit_code == 1
    assert "Sonar is now the Agent API" in result.stderr and "--api agent" in result.stderr
    assert len(mocked.calls) == 1


def test_api_from_environment(mocked):
    mocked.post(AGENT, json=agent_body())
    result = invoke("ask", "hi", env={"PPLX_API": "agent"})
    assert result.exit_code == 0
    assert [c.request.url for c in mocked.calls] == [AGENT]


def test_agent_unmapped_options_noted_and_not_sent(mocked):
    mocked.post(AGENT, json=agent_body())
    result = invoke("ask", "hi", "--api", "agent", "--search-mode", "academic", "--images", "--no-meta")
    assert result.exit_code == 0
    assert result.stderr == ("pplx: note: --search-mode has no Agent API equivalent; not sent\n"
                             "pplx: note: --images has no Agent API equivalent; not sent\n")
    assert "search_mode" not in sent(mocked) and "return_images" not in sent(mocked)


@pytest.mark.parametrize("status", ["failed", "incomplete", "cancelled"])
def test_agent_failed_status_on_200_exits_1(mocked, status):
    body = agent_body("partial")
    body["status"] = status
    body["error"] = {"message": "ran out"} if status == "failed" else None
    mocked.post(AGENT, json=body)
    result = invoke("ask", "hi", "--api", "agent")
    assert result.exit_code == 1
    assert result.stdout == "partial\n"
    assert result.stderr.splitlines()[-1].startswith(f"pplx: error: response {status}")


def test_agent_stream(mocked):
    mocked.post(AGENT, body=(FIXTURES / "agent_events.sse").read_bytes(), content_type="text/event-stream")
    result = invoke("stream", "q", "--api", "agent", "--sources", "--no-meta")
    assert result.exit_code == 0
    assert result.stdout == ("Server-sent events stream text over HTTP [1], one event per blank line [2].\n\n"
                             "[1] Server-sent events <https://example.org/sse>\n[2] HTML Living Standard <https://example.org/whatwg>\n")
    assert sent(mocked)["stream"] is True and "stream_mode" not in sent(mocked)


def test_preset_implies_agent(mocked):
    mocked.post(AGENT, json=agent_body())
    assert invoke("ask", "hi", "--preset", "fast").exit_code == 0
    assert sent(mocked) == {"preset": "fast", "input": "hi", "stream": False}


# ---- parse ----


def test_parse_needs_no_key(home, monkeypatch):
    monkeypatch.delenv("PPLX_API_KEY")
    result = invoke("parse", str(FIXTURES / "agent_plain.sse"), "--no-meta")
    assert result.exit_code == 0
    assert result.stdout == "Server-sent events stream text over HTTP [1], one event per blank line [2].\n"


def test_parse_stdin_and_dash(home):
    data = (FIXTURES / "chat_full_think.sse").read_bytes()
    for args in ([], ["-"]):
        result = invoke("parse", *args, "--no-meta", input=data)
        assert result.exit_code == 0
        assert result.stdout == "No: 1001 = 7 × 11 × 13 [1].\n"


def test_parse_missing_file_is_exit_2(home):
    result = invoke("parse", "/nonexistent/x.sse")
    assert result.exit_code == 2
    assert result.stderr == "pplx: error: cannot read /nonexistent/x.sse: No such file or directory\n"


def test_parse_truncated_capture_is_exit_1(home, tmp_path):
    f = tmp_path / "cut.sse"
    f.write_bytes(sse({"choices": [{"delta": {"content": "cut"}}]}))
    result = invoke("parse", str(f))
    assert result.exit_code == 1
    assert result.stdout == "cut\n"
    assert result.stderr.splitlines()[-1] == "pplx: error: the stream ended before its final chunk after 1 events"


def test_version_and_help():
    from pplx_cli import __version__

    assert invoke("--version").stdout == f"pplx {__version__}\n"
    for command in (["ask"], ["stream"], ["raw"], ["parse"], ["log"], ["log", "show"], ["log", "search"], ["log", "cost"], ["log", "path"]):
        result = invoke(*command, "--help")
        assert result.exit_code == 0
        assert "Examples:" in result.stdout


def test_lone_surrogate_in_the_answer_is_replaced_not_a_crash(mocked):
    body = b'{"id": "s", "choices": [{"finish_reason": "stop", "message": {"content": "half an emoji: \\ud83d!"}}]}'
    mocked.post(CHAT, body=body, content_type="application/json")
    result = invoke("ask", "q")
    assert result.exit_code == 0
    assert result.stdout_bytes == "half an emoji: ?!\n".encode()
    assert json.loads(result.stderr)["id"] == "s"


def test_netrc_never_replaces_the_key(mocked, home):
    (home / ".netrc").write_text("machine api.perplexity.ai login someone password secret\n")
    mocked.post(CHAT, json=chat_body(), match=[matchers.header_matcher({"Authorization": f"Bearer {KEY}"})])
    assert invoke("ask", "q").exit_code == 0
