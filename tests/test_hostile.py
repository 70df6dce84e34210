"""Hostile conditions, each a class: descriptors that fail, signals, bad local values,
bodies that inflate, redirects, unanswered requests, and the key in unexpected places.
The installed CLI runs as a subprocess against the local server; each case checks the exit
status, exactly one error line, no traceback, and where it matters the history."""

import gzip
import json
import os
import pty
import signal
import sqlite3
import subprocess

import pytest

from tests.conftest import KEY, pplx_executable, read_all
from tests.server import AgentRun, Reply, json_reply, sse

AGENT = "/v1/responses"
TEXT = "Canberra is the capital of Australia [1]."


@pytest.fixture
def db(home, tmp_path, monkeypatch):
    path = tmp_path / "history.db"
    monkeypatch.setenv("PPLX_HISTORY", str(path))
    return path


def rows(path):
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM exchanges ORDER BY id")]


def shell(api, command, timeout=30, env=None):
    """Run a shell line with pplx in it (for >&- and 2>&-), against the server."""
    full = dict(os.environ, PPLX_BASE_URL=api.url, PPLX=pplx_executable(), **(env or {}))
    return subprocess.run(["bash", "-c", command], capture_output=True, timeout=timeout, env=full, stdin=subprocess.DEVNULL)


def clean_error(stderr: bytes, expected: str):
    text = stderr.decode()
    assert "Traceback" not in text and "Exception ignored" not in text, text
    errors = [line for line in text.splitlines() if line.startswith("pplx: error:")]
    assert errors == [f"pplx: error: {expected}"], text


# ---- stdout that cannot be written ----

EVERY_COMMAND = [["--version"], ["--help"], ["ask", "--help"], ["ask", "q"], ["stream", "q"], ["raw", "q"], ["models"],
                 ["log", "path"], ["log", "--help"], ["parse", "{fixture}"]]


@pytest.mark.parametrize("args", EVERY_COMMAND, ids=lambda a: " ".join(a))
@pytest.mark.parametrize("target, reason", [("> /dev/full", "No space left on device"), (">&-", "Bad file descriptor")])
def test_every_command_reports_an_unwritable_stdout_once(api, home, db, args, target, reason):
    from tests.conftest import ROOT

    words = " ".join(a.replace("{fixture}", str(ROOT / "examples" / "quantum.sse")) for a in args)
    result = shell(api, f'"$PPLX" {words} {target}')
    assert result.returncode == 74, result.stderr
    clean_error(result.stderr, f"cannot write to stdout: {reason}")


@pytest.mark.parametrize("command", ["ask", "stream"])
def test_the_answer_is_recorded_even_when_stdout_is_full(api, home, db, command):
    result = shell(api, f'"$PPLX" {command} "capital?" --meta-style json > /dev/full')
    assert result.returncode == 74
    lines = result.stderr.decode().splitlines()
    assert lines[-1] == "pplx: error: cannot write to stdout: No space left on device"
    meta = json.loads(lines[0])
    assert meta["usage"]["cost"]["total_cost"] == 0.00119 and meta["error"] == "cannot write to stdout: No space left on device"
    [row] = rows(db)
    assert (row["answer"], row["exit_status"], row["cost"]) == (TEXT, 74, 0.00119)
    assert row["error"] == "cannot write to stdout: No space left on device"


def test_eio_on_a_terminal_that_went_away(api, home, db):
    master, slave = pty.openpty()
    os.close(master)  # writing the slave of a pty whose master is closed fails with EIO
    result = subprocess.run([pplx_executable(), "ask", "q", "--meta-style", "json"], stdout=slave, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=dict(os.environ, PPLX_BASE_URL=api.url), timeout=30)
    os.close(slave)
    assert result.returncode == 74
    clean_error(result.stderr, "cannot write to stdout: Input/output error")
    assert rows(db)[0]["answer"] == TEXT


