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
    return CliRunner().invoke(cli, list(args), input=input, env=env, prog_name="pplx")


def invoke_chat(*args, **kw):
    """The legacy chat completions dialect, chosen explicitly."""
    return invoke(*args, "--api", "chat", **kw)


def agent_body(text="Canberra.", model="openai/gpt-5.1", **extra):
    """A completed Agent API response body, as the service sends it."""
    return {"id": "resp_1", "object": "response", "created_at": 9, "completed_at": 9, "status": "completed",
            "background": False, "store": True, "model": model, "error": None, "incomplete_details": None,
            "output": [{"type": "search_results", "queries": ["capital of Australia"],
                        "results": [{"id": 1, "url": "https://example.org/au", "title": "Australia", "snippet": "s"}]},
                       {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                        "content": [{"type": "output_text", "text": text, "annotations": []}]}],
            "usage": {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7,
                      "cost": {"currency": "USD", "total_cost": 0.0012}}, **extra}


def chat_body(content="Canberra.", **extra):
    return {"id": "x1", "model": "sonar", "created": 5, "usage": {"total_tokens": 3, "cost": {"total_cost": 0.005}},
            "citations": ["https://example.org/au"], "search_results": [{"title": "Australia", "url": "https://example.org/au"}],
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}], **extra}


def sent(mocked, i=0):
    return json.loads(mocked.calls[i].request.body)


# ---- ask ----


def test_ask_defaults_to_the_agent_api_with_effort_fast(mocked):
    mocked.post(AGENT, json=agent_body(), match=[matchers.header_matcher({"Authorization": f"Bearer {KEY}"})],
                headers={"x-request-id": "1", "x-ratelimit-limit": "50", "x-ratelimit-remaining": "49",
                         "x-ratelimit-reset": "1791572841", "x-ratelimit-used": "1"})
    result = invoke("ask", "capital", "of", "Australia?")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "Canberra.\n"
    meta = json.loads(result.stderr)
    assert meta == {"api": "agent", "id": "resp_1", "model": "openai/gpt-5.1", "created": 9,
                    "usage": {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7, "cost": {"currency": "USD", "total_cost": 0.0012},
                              "prompt_tokens": 3, "completion_tokens": 4},
                    "citations": ["https://example.org/au"],
                    "search_results": [{"id": 1, "url": "https://example.org/au", "title": "Australia", "snippet": "s"}],
                    "search_queries": ["capital of Australia"], "finish_reason": "stop", "request_id": "1",
                    "ratelimit": {"limit": 50, "remaining": 49, "reset": 1791572841, "used": 1},
                    "reasoning": "Searching: capital of Australia\n"}
    assert sent(mocked) == {"effort": "fast", "input": "capital of Australia?", "stream": False, "store": True}
    assert [c.request.url for c in mocked.calls] == [AGENT]


def test_ask_chat_prints_the_answer_and_metadata_on_stderr(mocked):
    mocked.post(CHAT, json=chat_body(), match=[matchers.header_matcher({"Authorization": f"Bearer {KEY}"})])
    result = invoke_chat("ask", "capital", "of", "Australia?")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "Canberra.\n"
    meta = json.loads(result.stderr)
    assert meta == {"api": "chat", "id": "x1", "model": "sonar", "created": 5, "usage": {"total_tokens": 3, "cost": {"total_cost": 0.005}},
                    "citations": ["https://example.org/au"], "search_results": [{"title": "Australia", "url": "https://example.org/au"}],
                    "search_queries": [], "finish_reason": "stop"}
    assert sent(mocked) == {"model": "sonar", "messages": [{"role": "user", "content": "capital of Australia?"}], "stream": False}


def test_ask_answer_keeps_its_own_final_newline(mocked):
    mocked.post(AGENT, json=agent_body("Line one\n"))
    assert invoke("ask", "q", "--no-meta").stdout == "Line one\n"


def test_ask_raw_prints_the_body_as_received(mocked):
    body = b'{"id": "x",  "status": "completed", "output": []}'
    mocked.post(AGENT, body=body, content_type="application/json")
    result = invoke("ask", "--raw", "q")
    assert result.exit_code == 0
    assert result.stdout_bytes == body
    assert result.stderr == ""


def test_chat_sources_after_a_blank_line(mocked):
    body = chat_body("See [1][2].")
    body["citations"] = ["https://example.org/au", "https://example.org/other"]
    mocked.post(CHAT, json=body)
    result = invoke_chat("ask", "q", "--sources", "--no-meta")
    assert result.stdout == "See [1][2].\n\n[1] Australia <https://example.org/au>\n[2] https://example.org/other\n"
    assert result.stderr == ""


def test_meta_file_keeps_stderr_for_diagnostics(mocked, tmp_path):
    mocked.post(AGENT, json=agent_body())
    meta = tmp_path / "meta.json"
    result = invoke("ask", "q", "--meta", str(meta))
    assert result.exit_code == 0
    assert result.stderr == ""
    assert json.loads(meta.read_text())["citations"] == ["https://example.org/au"]


