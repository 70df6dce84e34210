"""The installed CLI as a subprocess against a real threaded server on 127.0.0.1.

For what only a real socket shows: incremental delivery with each framing, raw
byte-exactness, raw | parse equivalence, dropped connections, stalls, closed pipes and
signals.
"""

import json
import os
import select
import signal
import subprocess
import time

import pytest

from tests.conftest import FIXTURES, KEY, pplx_executable
from tests.server import Reply, json_reply, sse, text_events

CHAT = "/chat/completions"
AGENT = "/v1/responses"


def chunk(content, finish=None):
    return {"id": "live", "model": "sonar", "object": "chat.completion.chunk",
            "choices": [{"index": 0, "finish_reason": finish, "delta": {"content": content}}]}


ev = text_events


def events_of(path):
    """A transcript split into its events (each part ends with its blank line)."""
    body = path.read_bytes()
    sep = b"\r\n\r\n" if b"\r\n" in body else b"\n\n"
    return [p + sep for p in body.split(sep) if p]


def spawn(api, *args, env=None):
    full = dict(os.environ, PPLX_BASE_URL=api.url, **(env or {}))
    return subprocess.Popen([pplx_executable(), *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=full)


def read_arrivals(proc, timeout=20):
    """Read stdout as it comes: [(time.monotonic(), bytes)] until EOF."""
    fd = proc.stdout.fileno()
    arrivals = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            data = os.read(fd, 65536)
            if not data:
                break
            arrivals.append((time.monotonic(), data))
    return arrivals


def run_cli(api, *args, input=b"", env=None, timeout=30):
    full = dict(os.environ, PPLX_BASE_URL=api.url, **(env or {}))
    return subprocess.run([pplx_executable(), *args], input=input, capture_output=True, env=full, timeout=timeout)


@pytest.mark.parametrize("framing", ["chunked", "close", "length"])
def test_stream_shows_each_event_as_it_arrives(api, home, framing):
    parts = [ev("first "), ev("second "), ev("third", "stop")]
    reply = api.add(AGENT, Reply(parts=parts, framing=framing, delay=0.4))
    proc = spawn(api, "stream", "q", "--no-meta")
    arrivals = read_arrivals(proc)
    assert proc.wait(10) == 0, proc.stderr.read()
    assert b"".join(d for _, d in arrivals) == b"first second third\n"
    if framing == "length":
        # with Content-Length the server cannot send early; the client still parses per read
        return
    first_at = next(t for t, d in arrivals if b"first" in d)
    second_at = next(t for t, d in arrivals if b"second" in d)
    assert first_at < reply.sent_at[1], "the first delta waited for the second event"
    assert first_at - reply.sent_at[0] < 0.3
    assert second_at - reply.sent_at[1] < 0.3


def test_event_completed_by_a_later_read_is_shown_then(api, home):
    # the blank line that ends event 1 arrives with the start of event 2
    e1, e2 = ev("one "), ev("two", "stop")
    reply = api.add(AGENT, Reply(parts=[e1[:-1], e1[-1:] + e2[:10], e2[10:]], framing="close", delay=0.4))
    proc = spawn(api, "stream", "q", "--no-meta")
    arrivals = read_arrivals(proc)
    assert proc.wait(10) == 0
    one_at = next(t for t, d in arrivals if b"one" in d)
    assert reply.sent_at[1] <= one_at < reply.sent_at[2]


def test_raw_is_byte_exact_and_flushed_per_read(api, home):
    body = (FIXTURES / "chat_full_think.sse").read_bytes()  # CRLF line ends
    api.add(CHAT, Reply(parts=[body], bytewise=True))
    result = run_cli(api, "raw", "q", "--api", "chat")
    assert result.returncode == 0
    assert result.stdout == body
    api.routes.clear()
    reply = api.add(AGENT, Reply(parts=[b"data: {}\n", b"\n"], framing="close", delay=0.5))
    proc = spawn(api, "raw", "q")
    arrivals = read_arrivals(proc)
    proc.wait(10)
    assert arrivals[0][1] == b"data: {}\n", arrivals
    assert arrivals[0][0] < reply.sent_at[1]


@pytest.mark.parametrize("name, api_name", [("chat_full_think.sse", "chat"), ("chat_concise_reasoning.sse", "chat"),
                                            ("agent_events.sse", "agent"), ("agent_plain.sse", "agent")])
def test_raw_piped_to_parse_equals_stream(api, home, tmp_path, name, api_name):
    api.add(CHAT if api_name == "chat" else AGENT, Reply(parts=events_of(FIXTURES / name)))
    flags = ["--api", api_name, "--sources", "--reasoning", "show"]
    streamed = run_cli(api, "stream", "q", *flags[:2], *flags[2:], "--meta", str(tmp_path / "a.json"))
    raw = run_cli(api, "raw", "q", *flags[:2])
    parsed = run_cli(api, "parse", *flags[2:], "--meta", str(tmp_path / "b.json"), input=raw.stdout)
    assert streamed.returncode == raw.returncode == parsed.returncode == 0, (streamed.stderr, parsed.stderr)
    assert parsed.stdout == streamed.stdout
    assert streamed.stdout
    assert json.loads((tmp_path / "a.json").read_text()) == json.loads((tmp_path / "b.json").read_text())


def test_closed_stdout_exits_at_once_and_quietly(api, home):
    parts = [ev("x" * 50 + " ") for _ in range(40)] + [ev("end", "stop")]
    api.add(AGENT, Reply(parts=parts, delay=0.05))
    proc = spawn(api, "stream", "q")
    proc.stdout.read(10)
    closed_at = time.monotonic()
    proc.stdout.close()
    code = proc.wait(10)
    assert time.monotonic() - closed_at < 1.0  # at once: at the next event, not the end of the stream
    assert len(api.requests) == 1
    err = proc.stderr.read().decode()
    assert code == 141
    assert "Traceback" not in err and "Exception ignored" not in err
    assert err == ""  # no metadata either: the reader is gone


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_mid_stream_keeps_output(api, home, sig, code):
    parts = [ev("before "), ev("after", "stop")]
    api.add(AGENT, Reply(parts=parts, delay=30))
    proc = spawn(api, "stream", "q")
    fd = proc.stdout.fileno()
    select.select([fd], [], [], 10)
    got = os.read(fd, 100)
    signalled_at = time.monotonic()
    proc.send_signal(sig)
    rest = proc.stdout.read()
    assert proc.wait(10) == code
    assert time.monotonic() - signalled_at < 1.0
    assert len(api.requests) == 1
    err = proc.stderr.read().decode()
    assert got + rest == b"before \n"
    assert "Traceback" not in err
    assert json.loads(err.splitlines()[0])["error"] == {130: "interrupted", 143: "terminated"}[code]


def test_output_is_utf8_whatever_the_locale(api, home):
    api.add(AGENT, Reply(parts=[ev("Grüße, 東京 🙂", "stop")]))
    result = run_cli(api, "stream", "q", env={"LC_ALL": "C", "LANG": "C", "PYTHONIOENCODING": ""})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Grüße, 東京 🙂\n".encode()
    assert json.loads(result.stderr)["id"] == "resp_t"


# ---- the Agent API over a real socket ----

RETIRED = {"error": {"message": "Sonar is now the Agent API. Use /v1/responses instead of /v1/sonar.",
                     "type": "chat_completions_not_available", "code": 403}}


def test_retired_key_streams_from_the_agent_api_with_one_note(api, home):
    api.add(CHAT, json_reply(RETIRED, status=403))
    api.add(AGENT, Reply(parts=events_of(FIXTURES / "agent_plain.sse")))
    result = run_cli(api, "stream", "what are server-sent events?", "--no-meta", "--api", "auto")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"Server-sent events stream text over HTTP [1], one event per blank line [2].\n"
    assert result.stderr == b"pplx: note: Sonar chat completions are not available for this key; using the Agent API\n"
    assert api.paths() == [CHAT, AGENT]
    again = run_cli(api, "stream", "again", "--no-meta", "--api", "auto")
    assert again.returncode == 0 and again.stderr == b""
    assert api.paths() == [CHAT, AGENT, AGENT]


def test_every_mapped_option_is_accepted_by_a_strict_agent_api(api, home, tmp_path):
    schema = tmp_path / "s.json"
    schema.write_text('{"type": "object"}')
    api.add(AGENT, Reply(parts=events_of(FIXTURES / "agent_events.sse")))
    args = ["stream", "q", "-m", "sonar", "--effort", "low", "-s", "sys", "--max-tokens", "50", "--temperature", "0.5",
            "--top-p", "0.5", "--domain", "a.org", "-D", "b.org", "--after", "2025-01-01", "--before", "2025-06-30",
            "--updated-after", "2025-02-01", "--updated-before", "2025-07-01", "--search-type", "fast", "--max-results", "4",
            "--country", "fr", "--fetch", "--context-size", "medium", "--reasoning-effort", "high", "--json-schema", str(schema),
            "--no-store", "-o", "language_preference", "fr", "-o", "max_steps", "3", "--no-meta", "--stream-mode", "full", "-q"]
    result = run_cli(api, *args)
    assert result.returncode == 0, result.stderr
    body = api.requests[0]["body"]
    assert body == {
        "model": "perplexity/sonar", "effort": "low", "input": "q", "instructions": "sys", "stream": True, "store": False,
        "tools": [{"type": "web_search",
                   "filters": {"search_domain_filter": ["a.org", "-b.org"], "search_after_date_filter": "1/1/2025",
                               "search_before_date_filter": "6/30/2025", "last_updated_after_filter": "2/1/2025",
                               "last_updated_before_filter": "7/1/2025"},
                   "search_context_size": "medium", "search_type": "fast", "max_results": 4, "user_location": {"country": "FR"}},
                  {"type": "fetch_url"}],
        "max_output_tokens": 50, "temperature": 0.5, "top_p": 0.5, "reasoning": {"effort": "high"},
        "response_format": {"type": "json_schema", "json_schema": {"schema": {"type": "object"}}},
        "language_preference": "fr", "max_steps": 3,
    }


def test_strict_agent_api_rejection_is_reported(api, home):
    result = run_cli(api, "ask", "q", "-o", "top_k", "3")
    assert result.returncode == 1
    assert result.stderr == b'pplx: error: HTTP 400: invalid request body: json: unknown field "top_k" (invalid_request)\n'


@pytest.mark.parametrize("status", ["failed", "incomplete", "cancelled"])
def test_agent_stream_terminal_states(api, home, status):
    terminal = {"type": f"response.{status}", "response": {"id": "r", "status": status, "model": "perplexity/sonar",
                                                           "error": {"message": "quota"} if status == "failed" else None}}
    api.add(AGENT, Reply(parts=[sse({"type": "response.output_text.delta", "delta": "so far"}), sse(terminal, event=terminal["type"])]))
    result = run_cli(api, "stream", "q", "--api", "agent")
    assert result.returncode == 1
    assert result.stdout == b"so far\n"
    lines = result.stderr.decode().splitlines()
    assert json.loads(lines[0])["finish_reason"] == status
    assert lines[-1].startswith(f"pplx: error: response {status}")
    if status == "failed":
        assert lines[-1] == "pplx: error: response failed: quota"


def test_agent_stream_completed_exit_0_with_usage(api, home):
    api.add(AGENT, Reply(parts=events_of(FIXTURES / "agent_events.sse"), framing="close"))
    result = run_cli(api, "stream", "q", "--api", "agent")
    assert result.returncode == 0
    meta = json.loads(result.stderr)
    assert meta["api"] == "agent" and meta["usage"]["cost"]["total_cost"] == 0.005032 and meta["finish_reason"] == "stop"
    assert KEY not in result.stderr.decode()


def test_gzip_body_is_decoded_even_though_identity_was_asked(api, home):
    import gzip

    body = sse(chunk("compressed "), chunk("answer", "stop"))
    packed = gzip.compress(body)
    api.add(CHAT, Reply(parts=[packed[:20], packed[20:]], headers={"Content-Type": "text/event-stream", "Content-Encoding": "gzip"}))
    result = run_cli(api, "stream", "q", "--no-meta", "--api", "chat")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"compressed answer\n"
    assert api.requests[0]["headers"]["Accept-Encoding"] == "identity"
    raw = run_cli(api, "raw", "q", "--api", "chat")
    assert raw.stdout == body


def test_ask_with_a_gzipped_json_body(api, home):
    import gzip

    body = json.dumps({"id": "g", "choices": [{"finish_reason": "stop", "message": {"content": "Zipped."}}]}).encode()
    api.add(CHAT, Reply(parts=[gzip.compress(body)], headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
                        framing="length"))
    result = run_cli(api, "ask", "q", "--no-meta", "--api", "chat")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"Zipped.\n"
    assert "gzip" in api.requests[0]["headers"]["Accept-Encoding"]
    raw = run_cli(api, "ask", "--raw", "q", "--api", "chat")
    assert raw.stdout == body  # the JSON body, decoded as any HTTP client would
