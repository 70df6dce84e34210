"""A new user's first hour: what they type, what pplx says back. The installed CLI against the
local server, stdout, stderr and exit status checked exactly."""

import json
import os
import subprocess

from tests.conftest import KEY, pplx_executable
from tests.server import AgentRun

AGENT = "/v1/responses"


def run_cli(api, *args, stdin=b"", env=None, timeout=60):
    full = dict(os.environ, PPLX_BASE_URL=api.url, **(env or {}))
    return subprocess.run([pplx_executable(), *args], input=stdin, capture_output=True, env=full, timeout=timeout)


def test_pplx_alone_prints_the_help_as_help_does(api, home):
    alone = run_cli(api)
    helped = run_cli(api, "--help")
    assert (alone.returncode, alone.stderr) == (0, b"")
    assert alone.stdout == helped.stdout and alone.stdout.startswith(b"Usage: pplx [OPTIONS] COMMAND [ARGS]...\n\n")
    assert b"\\n" not in alone.stdout
    completion = run_cli(api, "completion")
    assert (completion.returncode, completion.stderr) == (0, b"")
    assert completion.stdout == run_cli(api, "completion", "--help").stdout


def test_click_messages_of_several_lines_are_one_line(api, home):
    result = run_cli(api, "completion", "csh")
    assert result.returncode == 2
    assert result.stderr.decode().splitlines() == [
        "pplx: error: Invalid value for '{bash|zsh|fish}': 'csh' is not one of 'bash', 'zsh', 'fish'.",
        "Try 'pplx completion --help' for help."]


def test_a_continuation_option_among_the_words_is_said(api, home):
    assert run_cli(api, "ask", "first", "question", "--no-meta").returncode == 0
    result = run_cli(api, "ask", "what", "does", "grep", "-c", "do", "--no-meta")
    assert result.returncode == 0
    assert result.stderr.decode() == (
        "pplx: note: -c after the prompt's words was read as an option (continue a conversation); if it is part of "
        "the question, put -- before the prompt: pplx ask -- what does grep -c do\n")
    assert api.requests[-1]["body"]["input"] == "what does grep do"
    quoted = run_cli(api, "ask", "--no-meta", "--", "what", "does", "grep", "-c", "do")
    assert quoted.stderr == b"" and api.requests[-1]["body"]["input"] == "what does grep -c do"
    before = run_cli(api, "ask", "-c", "and", "then?", "--no-meta")
    assert before.stderr == b""  # -c before the words is plainly meant


def test_a_usage_error_is_not_recorded_and_c_continues_the_last_answer(api, home):
    assert run_cli(api, "ask", "what is a qubit", "--no-meta").returncode == 0
    first = json.loads(run_cli(api, "log", "--json", "-n", "1").stdout)
    assert run_cli(api, "ask", "-m", "gpt-5", "oops").returncode == 2
    assert run_cli(api, "ask", "dry", "--dry-run").returncode == 0
    run_cli(api, "search", "a search", "--no-meta")  # a search is no conversation
    listed = [json.loads(line) for line in run_cli(api, "log", "--json").stdout.splitlines()]
    assert [r["prompt"] for r in listed if r["kind"] == "answer"] == ["what is a qubit"]
    follow = run_cli(api, "ask", "-c", "and why?", "--no-meta")
    assert follow.returncode == 0, follow.stderr
    assert json.loads(run_cli(api, "log", "--json", "-n", "1").stdout)["cid"] == first["cid"]


def test_a_failed_exchange_is_not_what_c_continues(api, home):
    from tests.server import agent_error

    assert run_cli(api, "ask", "kept", "--no-meta").returncode == 0
    kept = json.loads(run_cli(api, "log", "--json", "-n", "1").stdout)["cid"]
    api.add(AGENT, agent_error(500, "oops", "internal_error"))
    assert run_cli(api, "ask", "fails", "--retries", "0", "--no-meta").returncode == 1
    api.routes.clear()
    assert run_cli(api, "ask", "-c", "again", "--no-meta").returncode == 0
    assert json.loads(run_cli(api, "log", "--json", "-n", "1").stdout)["cid"] == kept


def test_fetch_of_a_bare_host_suggests_https(api, home):
    result = run_cli(api, "fetch", "example.com/page")
    assert result.returncode == 2
    assert result.stderr.decode().splitlines() == [
        "pplx: error: not an http(s) URL: 'example.com/page'; did you mean https://example.com/page?",
        "Try 'pplx fetch --help' for help."]