def test_chat_reasoning_modes(mocked):
    mocked.post(CHAT, json=chat_body("<think>ponder</think>\n\nYes."))
    hidden = invoke_chat("ask", "q")
    assert hidden.stdout == "Yes.\n"
    assert json.loads(hidden.stderr)["reasoning"] == "ponder"
    shown = invoke_chat("ask", "q", "--reasoning", "show", "--no-meta")
    assert shown.stdout == "ponder\n\nYes.\n"
    to_err = invoke_chat("ask", "q", "--reasoning", "stderr", "--no-meta")
    assert to_err.stdout == "Yes.\n"
    assert to_err.stderr == "ponder\n"


# ---- the prompt ----


def test_prompt_from_stdin_and_joined_with_words(mocked):
    mocked.post(AGENT, json=agent_body())
    assert invoke("ask", input="piped prompt\n").exit_code == 0
    assert sent(mocked, 0)["input"] == "piped prompt\n"
    assert invoke("ask", "-", input="dash prompt").exit_code == 0
    assert sent(mocked, 1)["input"] == "dash prompt"
    assert invoke("ask", "review", "this", input="diff --git a b\n").exit_code == 0
    assert sent(mocked, 2)["input"] == "review this\n\ndiff --git a b\n"


def test_a_byte_order_mark_on_stdin_is_not_prompt(mocked):
    mocked.post(AGENT, json=agent_body())
    result = CliRunner().invoke(cli, ["ask"], input="\ufeffWhat is a BOM?".encode("utf-8"))
    assert result.exit_code == 0 and sent(mocked, 0)["input"] == "What is a BOM?"


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
    mocked.post("https://alt.example/v1/responses", json=agent_body(),
                match=[matchers.header_matcher({"Authorization": "Bearer pplx-fromconfig-1234567"})])
    result = invoke("ask", "q")
    assert result.exit_code == 0, result.stderr
    assert sent(mocked)["effort"] == "low"  # sonar-pro, mapped
    assert "model" not in sent(mocked)


def test_precedence_flag_over_env_over_config(mocked, home, monkeypatch):
    write_config(home, 'base_url = "https://config.example"\nmodel = "xai/from-config"\neffort = "high"\n')
    monkeypatch.setenv("PPLX_BASE_URL", "https://env.example")
    mocked.post("https://env.example/v1/responses", json=agent_body())
    mocked.post("https://flag.example/v1/responses", json=agent_body())
    assert invoke("ask", "q").exit_code == 0
    assert mocked.calls[0].request.url == "https://env.example/v1/responses"
    assert (sent(mocked, 0)["model"], sent(mocked, 0)["effort"]) == ("xai/from-config", "high")
    assert invoke("ask", "q", env={"PPLX_MODEL": "openai/from-env"}).exit_code == 0
    assert sent(mocked, 1)["model"] == "openai/from-env"
    assert invoke("ask", "q", "--base-url", "https://flag.example", "-m", "sonar", "--effort", "fast@2026-10-16.0").exit_code == 0
    assert mocked.calls[2].request.url == "https://flag.example/v1/responses"
    assert (sent(mocked, 2)["model"], sent(mocked, 2)["effort"]) == ("perplexity/sonar", "fast@2026-10-16.0")


def test_perplexity_api_key_is_the_fallback(mocked, monkeypatch):
    monkeypatch.delenv("PPLX_API_KEY")
    monkeypatch.setenv("PERPLEXITY_API_KEY", "pplx-second-choice-99")
    mocked.post(AGENT, json=agent_body(), match=[matchers.header_matcher({"Authorization": "Bearer pplx-second-choice-99"})])
    assert invoke("ask", "q").exit_code == 0


def write_credentials(home, data):
    path = home / ".config" / "perplexity" / "credentials.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_perplexity_cli_credentials_are_the_last_source(mocked, home, monkeypatch):
    monkeypatch.delenv("PPLX_API_KEY")
    path = write_credentials(home, {"api_key": "pplx-from-their-cli-42"})
    before = path.read_bytes()
    mocked.post(AGENT, json=agent_body(), match=[matchers.header_matcher({"Authorization": "Bearer pplx-from-their-cli-42"})])
    assert invoke("ask", "q").exit_code == 0
    assert path.read_bytes() == before  # read only
    # the config file and the environment come first
    write_config(home, 'api_key = "pplx-fromconfig-1234567"\n')
    mocked.post(AGENT, json=agent_body(), match=[matchers.header_matcher({"Authorization": "Bearer pplx-fromconfig-1234567"})])
    assert invoke("ask", "q").exit_code == 0
    assert mocked.calls[1].request.headers["Authorization"] == "Bearer pplx-fromconfig-1234567"


@pytest.mark.parametrize("content", ["{not json", "[]", '{"api_key": 7}', '{"api_key": "  "}'])
def test_unusable_credentials_file_is_no_key(mocked, home, monkeypatch, content):
    monkeypatch.delenv("PPLX_API_KEY")
    write_credentials(home, content)
    result = invoke("ask", "q")
    assert result.exit_code == 3
    assert result.stderr.startswith("pplx: error: no API key: set PPLX_API_KEY")
    assert len(mocked.calls) == 0


def test_config_with_key_readable_by_others_warns(mocked, home):
    write_config(home, 'api_key = "pplx-fromconfig-1234567"\n', mode=0o644)
    mocked.post(AGENT, json=agent_body())
    result = invoke("ask", "q", "--no-meta")
    assert result.exit_code == 0
    assert "readable by others" in result.stderr and "chmod 600" in result.stderr
    assert "pplx-fromconfig" not in result.stderr


