"""Failure handling, end to end: the installed CLI against a fault-injecting server on 127.0.0.1.

Each case asserts the exit status, what reached stdout (what arrived is kept), the stderr
message, the number of requests made, and a time bound.
"""

import json
import os
import socket
import subprocess
import time
from dataclasses import dataclass, field

import pytest

from tests.conftest import KEY, pplx_executable
from tests.server import Reply, json_reply, sse, text_events

AGENT = "/v1/responses"


ev = text_events


OK = [ev("fine", "stop")]


@dataclass
class Case:
    replies: list
    args: list
    code: int
    stdout: bytes
    stderr: list  # the lines that must be on stderr, in order; "{url}" is the server's URL
    requests: int
    seconds: float  # the run must end within this
    at_least: float = 0.0  # ... and not before this (for waits that must happen)
    meta_error: str = None  # the metadata's "error", when metadata is expected on stderr
    extra: dict = field(default_factory=dict)


CASES = {
    "stall before headers": Case(
        [Reply(parts=OK, stall_before_headers=30)], ["stream", "q", "--timeout", "1", "--no-meta"], 5, b"",
        ["pplx: error: no response from {url} within 1s"], 1, 4.0, at_least=1.0),  # within 4 s: well before the 30 s stall, on a busy machine too
    "stall mid-stream": Case(
        [Reply(parts=[ev("start "), ev("never", "stop")], delay=30)], ["stream", "q", "--timeout", "1"], 5,
        b"start \n", ["pplx: error: timed out after 1 event: no data for 1s"], 1, 4.0, at_least=1.0,
        meta_error="timed out after 1 event: no data for 1s"),
    "drop mid-event, chunked": Case(
        [Reply(parts=[ev("kept "), ev("kept too "), b'data: {"type": "response.output_text.delta", "del'], drop_after=3)],
        ["stream", "q"], 5, b"kept kept too \n", ["pplx: error: connection lost after 2 events"],
        1, 5.0, meta_error="connection lost after 2 events"),
    "drop mid-event, connection close": Case(
        [Reply(parts=[ev("kept "), b'data: {"type": "response.output_text.delta", "del'], framing="close", drop_after=2)],
        ["stream", "q"], 5, b"kept \n", ["pplx: error: connection lost after 1 event"], 1, 5.0,
        meta_error="connection lost after 1 event"),
    "429 with Retry-After, then success": Case(
        [json_reply({"error": {"message": "slow down", "type": "rate_limit"}}, 429, {"Retry-After": "1"}), Reply(parts=OK)],
        ["stream", "q", "--no-meta"], 0, b"fine\n", ["pplx: retrying in 1.0s after HTTP 429 (1/2)"], 2, 4.0, at_least=1.0),
    "429 with an HTTP-date Retry-After": Case(
        [json_reply({"error": {"message": "slow down"}}, 429, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}), Reply(parts=OK)],
        ["stream", "q", "--no-meta"], 0, b"fine\n", ["pplx: retrying in 0.0s after HTTP 429 (1/2)"], 2, 4.0),
    "429 after the last retry": Case(
        [json_reply({"error": {"message": "slow down", "type": "rate_limit"}}, 429, {"Retry-After": "0"})],
        ["stream", "q", "--retries", "1"], 4, b"",
        ["pplx: retrying in 0.0s after HTTP 429 (1/1)", "pplx: error: HTTP 429: slow down (rate_limit)"], 2, 4.0),
    "429 quiet": Case(
        [json_reply({"error": {"message": "slow down"}}, 429, {"Retry-After": "0"})],
        ["ask", "q", "--retries", "2", "-q"], 4, b"", ["pplx: error: HTTP 429: slow down"], 3, 4.0),
    "503 then success": Case(
        [json_reply({"error": {"message": "busy"}}, 503, {"Retry-After": "0"}), Reply(parts=OK)],
        ["stream", "q", "--no-meta"], 0, b"fine\n", ["pplx: retrying in 0.0s after HTTP 503 (1/2)"], 2, 4.0),
    "500 every time": Case(
        [json_reply({"error": {"message": "oops", "type": "server_error"}}, 500, {"Retry-After": "0"})],
        ["ask", "q"], 1, b"",
        ["pplx: retrying in 0.0s after HTTP 500 (1/2)", "pplx: retrying in 0.0s after HTTP 500 (2/2)",
         "pplx: error: HTTP 500: oops (server_error)"], 3, 4.0),
    "502 HTML page from a proxy": Case(
        [Reply(status=502, parts=[b"<html><head><title>502 Bad Gateway</title></head><body>" + b"x" * 9000 + b"</body></html>"],
               headers={"Content-Type": "text/html", "Retry-After": "0"}, framing="length")],
        ["ask", "q", "--retries", "0"], 1, b"", ["pplx: error: HTTP 502: HTML page '502 Bad Gateway'"], 1, 4.0),
    "401 is not retried": Case(
        [json_reply({"error": {"message": "Invalid API key", "type": "invalid_api_key"}}, 401)],
        ["ask", "q"], 3, b"", ["pplx: error: HTTP 401: Invalid API key (invalid_api_key); the key (pplx-…[redacted]) came "
                               "from PPLX_API_KEY; pplx reads the key from PPLX_API_KEY, PERPLEXITY_API_KEY, PPLX_API_KEY_CMD, "
                               "api_key or api_key_cmd in {home}/.config/pplx/config.toml, then "
                               "{home}/.config/perplexity/credentials.json, the first set"], 1, 4.0),
    "400 is not retried": Case(
        [json_reply({"error": {"message": "Invalid model 'nope'", "type": "invalid_model"}}, 400)],
        ["ask", "q", "-m", "openai/nope"], 1, b"", ["pplx: error: HTTP 400: Invalid model 'nope' (invalid_model)"], 1, 4.0),
    "the server echoes the key back": Case(
        [json_reply({"error": {"message": f"bad request; headers were Authorization: Bearer {KEY}", "type": "invalid_request"}}, 400)],
        ["stream", "q", "-v"], 1, b"", None, 1, 4.0),
    "HTML on 200": Case(
        [Reply(parts=[b"<!DOCTYPE html><html><title>Sign in - Proxy</title></html>"], headers={"Content-Type": "text/html"})],
        ["stream", "q"], 1, b"", ["pplx: error: expected an event stream, got text/html: HTML page 'Sign in - Proxy'"], 1, 4.0),
    "empty body": Case(
        [Reply(parts=[])], ["stream", "q", "--no-meta"], 1, b"", ["pplx: error: the response is empty: no events"], 1, 4.0),
    "a stream with no content": Case(
        [Reply(parts=[ev("", "stop")])], ["stream", "q"], 1, b"", ["pplx: error: the response has no answer text"], 1, 4.0,
        meta_error="the response has no answer text"),
    "error object in the stream": Case(
        [Reply(parts=[ev("so far "), sse({"error": {"message": "model overloaded", "type": "server_error"}})])],
        ["stream", "q"], 1, b"so far \n", ["pplx: error: model overloaded (server_error)"], 1, 4.0,
        meta_error="model overloaded (server_error)"),
    "event: error": Case(
        [Reply(parts=[ev("so far "), b'event: error\ndata: {"message": "internal"}\n\n'])],
        ["stream", "q"], 1, b"so far \n", ["pplx: error: internal"], 1, 4.0, meta_error="internal"),
    "malformed events": Case(
        [Reply(parts=[ev("a "), b"data: {\"choices\": [\n\n", ev("b "), b"data: <html>\n\n", ev("c", "stop")])],
        ["stream", "q", "--meta", "{meta}"], 1, b"a b c\n",
        ['pplx: warning: skipped malformed event 2 (not JSON): "{\\"choices\\": ["',
         'pplx: warning: skipped malformed event 4 (not JSON): "<html>"', "pplx: error: 2 malformed events skipped"], 1, 4.0,
        extra={"skipped_events": 2}),
    "every byte its own write": Case(
        [Reply(parts=[ev("Grüße "), ev("東京", "stop")], bytewise=True)],
        ["stream", "q", "--no-meta"], 0, "Grüße 東京\n".encode(), [], 1, 5.0),
    "an event over 64 MiB": Case(
        [Reply(parts=[ev("before "), b"data: " + b"x" * (64 * 1024 * 1024 + 10)], framing="length")],
        ["stream", "q", "--no-meta"], 1, b"before \n",
        ["pplx: error: an event is larger than 64 MiB (67108880 bytes so far)"], 1, 20.0),
}


