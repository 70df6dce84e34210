"""pplx auth login, status and logout, and what only a terminal shows: login's hidden prompt
on a real pseudo-terminal (the controlling terminal of the pplx it starts), and the note
'pplx search web' gives there. Every byte of stdout and stderr is checked, as in
tests/test_official.py."""

import json
import os
import select
import stat
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import KEY, pplx_executable
from tests.test_official import OOM, failed, pplx, succeeded

TYPED = "pplx-typed-0123456789abcdef"
PROMPT = b"Perplexity API key: "
TAKE_THE_TERMINAL = ("import fcntl, os, sys, termios; os.setsid(); fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
                     "os.execv(sys.argv[1], sys.argv[1:])")


def credentials(home) -> Path:
    return home / ".config" / "perplexity" / "credentials.json"


def on_terminal(api, args, env=None, typed=None):
    """pplx with a pseudo-terminal as its controlling terminal, stdin and (unless given)
    nothing else: stdout and stderr are pipes. ``typed`` is written once the prompt shows.
    Returns (the CompletedProcess-like result, everything the terminal showed)."""
    import pty
    import sys

    master, slave = pty.openpty()
    full = {**os.environ, "PPLX_BASE_URL": api.url, **(env or {})}
    # a session of its own with the pty (its stdin) as its terminal, then pplx in its place
    # (no preexec_fn: this process has the server's threads)
    proc = subprocess.Popen([sys.executable, "-c", TAKE_THE_TERMINAL, pplx_executable(), *args], stdin=slave,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full)
    os.close(slave)
    shown = b""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            if typed is not None and shown.endswith(PROMPT):
                os.write(master, typed.encode() + b"\n")
                typed = None
        elif proc.poll() is not None:
            break
    out, err = proc.communicate(timeout=30)
    os.close(master)
    return subprocess.CompletedProcess(args, proc.returncode, out, err), shown


def test_login_reads_the_key_at_a_hidden_prompt_checks_it_and_stores_it_mode_600(api, home):
    api.keys = {KEY, TYPED}
    result, shown = on_terminal(api, ["auth", "login"], env={"PPLX_API_KEY": ""}, typed=TYPED)
    path = credentials(home)
    assert succeeded(result).decode() == (
        f'{{"saved_to":"{path}","key":"pplx-…[redacted]","accepted":true,"source":"{path}"}}\n')
    assert shown == PROMPT + b"\r\n"  # the prompt, and not one character of the key
    assert [(r["path"], r["headers"]["Authorization"]) for r in api.requests] == [("/v1/models", f"Bearer {TYPED}")]
    assert json.loads(path.read_text()) == {"api_key": TYPED}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    # both programs read it there: the verbs, and pplx's own commands (last of their sources)
    api.search_results = OOM
    succeeded(pplx(api, "search", "web", "q", env={"PPLX_API_KEY": ""}))
    assert pplx(api, "search", "q", "--no-meta", env={"PPLX_API_KEY": ""}).returncode == 0
    assert [r["headers"]["Authorization"] for r in api.requests[1:]] == [f"Bearer {TYPED}"] * 2


def test_login_keeps_other_fields_and_says_which_key_wins(api, home):
    path = credentials(home)
    path.parent.mkdir(parents=True)
    path.write_text('{"api_key": "pplx-old-0123456789abcdef", "other": 1}')
    result, _ = on_terminal(api, ["auth", "login"], env={"PERPLEXITY_API_KEY": "pplx-env-0123456789abcdef"}, typed=TYPED)
    assert succeeded(result).decode() == (
        f'{{"saved_to":"{path}","key":"pplx-…[redacted]","accepted":true,"source":"PERPLEXITY_API_KEY"}}\n')
    assert json.loads(path.read_text()) == {"api_key": TYPED, "other": 1}


def test_a_refused_or_empty_key_is_not_stored(api, home):
    api.keys = {KEY}
    result, shown = on_terminal(api, ["auth", "login"], typed=TYPED)
    failed(result, "AUTHENTICATION", "the key was refused: HTTP 401: Invalid API key (invalid_api_key)", "auth login",
           "get a key at https://www.perplexity.ai/account/api")
    assert TYPED.encode() not in shown + result.stderr and not credentials(home).exists()
    result, _ = on_terminal(api, ["auth", "login"], typed="   ")
    failed(result, "ARGUMENT_ERROR", "no key given", "auth login")
    assert not credentials(home).exists() and len(api.requests) == 1