@pytest.mark.parametrize("text, why", [("model = [", "not valid TOML"), ("timeout = \"x\"", "timeout must be a number"),
                                       ("api = \"soap\"", "api must be one of"), ('base_url = "ftp://x"', "http"),
                                       ('effort = "very high"', "effort must be a level such as"), ('model = ""', "model is empty")])
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
        (["--effort", "very high"], "effort must be a level such as fast"),
        (["--effort", "fast@"], "optionally pinned"),
        (["--preset", "turbo!"], "--preset must be a level such as fast"),
        (["--models", "a/1,b/2,c/3,d/4,e/5,f/6"], "at most 5 models"),
        (["--models", " , "], "one or more model ids"),
        (["--search-type", "deep"], "deep"),
        (["--max-results", "0"], "max-results"),
        (["--max-results", "51"], "max-results"),
        (["--country", "USA"], "two-letter country code"),
        (["--updated-after", "2025-13-01"], "not a real date"),
        (["--citations", "hide"], "hide"),
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
    mocked.post(AGENT, json=agent_body('{"name": "x"}'))
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
        (404, {"error": {"message": "resource not found", "type": "not_found", "code": 404}}, 1, "HTTP 404: resource not found (not_found)"),
        (413, {"error": {"message": "request too large", "type": "payload_too_large", "code": 413}}, 1,
         "HTTP 413: request too large (payload_too_large)"),
        (422, {"detail": [{"loc": ["body", "messages"], "msg": "field required"}]}, 1, "HTTP 422: messages: field required"),
        (429, {"error": {"message": "Too many requests", "type": "rate_limit"}}, 4, "HTTP 429: Too many requests (rate_limit)"),
        (500, {"error": {"message": "oops", "type": "server_error"}}, 1, "HTTP 500: oops (server_error)"),
    ],
)
def test_http_errors(mocked, status, body, code, message):
    mocked.post(AGENT, json=body, status=status)
    result = invoke("ask", "q", "--retries", "0")
    assert result.exit_code == code
    assert result.stdout == ""
    if status == 401:  # a refused key: where it came from, shown redacted, and where keys come from
        assert result.stderr.startswith(f"pplx: error: {message}" + KEY_HINT) and result.stderr.count("\n") == 1
    else:
        assert result.stderr == f"pplx: error: {message}\n"


KEY_HINT = ("; the key (pplx-…[redacted]) came from PPLX_API_KEY; pplx reads the key from PPLX_API_KEY, PERPLEXITY_API_KEY, "
            "PPLX_API_KEY_CMD, api_key or api_key_cmd in ")


def test_html_error_page_is_summarised(mocked):
    mocked.post(AGENT, body="<html><head><title>401 Authorization Required</title></head><body>" + "x" * 5000 + "</body></html>",
                status=401, content_type="text/html")
    result = invoke("ask", "q")
    assert result.exit_code == 3
    assert result.stderr.startswith("pplx: error: HTTP 401: HTML page '401 Authorization Required'" + KEY_HINT)


def test_5xx_is_retried_then_succeeds(mocked):
    mocked.post(AGENT, json={"error": {"message": "busy"}}, status=503, headers={"Retry-After": "0"})
    mocked.post(AGENT, json=agent_body())
    result = invoke("ask", "q", "--no-meta")
    assert result.exit_code == 0
    assert result.stdout == "Canberra.\n"
    assert result.stderr == "pplx: retrying in 0.0s after HTTP 503 (1/2)\n"
    assert len(mocked.calls) == 2


def test_retries_counts_retries_and_quiet_silences_them(mocked):
    mocked.post(AGENT, json={"error": {"message": "slow down"}}, status=429, headers={"Retry-After": "0"})
    result = invoke("ask", "q", "--retries", "1", "-q")
    assert result.exit_code == 4
    assert len(mocked.calls) == 2
    assert result.stderr == "pplx: error: HTTP 429: slow down\n"


def test_4xx_is_never_retried(mocked):
    mocked.post(AGENT, json={"error": {"message": "bad"}}, status=400)
    assert invoke("ask", "q").exit_code == 1
    assert len(mocked.calls) == 1


def test_verbose_shows_headers_with_the_key_redacted(mocked):
    mocked.post(AGENT, json=agent_body(), headers={"X-Echo": f"Bearer {KEY}"})
    result = invoke("ask", "q", "-v", "--no-meta")
    assert result.exit_code == 0
    assert "> POST https://api.perplexity.ai/v1/responses" in result.stderr
    assert "< HTTP 200" in result.stderr
    assert "> Authorization: Bearer pplx-…[redacted]" in result.stderr
    assert KEY not in result.stderr and KEY not in result.stdout


def test_key_echoed_in_an_error_never_shown(mocked):
    mocked.post(AGENT, json={"error": {"message": f"bad header Authorization: Bearer {KEY}"}}, status=400)
    result = invoke("ask", "q")
    assert result.exit_code == 1
    assert KEY not in result.stderr
    assert "[redacted]" in result.stderr


def test_ask_with_a_non_json_body_is_an_api_error(mocked):
    mocked.post(AGENT, body="<html><title>Gateway</title></html>", content_type="text/html")
    result = invoke("ask", "q")
    assert result.exit_code == 1
    assert result.stderr == "pplx: error: the response is not JSON: HTML page 'Gateway'\n"