@pytest.mark.parametrize("command", ["ask q", "stream q", "--version", "ask --bogus"])
def test_a_closed_stderr_changes_nothing_but_what_is_said(api, home, db, command):
    result = shell(api, f'"$PPLX" {command} 2>&-')
    assert result.stderr == b""
    if command == "ask --bogus":
        assert result.returncode == 2
    else:
        assert result.returncode == 0 and result.stdout.endswith(b"\n")


def test_closed_stdin_is_no_prompt(api, home, db):
    result = shell(api, '"$PPLX" ask <&-')
    assert result.returncode == 2
    clean_error(result.stderr, "no prompt: give it as arguments or on stdin (see pplx ask --help)")


def test_a_reader_that_had_the_whole_answer_leaves_a_complete_record(api, home, db):
    # sources far larger than a pipe's buffer: pplx is still writing them when the reader,
    # which has read the whole answer, closes the pipe
    results = [{"id": i, "url": f"https://example.org/{i}", "title": "t" * 200} for i in range(1, 1001)]
    api.add(AGENT, AgentRun(searches=[{"queries": ["q"], "results": results}]))
    proc = subprocess.Popen([pplx_executable(), "ask", "q", "--sources", "--meta-style", "json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=dict(os.environ, PPLX_BASE_URL=api.url))
    assert proc.stdout.read(len(TEXT) + 1) == (TEXT + "\n").encode()
    proc.stdout.close()
    assert proc.wait(10) == 141
    assert b"Traceback" not in proc.stderr.read()
    [row] = rows(db)
    assert (row["answer"], row["exit_status"], row["error"]) == (TEXT, 0, None)


def test_a_reader_gone_mid_answer_is_recorded_as_such(api, home, db):
    api.add(AGENT, AgentRun(text="word " * 40000, deltas=400))
    proc = subprocess.Popen([pplx_executable(), "stream", "q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=dict(os.environ, PPLX_BASE_URL=api.url))
    proc.stdout.read(10)
    proc.stdout.close()
    assert proc.wait(10) == 141
    [row] = rows(db)
    assert (row["exit_status"], row["error"]) == (141, "stdout closed")


# ---- signals ----


def test_sighup_is_handled_like_sigterm(api, home, db):
    api.add(AGENT, Reply(parts=[sse({"type": "response.output_text.delta", "delta": "before "}),
                                sse({"type": "response.output_text.delta", "delta": "after"})], delay=30))
    proc = subprocess.Popen([pplx_executable(), "stream", "q", "--meta-style", "json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=dict(os.environ, PPLX_BASE_URL=api.url))
    assert proc.stdout.read(7) == b"before "
    proc.send_signal(signal.SIGHUP)
    assert proc.wait(10) == 129
    assert proc.stdout.read() == b"\n"
    err = proc.stderr.read().decode()
    assert "Traceback" not in err
    assert json.loads(err.splitlines()[0])["error"] == "hangup: the terminal was closed"
    [row] = rows(db)
    assert (row["answer"], row["exit_status"], row["error"]) == ("before ", 129, "hangup: the terminal was closed")


# ---- bad local values ----


@pytest.mark.parametrize("config, message", [
    ("timeout = 0", "timeout must be a number of seconds above 0 and below 86400"),
    ("timeout = inf", "timeout must be a number of seconds above 0 and below 86400"),
    ("timeout = nan", "timeout must be a number of seconds above 0 and below 86400"),
    ("retries = 100000", "retries must be a whole number from 0 to 100"),
])
def test_bad_config_values(api, home, config, message):
    path = home / ".config" / "pplx" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(config + "\n")
    result = shell(api, '"$PPLX" ask q')
    assert result.returncode == 2
    clean_error(result.stderr, f"config file {path}: {message}")
    assert api.requests == []


@pytest.mark.parametrize("args, words", [
    (["--temperature", "nan"], "'nan' is not a finite number"),
    (["--top-p", "nan"], "'nan' is not a finite number"),
    (["--timeout", "inf"], "--timeout"),
    (["--timeout", "nan"], "--timeout"),
    (["--base-url", "http://[::1"], "is not a valid URL"),
    (["--base-url", "http://127.0.0.1:99999"], "is not a valid URL"),
    (["--base-url", "https://"], "with a host"),
])
def test_bad_option_values_are_usage_errors(api, home, args, words):
    result = subprocess.run([pplx_executable(), "ask", "q", *args], capture_output=True, stdin=subprocess.DEVNULL, timeout=30,
                            env=dict(os.environ, PPLX_BASE_URL=api.url))
    assert result.returncode == 2, result.stderr
    assert words in result.stderr.decode() and b"Traceback" not in result.stderr
    assert api.requests == []


@pytest.mark.parametrize("key", ["pplx-abc\ndef-0123456789", "pplx-tab\tinside-0123456789", "pplx-\x1b[31m-0123456789",
                                 "pplx-caf\u00e9-0123456789"])
def test_a_key_with_a_control_character_is_refused_without_showing_it(api, home, key):
    result = subprocess.run([pplx_executable(), "ask", "q"], capture_output=True, stdin=subprocess.DEVNULL, timeout=30,
                            env=dict(os.environ, PPLX_BASE_URL=api.url, PPLX_API_KEY=key))
    assert result.returncode == 3
    clean_error(result.stderr, "the API key (from PPLX_API_KEY) holds a control character or a character that is not ASCII, "
                               "such as a newline pasted with it; set it again")
    assert key.encode()[:8] not in result.stderr.replace(b"pplx: ", b"")
    assert api.requests == []


def test_log_show_of_an_id_beyond_64_bits(api, home, db):
    assert shell(api, '"$PPLX" ask q').returncode == 0  # a history SQLite must be asked of
    result = subprocess.run([pplx_executable(), "log", "show", str(2**70)], capture_output=True, timeout=30)
    assert result.returncode == 1
    clean_error(result.stderr, f"no exchange {2**70} in the history")


# ---- bodies and connections ----


def peak_rss_mb(args, env):
    """Run pplx under a small wrapper that reports its child's peak RSS: (result, MB)."""
    import sys

    wrapper = ("import resource, subprocess, sys\n"
               "r = subprocess.run(sys.argv[1:], capture_output=True, stdin=subprocess.DEVNULL)\n"
               "sys.stderr.buffer.write(r.stderr)\n"
               "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    result = subprocess.run([sys.executable, "-c", wrapper, pplx_executable(), *args], capture_output=True, env=env, timeout=120)
    code, kb = result.stdout.split()
    return int(code), result.stderr, int(kb) / 1024


@pytest.mark.parametrize("coding, pack", [("gzip", lambda b: gzip.compress(b, 9)), ("deflate", lambda b: __import__("zlib").compress(b, 9))])
def test_a_body_that_inflates_past_the_limit_stops_with_one_line(api, home, db, coding, pack):
    body = b'{"output": [{"type": "message", "content": [{"type": "output_text", "text": "' + b"0" * (200 << 20) + b'"}]}]}'
    api.add(AGENT, Reply(parts=[pack(body)], headers={"Content-Type": "application/json", "Content-Encoding": coding},
                         framing="length"))
    code, stderr, peak = peak_rss_mb(["ask", "q", "--no-meta"], dict(os.environ, PPLX_BASE_URL=api.url))
    assert code == 1
    clean_error(stderr, "the response body is larger than 64 MiB; stopped reading")
    assert peak < 64 + 60, peak  # the 64 MiB kept and the interpreter; not the 200 MiB it inflates to


def test_a_corrupt_compressed_body_is_a_stream_error(api, home, db):
    # a gzip header, then a deflate block of the reserved type 3 (0xff): invalid by definition
    api.add(AGENT, Reply(parts=[gzip.compress(b'{"status": "completed"}')[:10] + b"\xff" * 40],
                         headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}, framing="length"))
    result = subprocess.run([pplx_executable(), "ask", "q"], capture_output=True, stdin=subprocess.DEVNULL, timeout=30,
                            env=dict(os.environ, PPLX_BASE_URL=api.url))
    assert result.returncode == 1
    clean_error(result.stderr, "the gzip body is corrupt")


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_never_followed(api, home, db, status):
    other = "http://127.0.0.2:9/v1/responses"
    api.add(AGENT, Reply(status=status, parts=[b""], headers={"Location": other, "Content-Type": "text/plain"}, framing="length"))
    result = subprocess.run([pplx_executable(), "ask", "q"], capture_output=True, stdin=subprocess.DEVNULL, timeout=30,
                            env=dict(os.environ, PPLX_BASE_URL=api.url))
    assert result.returncode == 1
    clean_error(result.stderr, f"HTTP {status}: the server redirects to {other}; pplx does not follow redirects "
                               "(the prompt and key would go there)")
    assert len(api.requests) == 1


def test_a_request_the_server_took_is_not_retried_as_cannot_connect(api, home, db):
    api.add(AGENT, Reply(no_response=True))
    result = subprocess.run([pplx_executable(), "ask", "q", "--retries", "3"], capture_output=True, stdin=subprocess.DEVNULL,
                            timeout=30, env=dict(os.environ, PPLX_BASE_URL=api.url))
    assert result.returncode == 5
    text = result.stderr.decode()
    assert text.startswith(f"pplx: error: {api.url} closed the connection without answering (the request was sent, so it is not "
                           "retried)")
    assert "retrying" not in text and len(api.requests) == 1


def test_plain_http_to_another_machine_is_refused_before_any_lookup(home, monkeypatch):
    import socket

    from click.testing import CliRunner

    from pplx_cli.cli import cli

    def no_lookup(*args, **kwargs):
        raise AssertionError("a name was looked up")

    monkeypatch.setattr(socket, "getaddrinfo", no_lookup)
    result = CliRunner().invoke(cli, ["ask", "q", "--base-url", "http://api.example"], prog_name="pplx")
    assert result.exit_code == 2
    assert result.stderr == ("pplx: error: refusing to send the key in clear text to api.example (the base URL is http://); "
                             "use https://, or --allow-http if you mean it\nTry 'pplx ask --help' for help.\n")


def test_allow_http_allows_plain_http_and_loopback_needs_nothing(api, home, monkeypatch):
    import socket

    from click.testing import CliRunner

    from pplx_cli.cli import cli

    def unreachable(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unreachable)
    monkeypatch.setattr("time.sleep", lambda s: None)
    result = CliRunner().invoke(cli, ["ask", "q", "--retries", "0", "--allow-http", "--base-url", "http://api.example"])
    assert result.exit_code == 5  # it tried
    old = CliRunner().invoke(cli, ["ask", "q", "--retries", "0", "--insecure", "--base-url", "http://api.example"])
    assert old.exit_code == 5 and old.stderr.startswith(
        "pplx: note: --insecure is deprecated: it is --allow-http (plain http:// to another machine); "
        "pplx never skips certificate verification\n")
    for url in ("http://localhost:9", "http://127.0.0.3:9", "http://[::1]:9"):
        assert CliRunner().invoke(cli, ["ask", "q", "--retries", "0", "--base-url", url]).exit_code == 5


# ---- the key and the base URL's password never shown ----


def test_a_password_in_the_base_url_is_redacted_like_the_key(api, home, db):
    url = api.url.replace("http://", "http://someone:hunter2-very-secret@")
    result = subprocess.run([pplx_executable(), "ask", "q", "-v", "--meta-style", "json"], capture_output=True,
                            stdin=subprocess.DEVNULL, timeout=30, env=dict(os.environ, PPLX_BASE_URL=url))
    assert result.returncode == 0, result.stderr
    assert b"hunter2" not in result.stderr and b"someone" not in result.stderr
    assert b"> POST http://[redacted]@127.0.0.1" in result.stderr
    assert api.requests[0]["headers"]["Authorization"] == f"Bearer {KEY}"
    refused = subprocess.run([pplx_executable(), "ask", "q", "--retries", "0"], capture_output=True, stdin=subprocess.DEVNULL,
                             timeout=30, env=dict(os.environ, PPLX_BASE_URL="http://someone:hunter2-very-secret@127.0.0.1:1"))
    assert refused.returncode == 5 and b"hunter2" not in refused.stderr
    assert refused.stderr == b"pplx: error: cannot connect to http://[redacted]@127.0.0.1:1: Connection refused\n"


def test_a_key_cut_in_a_warning_excerpt_is_still_redacted(api, home, db):
    # a malformed event whose excerpt (60 characters) ends inside the key
    data = "x" * 40 + KEY + " and more"
    api.add(AGENT, Reply(parts=[sse({"type": "response.output_text.delta", "delta": "ok"}), f"data: {data}\n\n".encode(),
                                sse({"type": "response.completed", "response": {"id": "r", "status": "completed", "output": []}})]))
    result = subprocess.run([pplx_executable(), "stream", "q", "--meta-style", "json"], capture_output=True,
                            stdin=subprocess.DEVNULL, timeout=30, env=dict(os.environ, PPLX_BASE_URL=api.url))
    assert result.returncode == 1
    assert KEY[:12].encode() not in result.stderr
    assert b"[redacted]" in result.stderr


def test_redirect_location_with_a_password_is_redacted(api, home, db):
    api.add(AGENT, Reply(status=307, parts=[b""], headers={"Location": "http://u:topsecretpass@127.0.0.2:9/x"}, framing="length"))
    result = subprocess.run([pplx_executable(), "ask", "q"], capture_output=True, stdin=subprocess.DEVNULL, timeout=30,
                            env=dict(os.environ, PPLX_BASE_URL=api.url))
    assert b"topsecretpass" not in result.stderr and b"[redacted]@127.0.0.2" in result.stderr


# ---- the metadata for a person on a terminal ----


def run_in_pty(args, env):
    """Run pplx with stdout a pipe and stderr a pseudo-terminal: (exit status, stdout, what the terminal showed)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([pplx_executable(), *args], stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    out = proc.stdout.read()
    code = proc.wait(30)
    shown = read_all(master)
    return code, out, shown.decode().replace("\r\n", "\n")


def test_a_terminal_gets_one_summary_line_and_a_pipe_the_json(api, home, db):
    env = dict(os.environ, PPLX_BASE_URL=api.url)
    code, out, shown = run_in_pty(["ask", "q"], env)
    assert code == 0 and out == (TEXT + "\n").encode()
    [line] = shown.splitlines()
    model, sources, tokens, cost, seconds = line.removeprefix("pplx: ").split(" · ")
    assert (model, sources, tokens, cost) == ("openai/gpt-5.1", "2 sources", "3,043 tokens", "$0.0012")
    assert seconds.endswith("s") and float(seconds[:-1]) < 30
    assert json.loads(run_in_pty(["ask", "q", "--meta-style", "json"], env)[2])["model"] == "openai/gpt-5.1"
    piped = subprocess.run([pplx_executable(), "ask", "q"], capture_output=True, stdin=subprocess.DEVNULL, env=env, timeout=30)
    assert json.loads(piped.stderr)["model"] == "openai/gpt-5.1"
    summary = subprocess.run([pplx_executable(), "ask", "q", "--meta-style", "summary"], capture_output=True,
                             stdin=subprocess.DEVNULL, env=env, timeout=30)
    assert summary.stderr.decode().startswith("pplx: openai/gpt-5.1 · 2 sources")


def test_reasoning_on_stderr_ends_its_line_before_the_answer(api, home, db):
    api.add(AGENT, Reply(parts=[sse({"type": "response.reasoning.started", "thought": "thinking"}),
                                sse({"type": "response.reasoning.delta", "delta": "partial thought"}),
                                sse({"type": "response.output_text.delta", "delta": "Answer."}),
                                sse({"type": "response.completed", "response": {"id": "r", "status": "completed", "output": []}})]))
    env = dict(os.environ, PPLX_BASE_URL=api.url)
    code, out, shown = run_in_pty(["stream", "q", "--reasoning", "stderr", "--no-meta"], env)
    assert code == 0 and out == b"Answer.\n"
    assert shown == "thinking\npartial thought\n"


# ---- nothing from the network drives a terminal ----

ESC_TEXT = "# Title\n\nPlain \x1b[2J\x1b]0;owned\x07 text \u202etxet [1].\n\n- one\n- two\n"


def run_on_pty(args, env, columns=60):
    """pplx with stdout and stderr on one pseudo-terminal of ``columns``: (status, what it showed)."""
    import fcntl
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    proc = subprocess.Popen([pplx_executable(), *args], stdout=slave, stderr=slave, stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    shown = read_all(master)
    return proc.wait(30), shown.decode("utf-8", "replace")


def unstyled(shown: str) -> str:
    """What a terminal shows, without pplx's own SGR styling and OSC 8 links."""
    import re

    return re.sub(r"\x1b\[[0-9;]*m|\x1b\]8;[^\x1b\x07]*(?:\x1b\\|\x07)", "", shown)


def foreign_escapes(shown: str) -> list:
    """Escape sequences that are not pplx's own styling (SGR) or OSC 8 hyperlinks."""
    import re

    own = re.compile(r"\x1b\[[0-9;]*m|\x1b\]8;[^\x1b\x07]*(?:\x1b\\|\x07)")
    return [m.group() for m in re.finditer(r"\x1b.{0,6}", own.sub("", shown))]


def test_a_terminal_gets_rendered_markdown_and_no_foreign_escape(api, home, db):
    api.add(AGENT, AgentRun(text=ESC_TEXT))
    env = dict(os.environ, PPLX_BASE_URL=api.url, TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    code, shown = run_on_pty(["stream", "q", "--no-meta"], env)
    assert code == 0
    assert foreign_escapes(shown) == []
    assert "\\x1b[2J" in shown and "\\x1b]0;owned\\x07" in shown and "\\u202e" in shown  # shown, not obeyed
    # [1] is a hyperlink to its source (pplx may colour the marker inside it)
    assert __import__("re").search(r"\x1b\]8;;https://en\.wikipedia\.org/wiki/Canberra\x1b\\(\x1b\[[0-9;]*m)?\[1\]", shown)
    text = unstyled(shown)
    assert "• one" in text and "# Title" not in text  # rendered: a bullet, the heading styled without its '#'
    assert all(len(line) <= 60 for line in text.splitlines())


def test_no_color_keeps_structure_and_term_dumb_turns_rendering_off(api, home, db):
    import re

    api.add(AGENT, AgentRun(text=ESC_TEXT))
    base = dict(os.environ, PPLX_BASE_URL=api.url, TERM="xterm")
    code, shown = run_on_pty(["stream", "q", "--no-meta"], dict(base, NO_COLOR="1"))
    assert code == 0 and "• one" in unstyled(shown)
    assert not re.search(r"\x1b\[[0-9;]*3[0-7]m", shown)  # no colour
    code, dumb = run_on_pty(["stream", "q", "--no-meta"], dict(base, TERM="dumb"))
    assert code == 0
    assert dumb.replace("\r\n", "\n") == ESC_TEXT.replace("\x1b", "\\x1b").replace("\x07", "\\x07").replace("\u202e", "\\u202e")
    code, plain = run_on_pty(["stream", "q", "--no-meta", "--no-render"], base)
    assert plain == dumb


def test_piped_output_keeps_the_answer_exactly(api, home, db):
    api.add(AGENT, AgentRun(text=ESC_TEXT))
    result = subprocess.run([pplx_executable(), "stream", "q", "--no-meta"], capture_output=True, stdin=subprocess.DEVNULL,
                            env=dict(os.environ, PPLX_BASE_URL=api.url), timeout=30)
    assert result.stdout == ESC_TEXT.encode()
    forced = subprocess.run([pplx_executable(), "stream", "q", "--no-meta", "--render"], capture_output=True,
                            stdin=subprocess.DEVNULL, env=dict(os.environ, PPLX_BASE_URL=api.url, COLUMNS="50"), timeout=30)
    assert "• one" in unstyled(forced.stdout.decode()) and foreign_escapes(forced.stdout.decode()) == []


def test_titles_urls_and_errors_from_the_network_cannot_forge_lines(api, home, db):
    evil = {"queries": ["q"], "results": [{"id": 1, "url": "https://a.example/x\n[2] Fake <https://evil.example>",
                                           "title": "Real\x1b[31m title\r\n[3] forged"}]}
    api.add(AGENT, AgentRun(searches=[evil]))
    result = subprocess.run([pplx_executable(), "ask", "q", "--sources", "--no-meta"], capture_output=True,
                            stdin=subprocess.DEVNULL, env=dict(os.environ, PPLX_BASE_URL=api.url), timeout=30)
    assert result.stdout.decode().splitlines()[2:] == [
        "[1] Real\\x1b[31m title [3] forged <https://a.example/x\\n[2] Fake <https://evil.example>>"]
    api.routes.clear()
    api.add(AGENT, json_reply({"error": {"message": "bad\x1b]0;owned\x07\nsecond line", "type": "invalid_request"}}, 400))
    bad = subprocess.run([pplx_executable(), "ask", "q"], capture_output=True, stdin=subprocess.DEVNULL,
                         env=dict(os.environ, PPLX_BASE_URL=api.url), timeout=30)
    assert bad.stderr == b"pplx: error: HTTP 400: bad\\x1b]0;owned\\x07 second line (invalid_request)\n"


def test_log_columns_on_a_terminal_are_neutralised(api, home, db):
    subprocess.run([pplx_executable(), "ask", "evil \x1b[2J prompt", "--no-meta"], capture_output=True,
                   stdin=subprocess.DEVNULL, env=dict(os.environ, PPLX_BASE_URL=api.url), timeout=30)
    code, shown = run_on_pty(["log"], dict(os.environ, PPLX_BASE_URL=api.url, COLUMNS="200"))  # room for the prompt
    assert code == 0 and "evil \\x1b[2J prompt" in shown and foreign_escapes(shown) == []


def test_deep_local_json_is_one_usage_line(api, home, tmp_path):
    schema = tmp_path / "deep.json"
    schema.write_text("[" * 100000 + "]" * 100000)
    for args, message in ((["--json-schema", str(schema)], "nests too deeply to be a schema"),
                          (["-o", "x", "[" * 100000], "the value of x nests too deeply")):
        result = subprocess.run([pplx_executable(), "ask", "q", *args], capture_output=True, stdin=subprocess.DEVNULL,
                                timeout=30, env=dict(os.environ, PPLX_BASE_URL=api.url))
        assert result.returncode == 2 and message in result.stderr.decode() and b"Traceback" not in result.stderr
    cache = home / ".cache" / "pplx"
    cache.mkdir(parents=True)
    for name in ("api.json", "models.json"):
        (cache / name).write_text("[" * 100000)
    # a cache too deep to read is no cache: auto tries chat completions first (not scripted here: 404)
    auto = subprocess.run([pplx_executable(), "ask", "q", "--api", "auto", "--no-meta"], capture_output=True,
                          stdin=subprocess.DEVNULL, timeout=30, env=dict(os.environ, PPLX_BASE_URL=api.url))
    assert auto.returncode == 1 and auto.stderr.startswith(b"pplx: error: HTTP 404: no route /chat/completions")