@pytest.mark.parametrize("name", list(CASES))
def test_failure(api, home, tmp_path, name):
    case = CASES[name]
    api.add(AGENT, *case.replies)
    meta_file = tmp_path / "meta.json"
    args = [a.replace("{meta}", str(meta_file)) for a in case.args]
    started = time.monotonic()
    result = subprocess.run([pplx_executable(), *args], capture_output=True, stdin=subprocess.DEVNULL, timeout=60,
                            env=dict(os.environ, PPLX_BASE_URL=api.url))
    elapsed = time.monotonic() - started
    err = result.stderr.decode()
    assert result.returncode == case.code, err
    assert result.stdout == case.stdout
    lines = [line for line in err.splitlines() if not line.startswith("{")]
    if case.stderr is None:  # -v: only the error line is checked exactly
        lines = [line for line in lines if line.startswith("pplx: error:")]
        assert lines == ["pplx: error: HTTP 400: bad request; headers were Authorization: Bearer [redacted] (invalid_request)"]
    else:
        assert lines == [line.replace("{url}", api.url).replace("{home}", str(home)) for line in case.stderr]
    assert len(api.requests) == case.requests
    assert case.at_least <= elapsed < case.seconds, elapsed
    assert "Traceback" not in err and KEY not in err
    metas = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    if meta_file.exists():
        metas.append(json.loads(meta_file.read_text()))
    if case.meta_error is not None:
        assert [m.get("error") for m in metas] == [case.meta_error]
    for key, value in case.extra.items():
        assert metas and metas[0][key] == value