# ---- stream over mocked HTTP ----


def test_chat_stream_prints_deltas_and_metadata(mocked):
    mocked.post(CHAT, body=(FIXTURES / "chat_concise_reasoning.sse").read_bytes(), content_type="text/event-stream")
    result = invoke_chat("stream", "Tokyo?")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "Tokyo has about 14 million residents [1].\n"
    meta = json.loads(result.stderr)
    assert meta["usage"]["cost"]["total_cost"] == 0.0071
    assert meta["reasoning"].startswith("I should look up")
    body = sent(mocked)
    assert body["stream"] is True and body["stream_mode"] == "concise"


def test_chat_stream_mode_full_is_sent(mocked):
    mocked.post(CHAT, body=(FIXTURES / "chat_full_think.sse").read_bytes(), content_type="text/event-stream")
    result = invoke_chat("stream", "q", "--stream-mode", "full", "--no-meta")
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
        (sse({"choices": [{"delta": {"content": "half"}}]}), 5, "half\n", "connection lost after 1 event"),
    ],
    ids=["error event", "ends early"],
)
def test_chat_stream_failure_keeps_text_and_writes_metadata(mocked, body, code, stdout, error):
    mocked.post(CHAT, body=body, content_type="text/event-stream")
    result = invoke_chat("stream", "q")
    assert result.exit_code == code
    assert result.stdout == stdout
    lines = result.stderr.splitlines()
    assert json.loads(lines[0])["error"] == error
    assert lines[1] == f"pplx: error: {error}"


def test_stream_malformed_event_warns_skips_and_exits_1(mocked):
    body = (sse({"type": "response.output_text.delta", "delta": "a"}) + b"data: <oops>\n\n"
            + sse({"type": "response.output_text.delta", "delta": "b"},
                  {"type": "response.completed", "response": {"id": "r", "status": "completed", "output": []}}))
    mocked.post(AGENT, body=body, content_type="text/event-stream")
    result = invoke("stream", "q")
    assert result.exit_code == 1
    assert result.stdout == "ab\n"
    lines = result.stderr.splitlines()
    assert lines[0] == 'pplx: warning: skipped malformed event 2 (not JSON): "<oops>"'
    assert json.loads(lines[1])["skipped_events"] == 1
    assert lines[2] == "pplx: error: 1 malformed event skipped"


def test_stream_html_on_200_is_an_error(mocked):
    mocked.post(AGENT, body="<!DOCTYPE html><html><title>Blocked by proxy</title></html>", content_type="text/html")
    result = invoke("stream", "q")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "pplx: error: expected an event stream, got text/html: HTML page 'Blocked by proxy'\n"


def test_stream_empty_body_is_an_error(mocked):
    mocked.post(AGENT, body=b"", content_type="text/event-stream")
    result = invoke("stream", "q")
    assert result.exit_code == 1
    assert "empty" in result.stderr


def test_stream_raw_is_raw(mocked):
    body = (FIXTURES / "agent_events.sse").read_bytes()
    mocked.post(AGENT, body=body, content_type="text/event-stream")
    result = invoke("stream", "--raw", "q")
    assert result.exit_code == 0
    assert result.stdout_bytes == body
    result = invoke("raw", "q")
    assert result.stdout_bytes == body


# ---- the Agent API: the vocabulary ----

RETIRED = {"error": {"message": "Sonar is now the Agent API. Use /v1/responses instead of /v1/sonar.",
                     "type": "chat_completions_not_available", "code": 403}}


def test_auto_falls_back_once_and_remembers(mocked, home):
    mocked.post(CHAT, json=RETIRED, status=403)
    mocked.post(AGENT, json=agent_body())
    first = invoke("ask", "-s", "Be brief.", "hi", "--api", "auto")
    assert first.exit_code == 0, first.stderr
    assert first.stdout == "Canberra.\n"
    lines = first.stderr.splitlines()
    assert lines[0] == "pplx: note: Sonar chat completions are not available for this key; using the Agent API"
    meta = json.loads(lines[1])
    assert meta["api"] == "agent" and meta["citations"] == ["https://example.org/au"] and meta["usage"]["cost"]["total_cost"] == 0.0012
    assert [c.request.url for c in mocked.calls] == [CHAT, AGENT]
    assert sent(mocked, 1) == {"effort": "fast", "input": "hi", "instructions": "Be brief.", "stream": False, "store": True}
    cache = (home / ".cache" / "pplx" / "api.json").read_text()
    assert KEY not in cache
    second = invoke("ask", "hi", env={"PPLX_API": "auto"})
    assert second.exit_code == 0
    assert "note" not in second.stderr
    assert [c.request.url for c in mocked.calls] == [CHAT, AGENT, AGENT]


def test_migration_code_variant_also_falls_back(mocked):
    mocked.post(CHAT, json={"error": {"message": "migrate", "code": "agent_api_migration_required"}}, status=403)
    mocked.post(AGENT, json=agent_body())
    assert invoke("ask", "hi", "--api", "auto").exit_code == 0


def test_api_chat_reports_the_retirement_not_a_bad_key(mocked):
    mocked.post(CHAT, json=RETIRED, status=403)
    result = invoke_chat("ask", "hi")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == ("pplx: error: HTTP 403: Sonar chat completions are retired for this key "
                             "(chat_completions_not_available); use --api agent (the default)\n")
    assert len(mocked.calls) == 1