def test_login_refuses_piped_input_and_sends_nothing(api, home):
    """Pitfall 1: auth login is for a terminal; a script sets PERPLEXITY_API_KEY."""
    failed(pplx(api, "auth", "login", stdin=f"{TYPED}\n".encode()), "ARGUMENT_ERROR",
           "pplx auth login reads the key at a hidden prompt, and stdin is not a terminal", "auth login",
           "in a script or an agent, set PERPLEXITY_API_KEY instead")
    failed(pplx(api, "auth", "login", TYPED), "ARGUMENT_ERROR", f"Got unexpected extra argument ({TYPED})", "auth login",
           "see 'pplx auth login --help'")
    assert api.requests == [] and not credentials(home).exists()


def test_status_names_the_source_in_use_and_checks_it(api, home):
    path = credentials(home)
    path.parent.mkdir(parents=True)
    path.write_text('{"api_key": "pplx-stored-0123456789abcdef"}')
    api.keys = {KEY, "pplx-stored-0123456789abcdef"}
    assert succeeded(pplx(api, "auth", "status")) == b'{"source":"PPLX_API_KEY","key":"pplx-\xe2\x80\xa6[redacted]","accepted":true}\n'
    assert succeeded(pplx(api, "auth", "status", env={"PPLX_API_KEY": ""})).decode() == (
        f'{{"source":"{path}","key":"pplx-…[redacted]","accepted":true}}\n')
    failed(pplx(api, "auth", "status", env={"PERPLEXITY_API_KEY": "pplx-wrong-0123456789abcdef"}), "AUTHENTICATION",
           "the key from PERPLEXITY_API_KEY was refused: HTTP 401: Invalid API key (invalid_api_key)", "auth status",
           "get a key at https://www.perplexity.ai/account/api")
    assert succeeded(pplx(api, "auth", "logout")).decode() == f'{{"removed":"{path}","source":"PPLX_API_KEY"}}\n'
    assert not path.exists()
    assert succeeded(pplx(api, "auth", "logout", env={"PPLX_API_KEY": ""})) == b'{"removed":null,"source":null}\n'
    failed(pplx(api, "auth", "status", env={"PPLX_API_KEY": ""}), "AUTHENTICATION", "no API key", "auth status",
           "set PERPLEXITY_API_KEY, or run 'pplx auth login' on a terminal")
    assert [r["headers"]["Authorization"] for r in api.requests] == [
        f"Bearer {KEY}", "Bearer pplx-stored-0123456789abcdef", "Bearer pplx-wrong-0123456789abcdef"]


def test_search_web_on_a_terminal_says_once_what_it_is(api, home):
    """Only a terminal shows the note; stdout keeps the one JSON object (and a pipe never sees it)."""
    import pty

    api.search_results = OOM[:1]
    master, slave = pty.openpty()
    proc = subprocess.Popen([pplx_executable(), "search", "web", "q"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=slave, env={**os.environ, "PPLX_BASE_URL": api.url})
    os.close(slave)
    from tests.conftest import read_all

    out, _ = proc.communicate(timeout=30)
    shown = read_all(master)
    assert proc.returncode == 0 and out == succeeded(pplx(api, "search", "web", "q"))
    assert shown == (b"pplx: note: 'pplx search web' is Perplexity's CLI form (JSON, see pplx help content); "
                     b'to search for the word "web" itself: pplx search -- web ...\r\n')


@pytest.mark.parametrize("platform, expected", [
    ("darwin", "/h/Library/Application Support/perplexity/credentials.json"),
    ("linux", "/x/perplexity/credentials.json")])
def test_the_credentials_file_is_where_perplexity_s_cli_keeps_it(platform, expected):
    from pplx_cli.store.paths import perplexity_credentials_path

    assert perplexity_credentials_path({"HOME": "/h", "XDG_CONFIG_HOME": "/x"}, platform) == Path(expected)