def test_connection_refused_is_retried_then_exit_5(home):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    result = subprocess.run([pplx_executable(), "ask", "q", "--retries", "1", "--base-url", f"http://127.0.0.1:{port}"],
                            capture_output=True, stdin=subprocess.DEVNULL, timeout=30)
    assert result.returncode == 5
    assert result.stdout == b""
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("pplx: retrying in ") and lines[0].endswith("s after connection failure (1/1)")
    assert lines[1] == f"pplx: error: cannot connect to http://127.0.0.1:{port}: Connection refused"
    assert time.monotonic() - started < 5


def test_dns_failure_exits_5(home, monkeypatch):
    """Name resolution fails (stubbed in-process: no resolver is ever asked)."""
    from click.testing import CliRunner

    from pplx_cli.cli import cli

    def no_such_host(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    monkeypatch.setattr("time.sleep", lambda s: None)
    result = CliRunner().invoke(cli, ["ask", "q", "--base-url", "https://no-such-host.invalid"])
    assert result.exit_code == 5
    assert result.stderr.splitlines()[-1] == "pplx: error: cannot connect to https://no-such-host.invalid: Name or service not known"


def test_arguments_that_are_not_utf8_are_a_usage_error(api, home):
    for args, message in (([b"caf\xe9"], "the PROMPT arguments are not valid UTF-8"),
                          ([b"q", b"-s", b"\xff"], "the request holds text that is not valid UTF-8 (check the options)")):
        result = subprocess.run([pplx_executable().encode(), b"ask", *args], capture_output=True, stdin=subprocess.DEVNULL,
                                env=dict(os.environ, PPLX_BASE_URL=api.url), timeout=30)
        assert result.returncode == 2
        assert result.stderr.decode() == f"pplx: error: {message}\nTry 'pplx ask --help' for help.\n"
        assert result.stdout == b""
    assert api.requests == []