def test_api_chat_from_the_environment(mocked):
    mocked.post(CHAT, json=chat_body())
    result = invoke("ask", "hi", env={"PPLX_API": "chat"})
    assert result.exit_code == 0
    assert [c.request.url for c in mocked.calls] == [CHAT]
    assert sent(mocked)["model"] == "sonar"


@pytest.mark.parametrize("api, url, args, notes, absent", [
    ("agent", AGENT, ["--search-mode", "academic", "--related"],
     ["--search-mode has no Agent API equivalent", "--related has no Agent API equivalent"], ["search_mode", "return_related_questions"]),
    ("chat", CHAT, ["--effort", "low", "--fetch", "--code", "--skill", "office", "--force-search"],
     ["--effort has no chat completions equivalent", "--fetch has no chat completions equivalent",
      "--code has no chat completions equivalent", "--tool-choice has no chat completions equivalent",
      "--skill has no chat completions equivalent"], ["effort", "tools", "skills", "tool_choice"]),
])
def test_options_the_api_lacks_are_noted_and_not_sent(mocked, api, url, args, notes, absent):
    mocked.post(url, json=agent_body() if api == "agent" else chat_body())
    result = invoke("ask", "hi", "--api", api, *args, "--no-meta")
    assert result.exit_code == 0
    assert result.stderr == "".join(f"pplx: note: {note}; not sent\n" for note in notes)
    assert not set(absent) & set(sent(mocked))
    quiet = invoke("ask", "hi", "--api", api, *args, "--no-meta", "-q")
    assert quiet.stderr == ""


@pytest.mark.parametrize("args, fields", [
    ([], {"effort": "fast"}),
    (["-m", "openai/gpt-5.1"], {"model": "openai/gpt-5.1", "tools": [{"type": "web_search"}]}),
    (["-m", "sonar"], {"model": "perplexity/sonar", "tools": [{"type": "web_search"}]}),
    (["-m", "sonar-pro"], {"effort": "low"}),
    (["-m", "sonar-reasoning-pro"], {"effort": "low"}),
    (["-m", "sonar-deep-research"], {"effort": "medium"}),
    (["-m", "sonar-deep-research", "--effort", "high"], {"effort": "high"}),
    (["--effort", "xhigh"], {"effort": "xhigh"}),
    (["--effort", "fast@2026-10-16.0"], {"effort": "fast@2026-10-16.0"}),
    (["-m", "google/gemini-3-pro", "--effort", "medium"],
     {"model": "google/gemini-3-pro", "effort": "medium"}),
    (["--models", "openai/gpt-5.1, anthropic/claude-sonnet-4-6,sonar"],
     {"models": ["openai/gpt-5.1", "anthropic/claude-sonnet-4-6", "perplexity/sonar"], "tools": [{"type": "web_search"}],
      "max_output_tokens": 8192}),
    (["-m", "anthropic/claude-sonnet-4-6"],
     {"model": "anthropic/claude-sonnet-4-6", "tools": [{"type": "web_search"}], "max_output_tokens": 8192}),
    (["-m", "anthropic/claude-sonnet-4-6", "--max-tokens", "300"],
     {"model": "anthropic/claude-sonnet-4-6", "tools": [{"type": "web_search"}], "max_output_tokens": 300}),
    (["-m", "perplexity/sonar", "--no-search"], {"model": "perplexity/sonar"}),
    (["-m", "perplexity/sonar", "--no-search", "--fetch"], {"model": "perplexity/sonar", "tools": [{"type": "fetch_url"}]}),
    (["--no-search"], {"effort": "fast", "max_tool_calls": 0}),
    (["--no-store"], {"effort": "fast", "store": False}),
])
def test_models_and_efforts_reach_their_fields(mocked, args, fields):
    mocked.post(AGENT, json=agent_body())
    result = invoke("ask", "hi", *args, "--no-meta")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert sent(mocked) == {"input": "hi", "stream": False, "store": True, **fields}


@pytest.mark.parametrize("args", [
    ["--domain", "a.org"], ["--recency", "week"], ["--search-type", "fast"], ["--max-results", "3"], ["--country", "de"],
    ["--updated-after", "2025-01-01"], ["--context-size", "low"], ["--fetch"],
])
def test_a_search_option_with_an_effort_sends_every_tool_the_effort_needs(mocked, args):
    mocked.post(AGENT, json=agent_body())
    assert invoke("ask", "hi", *args, "--no-meta").exit_code == 0
    body = sent(mocked)
    assert body["effort"] == "fast"
    search, fetch = body["tools"]
    assert fetch == {"type": "fetch_url"}
    assert search["type"] == "web_search"
    assert len(search) == (1 if args == ["--fetch"] else 2)


def test_every_search_option_reaches_the_web_search_tool(mocked):
    mocked.post(AGENT, json=agent_body())
    result = invoke("ask", "hi", "-m", "perplexity/sonar", "--search-type", "fast", "--max-results", "7", "--country", "de",
                    "--domain", "a.org", "-D", "b.org", "--after", "2025-01-01", "--before", "2025-06-30",
                    "--updated-after", "2025-02-01", "--updated-before", "7/1/2025", "--context-size", "high", "--fetch",
                    "--no-meta")
    assert result.exit_code == 0, result.stderr
    assert sent(mocked)["tools"] == [
        {"type": "web_search",
         "filters": {"search_domain_filter": ["a.org", "-b.org"], "search_after_date_filter": "1/1/2025",
                     "search_before_date_filter": "6/30/2025", "last_updated_after_filter": "2/1/2025",
                     "last_updated_before_filter": "7/1/2025"},
         "search_context_size": "high", "search_type": "fast", "max_results": 7, "user_location": {"country": "DE"}},
        {"type": "fetch_url"},
    ]