def test_a_mistyped_config_key_gets_a_suggestion(api, home):
    config = home / ".config" / "pplx"
    config.mkdir(parents=True)
    (config / "config.toml").write_text('modle = "openai/gpt-5.1"\n')
    result = run_cli(api, "ask", "q", "--no-meta")
    assert result.returncode == 0
    assert result.stderr.decode() == (f"pplx: warning: config file {config / 'config.toml'}: unknown key 'modle' ignored; "
                                      "did you mean 'model'?\n")


# ---- the key ----


def test_a_key_command_that_prints_nothing_is_an_error(api, home):
    result = run_cli(api, "ask", "q", env={"PPLX_API_KEY": "", "PPLX_API_KEY_CMD": "true"})
    assert result.returncode == 3
    assert result.stderr == b"pplx: error: the key command (PPLX_API_KEY_CMD) printed nothing on its standard output\n"
    assert api.requests == []


def test_a_failing_key_command_never_shows_the_key(api, home):
    command = f"echo {KEY}; echo 'oops: the key was {KEY}' >&2; exit 4"
    result = run_cli(api, "ask", "q", env={"PPLX_API_KEY": "", "PPLX_API_KEY_CMD": command})
    assert result.returncode == 3
    assert result.stderr == (b"pplx: error: the key command (PPLX_API_KEY_CMD) failed with status 4: "
                             b"oops: the key was [redacted]\n")


def test_the_key_command_runs_once_for_a_whole_batch(api, home, tmp_path):
    counter = tmp_path / "runs"
    command = f"echo x >> {counter}; echo {KEY}"
    lines = "".join(f"q{i}\n" for i in range(5)).encode()
    result = run_cli(api, "batch", stdin=lines, env={"PPLX_API_KEY": "", "PPLX_API_KEY_CMD": command})
    assert result.returncode == 0, result.stderr
    assert counter.read_text() == "x\n"


def test_api_key_cmd_in_a_config_others_can_write_is_refused(api, home, tmp_path):
    config = home / ".config" / "pplx"
    config.mkdir(parents=True)
    path = config / "config.toml"
    marker = tmp_path / "ran"
    path.write_text(f'api_key_cmd = "touch {marker}; echo {KEY}"\n')
    path.chmod(0o666)
    result = run_cli(api, "ask", "q", env={"PPLX_API_KEY": ""})
    assert result.returncode == 2 and not marker.exists()
    assert result.stderr.decode() == (f"pplx: error: config file {path} sets api_key_cmd but others can write it (or it is "
                                      f"not yours): refusing to run the command; run: chmod go-w {path}\n")
    path.chmod(0o600)
    assert run_cli(api, "ask", "q", "--no-meta", env={"PPLX_API_KEY": ""}).returncode == 0 and marker.exists()


def test_a_refused_key_says_where_it_came_from(api, home):
    from tests.server import agent_error

    api.add(AGENT, agent_error(401, "Invalid API key", "invalid_api_key"))
    result = run_cli(api, "ask", "q", env={"PPLX_API_KEY": "", "PERPLEXITY_API_KEY": KEY})
    assert result.returncode == 3
    config = home / ".config"
    assert result.stderr.decode() == (
        "pplx: error: HTTP 401: Invalid API key (invalid_api_key); the key (pplx-…[redacted]) came from PERPLEXITY_API_KEY; "
        "pplx reads the key from PPLX_API_KEY, PERPLEXITY_API_KEY, PPLX_API_KEY_CMD, api_key or api_key_cmd in "
        f"{config / 'pplx' / 'config.toml'}, then {config / 'perplexity' / 'credentials.json'}, the first set\n")


def test_a_mistyped_batch_line_key_gets_a_suggestion(api, home):
    result = run_cli(api, "batch", "--skip-invalid", stdin=b'{"prompt": "q", "modle": "openai/gpt-5.1"}\n')
    assert result.returncode == 1
    [record] = [json.loads(line) for line in result.stdout.splitlines()]
    assert record["error"] == "unknown option 'modle'; did you mean 'model'?"


def test_a_hangup_ignored_by_nohup_stays_ignored(api, home):
    import signal

    api.add(AGENT, AgentRun(text="a long answer " * 50, delay=0.02))
    proc = subprocess.Popen(["nohup", pplx_executable(), "stream", "q", "--no-meta"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=dict(os.environ, PPLX_BASE_URL=api.url))
    assert proc.stdout.read(5) == b"a lon"
    proc.send_signal(signal.SIGHUP)
    assert proc.wait(30) == 0 and proc.stdout.read().endswith(b"answer \n")