@pytest.mark.parametrize("args, message", [
    (["-m", "gpt-5"], "model 'gpt-5' is not an Agent API model id: ids are provider/name"),
    (["--models", "openai/gpt-5.1,sonar-pro"], "--models takes model ids; 'sonar-pro' is an effort (use --effort low)"),
    (["--no-search", "--fetch"], "--no-search with an effort turns off every tool, --fetch included"),
    (["--recency", "week", "--after", "2025-01-01"], "--recency cannot be combined with --after or --before"),
])
def test_request_that_cannot_be_sent_is_a_usage_error(mocked, args, message):
    result = invoke("ask", "hi", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"pplx: error: {message}")
    assert result.stderr.splitlines()[1:] == ["Try 'pplx ask --help' for help."]
    assert len(mocked.calls) == 0


def test_preset_is_a_deprecated_alias_of_effort(mocked):
    mocked.post(AGENT, json=agent_body())
    result = invoke("ask", "hi", "--preset", "pro-search", "--no-meta")
    assert result.exit_code == 0
    assert result.stderr == "pplx: note: --preset is deprecated; use --effort (it sends the same field)\n"
    assert sent(mocked) == {"effort": "low", "input": "hi", "stream": False, "store": True}
    quiet = invoke("ask", "hi", "--preset", "medium", "-q", "--no-meta")
    assert quiet.stderr == "" and sent(mocked, 1)["effort"] == "medium"


@pytest.mark.parametrize("status", ["failed", "incomplete", "cancelled"])
def test_agent_failed_status_on_200_exits_1(mocked, status):
    body = agent_body("partial")
    body["status"] = status
    body["error"] = {"message": "ran out"} if status == "failed" else None
    mocked.post(AGENT, json=body)
    result = invoke("ask", "hi")
    assert result.exit_code == 1
    assert result.stdout == "partial\n"
    assert result.stderr.splitlines()[-1].startswith(f"pplx: error: response {status}")


def test_agent_stream(mocked):
    mocked.post(AGENT, body=(FIXTURES / "agent_events.sse").read_bytes(), content_type="text/event-stream")
    result = invoke("stream", "q", "--sources", "--no-meta")
    assert result.exit_code == 0
    assert result.stdout == ("Server-sent events stream text over HTTP [1], one event per blank line [2].\n\n"
                             "[1] Server-sent events <https://example.org/sse>\n[2] HTML Living Standard <https://example.org/whatwg>\n")
    assert sent(mocked)["stream"] is True and "stream_mode" not in sent(mocked)


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
    assert result.stderr == ("pplx: error: cannot read /nonexistent/x.sse: No such file or directory\n"
                             "Try 'pplx parse --help' for help.\n")


def test_parse_truncated_capture_is_exit_1(home, tmp_path):
    f = tmp_path / "cut.sse"
    f.write_bytes(sse({"choices": [{"delta": {"content": "cut"}}]}))
    result = invoke("parse", str(f))
    assert result.exit_code == 1
    assert result.stdout == "cut\n"
    assert result.stderr.splitlines()[-1] == "pplx: error: the stream ended before its final chunk after 1 events"


def test_version_and_help():
    from pplx_cli import __version__

    assert invoke("--version").stdout == f"pplx {__version__} (pplx-cli)\n"
    for command in (["ask"], ["stream"], ["raw"], ["parse"], ["models"], ["log"], ["log", "show"], ["log", "search"], ["log", "cost"],
                    ["log", "path"]):
        result = invoke(*command, "--help")
        assert result.exit_code == 0
        assert "Examples:" in result.stdout


def test_lone_surrogate_in_the_answer_is_replaced_not_a_crash(mocked):
    body = (b'{"id": "s", "status": "completed", "output": [{"type": "message", "content": '
            b'[{"type": "output_text", "text": "half an emoji: \\ud83d!"}]}]}')
    mocked.post(AGENT, body=body, content_type="application/json")
    result = invoke("ask", "q")
    assert result.exit_code == 0
    assert result.stdout_bytes == "half an emoji: ?!\n".encode()
    assert json.loads(result.stderr)["id"] == "s"


def test_netrc_never_replaces_the_key(mocked, home):
    (home / ".netrc").write_text("machine api.perplexity.ai login someone password secret\n")
    mocked.post(AGENT, json=agent_body(), match=[matchers.header_matcher({"Authorization": f"Bearer {KEY}"})])
    assert invoke("ask", "q").exit_code == 0


@pytest.mark.parametrize("args, message", [
    (["--meta", "m.json", "--no-meta"], "--meta FILE and --no-meta contradict each other"),
    (["--raw", "--sources"], "--raw prints the response as received; --sources would do nothing with it"),
    (["--raw", "--citations", "strip", "--reasoning", "show"],
     "--raw prints the response as received; --reasoning, --citations would do nothing with it"),
])
def test_contradicting_or_ignored_output_options_are_usage_errors(mocked, args, message):
    for command in ("ask", "stream"):
        result = invoke(command, "q", *args)
        assert result.exit_code == 2
        assert result.stderr == f"pplx: error: {message}\nTry 'pplx {command} --help' for help.\n"
    assert len(mocked.calls) == 0


def test_search_options_moot_with_no_search_are_noted(mocked):
    mocked.post(AGENT, json=agent_body())
    result = invoke("ask", "q", "--no-search", "--country", "DE", "--recency", "day", "--no-meta")
    assert result.exit_code == 0
    assert result.stderr == ("pplx: note: --country does nothing with --no-search; not sent\n"
                             "pplx: note: --recency does nothing with --no-search; not sent\n")
    assert sent(mocked) == {"effort": "fast", "input": "q", "stream": False, "store": True, "max_tool_calls": 0}


def test_auto_notes_only_what_the_answering_api_did_not_get(mocked):
    mocked.post(CHAT, json=RETIRED, status=403)
    mocked.post(AGENT, json=agent_body())
    result = invoke("ask", "q", "--api", "auto", "--effort", "high", "--fetch", "--no-meta")
    assert result.exit_code == 0
    assert result.stderr == "pplx: note: Sonar chat completions are not available for this key; using the Agent API\n"
    assert sent(mocked, 1)["effort"] == "high"


@pytest.mark.parametrize("name, stdout", [
    ("quantum.sse", "A quantum computer uses qubits, which can be in a superposition of 0 and 1 at once [1]. Entangled qubits "
                    "let some problems, such as factoring with Shor's algorithm, run exponentially faster [2]; noise and error "
                    "correction remain the main obstacles [1].\n\n[1] Quantum computing - Wikipedia "
                    "<https://en.wikipedia.org/wiki/Quantum_computing>\n[2] Shor's algorithm - Wikipedia "
                    "<https://en.wikipedia.org/wiki/Shor%27s_algorithm>\n"),
    ("quantum-chat.sse", "Quantum computing uses qubits, which can be in a superposition of 0 and 1 [1]. Entangled qubits let "
                         "some algorithms, such as Shor's factoring, outperform classical computers [2].\n\n[1] Quantum computing "
                         "- Wikipedia <https://en.wikipedia.org/wiki/Quantum_computing>\n[2] Shor's algorithm explained "
                         "<https://example.org/shor>\n"),
])
def test_the_examples_render_offline(home, monkeypatch, name, stdout):
    from tests.conftest import ROOT

    monkeypatch.delenv("PPLX_API_KEY")
    result = invoke("parse", str(ROOT / "examples" / name), "--sources", "--meta-style", "json")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == stdout
    assert json.loads(result.stderr)["api"] == ("agent" if name == "quantum.sse" else "chat")


def test_the_lazy_command_list_matches_the_commands_themselves():
    from pplx_cli.cli import COMMANDS

    for name, (_, short) in COMMANDS.items():
        command = cli.get_command(None, name)
        assert command.name == name and command.get_short_help_str(limit=200) == short, name
    result = CliRunner().invoke(cli, ["--help"])
    listed = result.output.split("Commands:\n", 1)[1].splitlines()
    assert [line.split()[0] for line in listed] == list(COMMANDS)


def test_usage_errors_are_one_error_line_and_a_hint():
    import os
    import subprocess

    from tests.conftest import pplx_executable

    for args, first, hint in (
        (["search", "--max-results", "99", "q"], "pplx: error: Invalid value for '--max-results': 99 is not in the range 1<=x<=20.",
         "Try 'pplx search --help' for help."),
        (["ask", "--bogus"], "pplx: error: No such option '--bogus'. Did you mean '--verbose'?", "Try 'pplx ask --help' for help."),
        (["nope"], "pplx: error: no such command 'nope'", "Try 'pplx --help' for help."),
        (["serch", "q"], "pplx: error: no such command 'serch'; did you mean 'pplx search'?", "Try 'pplx --help' for help."),
        (["what", "is", "a", "qubit?"], "pplx: error: no such command 'what'; to ask a question: pplx ask \"what is a qubit?\"",
         "Try 'pplx --help' for help."),
        (["ask", "-m", "gpt-5", "q"], "pplx: error: model 'gpt-5' is not an Agent API model id: ids are provider/name, "
         "e.g. perplexity/sonar or openai/gpt-5.1 (see pplx models)", "Try 'pplx ask --help' for help."),
        (["ask", "--models", "fast", "q"], "pplx: error: 'fast' is an effort, not a model: did you mean --effort fast?",
         "Try 'pplx ask --help' for help."),
        (["ask", "-m", "sonar-por", "q"], "pplx: error: model 'sonar-por' is not a model id: did you mean sonar-pro?",
         "Try 'pplx ask --help' for help."),
        (["completion", "csh"], "pplx: error: Invalid value for '{bash|zsh|fish}': 'csh' is not one of 'bash', 'zsh', 'fish'.",
         "Try 'pplx completion --help' for help."),
    ):
        result = subprocess.run([pplx_executable(), *args], capture_output=True, stdin=subprocess.DEVNULL, timeout=30,
                                env=dict(os.environ, PPLX_API_KEY="pplx-test-0123456789abcdef", PPLX_BASE_URL="http://127.0.0.1:9"))
        assert result.returncode == 2 and result.stdout == b""
        assert result.stderr.decode().splitlines() == [first, hint]


def test_completion_scripts_install_and_complete_files_and_conversations(home, tmp_path, monkeypatch):
    import os
    import subprocess

    from pplx_cli.store.history import History
    from tests.conftest import pplx_executable

    exe = pplx_executable()
    env = dict(os.environ, PATH=os.path.dirname(exe) + os.pathsep + os.environ.get("PATH", ""))
    installed = subprocess.run(["bash", "-c", "source <(pplx completion bash); complete -p pplx"], capture_output=True,
                               env=env, timeout=30)
    assert installed.returncode == 0 and installed.stdout == b"complete -o nosort -F _pplx_completion pplx\n"
    for shell, start in (("zsh", b"#compdef pplx"), ("fish", b"function _pplx_completion")):
        script = subprocess.run([exe, "completion", shell], capture_output=True, env=env, timeout=30)
        assert script.returncode == 0 and script.stdout.startswith(start)
    assert subprocess.run([exe, "completion", "tcsh"], capture_output=True, env=env, timeout=30).returncode == 2
    history = tmp_path / "h.db"
    with History(str(history)) as h:
        h.record(cid="abc123def456", prompt="p", answer="a", meta={}, exit_status=0)
        h.record(cid="abd999000111", prompt="p", answer="a", meta={}, exit_status=0)

    def complete(words):
        return subprocess.run([exe], capture_output=True, timeout=30, env=dict(
            env, PPLX_HISTORY=str(history), COMP_WORDS=words, COMP_CWORD=str(len(words.split(" ")) - 1),
            _PPLX_COMPLETE="bash_complete")).stdout.decode().splitlines()

    assert complete("pplx ask --cid ab") == ["plain,abd999000111", "plain,abc123def456"]
    assert complete("pplx ask --cid abc") == ["plain,abc123def456"]
    assert complete("pplx parse ex") == ["file,ex"]
    assert complete("pplx ask --effort h") == ["plain,high"]
    assert complete("pplx compl") == ["plain,completion"]


def test_config_output_defaults_and_the_option_that_wins(mocked, home):
    config = home / ".config" / "pplx" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('sources = true\ncitations = "strip"\n')
    mocked.post(AGENT, json=agent_body("Canberra [1]."))
    shown = invoke("ask", "q", "--no-meta")
    assert shown.exit_code == 0, shown.stderr
    assert shown.stdout == "Canberra.\n\n[1] Australia <https://example.org/au>\n"  # stripped, and sources listed
    plain = invoke("ask", "q", "--no-meta", "--no-sources", "--citations", "keep")
    assert plain.stdout == "Canberra [1].\n"
    config.write_text('reasoning = "loud"\n')
    assert invoke("ask", "q").exit_code == 2


def test_the_key_from_a_command_run_only_when_needed(mocked, home, monkeypatch, tmp_path):
    marker = tmp_path / "ran"
    monkeypatch.delenv("PPLX_API_KEY")
    monkeypatch.setenv("PPLX_API_KEY_CMD", f"touch {marker}; printf '{KEY}\\nsecond line\\n'")
    assert invoke("log", "path").exit_code == 0 and not marker.exists()  # nothing to send: not run
    mocked.post(AGENT, json=agent_body(), match=[matchers.header_matcher({"Authorization": f"Bearer {KEY}"})])
    assert invoke("ask", "q", "--no-meta").exit_code == 0 and marker.exists()
    monkeypatch.setenv("PPLX_API_KEY_CMD", "echo 'gpg: decryption failed: No secret key' >&2; exit 2")
    failed = invoke("ask", "q")
    assert failed.exit_code == 3
    assert failed.stderr == ("pplx: error: the key command (PPLX_API_KEY_CMD) failed with status 2: "
                             "gpg: decryption failed: No secret key\n")
    monkeypatch.setenv("PPLX_API_KEY", KEY)  # the variable wins: the command is not run
    assert invoke("ask", "q", "--no-meta").exit_code == 0


def test_parse_renders_a_response_body_as_ask_would(home, tmp_path):
    body = tmp_path / "body.json"
    body.write_text(json.dumps(agent_body("Canberra [1].")))
    result = invoke("parse", str(body), "--sources", "--no-meta")
    assert result.exit_code == 0 and result.stdout == "Canberra [1].\n\n[1] Australia <https://example.org/au>\n"
    chat = {"id": "c", "model": "sonar", "created": 1, "citations": [],
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Chat body."}}]}
    body.write_text(json.dumps(chat))
    assert invoke("parse", str(body), "--no-meta").stdout == "Chat body.\n"
    neither = invoke("parse", "-", "--no-meta", input="hello there\n")
    assert neither.exit_code == 1 and neither.stderr == "pplx: error: the input is not an event stream or a response body\n"


def test_a_prompt_eaten_by_options_says_which_were_taken(mocked):
    result = invoke("ask", "-c", "-v")
    assert result.exit_code == 2 and result.stderr.endswith(
        "these words were read as options: -v, -c (quote the prompt, or put -- before it)\nTry 'pplx ask --help' for help.\n")
    mocked.post(AGENT, json=agent_body())
    assert invoke("ask", "--", "what", "does", "grep", "-c", "do").exit_code == 0
    assert sent(mocked, 0)["input"] == "what does grep -c do"
