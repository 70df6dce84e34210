"""pplx chat: a conversation on a real pseudo-terminal (typed lines, Ctrl-C during an answer
and at the prompt, Ctrl-D, each / command, completion), and a scripted one through a pipe,
against the local server. What the terminal shows is checked line by line (tests/terminal.py
plays the bytes as a terminal would); a pipe's stdout and stderr byte for byte."""

import json
import os
import sqlite3
import stat
import time

import pytest

from tests.conftest import KEY
from tests.server import AgentRun, BackgroundRun, Reply, agent_error
from tests.terminal import Terminal

AGENT = "/v1/responses"
SUMMARY = "pplx: openai/gpt-5.1 · 2 sources · 3,043 tokens · $0.0012 · 0.0s"


def history(home) -> list:
    with sqlite3.connect(home / ".local" / "share" / "pplx" / "history.db") as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM exchanges ORDER BY id")]


def hanging(api, text: str, shown: int):
    """Queue an Agent API stream whose first ``shown`` deltas come at once and the rest only
    once the returned event is set (the test sets it before it ends)."""
    import threading

    run = AgentRun(text=text, searches=[])
    events, _ = run.numbered_events({"stream": True}, "resp_hang", int(time.time()))
    deltas = [i for i, e in enumerate(events) if e["type"] == "response.output_text.delta"]
    frames = [run.frame(e) for e in events]
    release = threading.Event()

    def parts():
        yield from frames[:deltas[shown - 1] + 1]
        release.wait(30)
        yield from frames[deltas[shown - 1] + 1:]

    api.add(AGENT, Reply(parts=parts(), headers=run.stream_headers({})))
    return release


def sent(api) -> list:
    """The Agent API requests' bodies, in order."""
    return [r["body"] for r in api.requests if r["path"] == AGENT]


@pytest.fixture
def term(api, home):
    """Start pplx chat on a pseudo-terminal: term(*args, env=None) -> Terminal."""
    started = []

    def start(*args, env=None):
        t = Terminal("chat", *args, env={"PPLX_BASE_URL": api.url, **(env or {})})
        started.append(t)
        return t

    yield start
    for t in started:
        t.kill()


def interrupt(t):
    """Ctrl-C at the prompt, once readline has gone back to waiting for a key. (CPython's
    readline loop sees a signal only while it waits in select(): one that lands in the
    microseconds between a key handled and the next wait is seen at the next signal, so a
    test that presses Ctrl-C the moment a key's echo shows could lose it; a person cannot.)"""
    time.sleep(0.2)
    t.type(b"\x03")


def prompts(n, prompt="fast>"):
    """The screen shows the prompt ``n`` times (the last one waiting)."""
    return lambda text: text.count("\n" + prompt) + text.startswith(prompt) == n and text.endswith(prompt)


# ---- at a terminal ----


def test_a_session_follows_up_and_ends_with_the_conversation_and_its_cost(api, home, term):
    api.add(AGENT, AgentRun(id="resp_one", text="Canberra [1]."), AgentRun(id="resp_two", text="About 460,000."))
    t = term()
    t.wait_for(prompts(1))
    t.type("What is the capital of Australia?\r")
    t.wait_for(prompts(2))
    exchanges = history(home)  # recorded as it ended, while the session goes on
    assert [(e["prompt"], e["answer"], e["exit_status"]) for e in exchanges] == [
        ("What is the capital of Australia?", "Canberra [1].", 0)]
    t.type("How many people live there?\r")
    t.wait_for(prompts(3))
    t.type(b"\x04")
    assert t.finish() == 0
    cid = exchanges[0]["cid"]
    assert t.text() == "\n".join([
        f"pplx: new conversation {cid} · /help lists the commands, Ctrl-D ends",
        "fast> What is the capital of Australia?", "Canberra [1].", SUMMARY,
        "fast> How many people live there?", "About 460,000.", SUMMARY,
        "fast>", f"pplx: conversation {cid} · 2 exchanges · 6,086 tokens · $0.0024", ""])
    first, second = sent(api)
    assert first["input"] == "What is the capital of Australia?" and "previous_response_id" not in first
    assert second["input"] == "How many people live there?" and second["previous_response_id"] == "resp_one"
    assert [e["cid"] for e in history(home)] == [cid, cid]
    kept = home / ".local" / "share" / "pplx" / "chat_history"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert kept.read_text() == "What is the capital of Australia?\nHow many people live there?\n"


def test_an_answer_is_written_byte_for_byte_as_pplx_stream_writes_it_on_a_terminal(api, home, term):
    import re

    text = "# A heading\n\nSome *emphasis*, `code` and a citation [1].\n\n- one item\n- another [2]\n"
    api.add(AGENT, AgentRun(text=text), AgentRun(text=text))
    stream = Terminal("stream", "q", env={"PPLX_BASE_URL": api.url})
    assert stream.finish() == 0
    t = term()
    t.wait_for(prompts(1))
    t.type("q\r")
    t.wait_for(prompts(2))
    t.type(b"\x04")
    assert t.finish() == 0
    streamed = stream.raw.split(b"pplx: openai/gpt-5.1 \xc2\xb7", 1)[0]
    chatted = re.split(rb"fast> q\r\n(?:\x1b\[\?2004l)?\r?", t.raw, maxsplit=1)[1].split(b"pplx: openai/gpt-5.1 \xc2\xb7", 1)[0]
    assert chatted == streamed
    assert b"\x1b]8;;https://en.wikipedia.org/wiki/Canberra\x1b\\" in chatted and b"\x1b[1m" in chatted  # links, styles


def test_the_lines_typed_are_there_in_the_next_session(api, home, term):
    t = term()
    t.wait_for(prompts(1))
    command(t, "/cost")
    t.type(b"\x04")
    assert t.finish() == 0
    again = term()
    again.wait_for(prompts(1))
    again.type(b"\x1b[A")  # up: the last line of the last session
    again.wait_for("fast> /cost")
    again.type("\r")
    again.wait_for(prompts(2))
    again.type(b"\x04")
    assert again.finish() == 0
    kept = home / ".local" / "share" / "pplx" / "chat_history"
    assert kept.read_text() == "/cost\n"  # readline keeps a line once when it repeats the one before


def test_ctrl_c_during_an_answer_keeps_it_records_it_interrupted_and_returns_to_the_prompt(api, home, term):
    release = hanging(api, "First paragraph.\n\nSecond paragraph, never finished.", 2)
    api.add(AGENT, AgentRun(text="Next."))
    t = term()
    t.wait_for(prompts(1))
    t.type("tell me\r")
    t.wait_for(lambda text: "First paragraph." in text)
    interrupted_at = time.monotonic()
    t.type(b"\x03")
    screen = t.wait_for(prompts(2))
    assert time.monotonic() - interrupted_at < 2  # at once, not when the answer would have ended
    # the terminal echoes ^C where the cursor is; the summary line follows it, as for pplx stream
    assert screen.split("\n")[1:] == ["fast> tell me", "First paragraph.", "^Cpplx: 0.0s",
                                      "pplx: note: interrupted: what arrived is kept", "fast>"]
    [record] = history(home)
    assert record["exit_status"] == 130 and record["error"] == "interrupted"
    assert record["answer"] == "First paragraph.\n\n"
    t.type("and then?\r")
    t.wait_for(prompts(3))
    t.type(b"\x04")
    assert t.finish() == 0
    follow_up = sent(api)[1]
    # an interrupted answer is no response to continue from: the conversation is sent instead
    assert "previous_response_id" not in follow_up
    assert follow_up["input"] == [{"role": "user", "content": "tell me"},
                                  {"role": "assistant", "content": record["answer"]},
                                  {"role": "user", "content": "and then?"}]
    assert [e["exit_status"] for e in history(home)] == [130, 0]
    release.set()


def test_ctrl_c_at_the_prompt_clears_the_line_and_ctrl_d_ends(api, home, term):
    t = term()
    t.wait_for(prompts(1))
    t.type("half a thought")
    t.wait_for("fast> half a thought")
    interrupt(t)
    t.wait_for(prompts(2))
    t.type("a whole one\r")
    t.wait_for(prompts(3))
    t.type(b"\x04")
    assert t.finish() == 0
    assert [b["input"] for b in sent(api)] == ["a whole one"]
    assert t.text().split("\n")[1:3] == ["fast> half a thought", "fast> a whole one"]


def test_continued_lines_blocks_and_pastes_are_one_prompt_each(api, home, term):
    t = term()
    t.wait_for(prompts(1))
    t.type("first line \\\r")
    t.wait_for("...")
    t.type("second line\r")
    t.wait_for(prompts(2))
    t.type('"""\r')
    t.wait_for("...")
    t.type("a block\r")
    t.wait_for("...")
    t.type('  indented"""\r')
    t.wait_for(prompts(3))
    t.type(b"\x1b[200~pasted one\npasted two\x1b[201~\r")  # a terminal's bracketed paste
    t.wait_for(prompts(4))
    t.type("typed fast\rand at once\r")  # lines already waiting when the first is read: a paste all the same
    t.wait_for(prompts(5))
    t.type(b"\x04")
    assert t.finish() == 0
    assert [b["input"] for b in sent(api)] == ["first line \nsecond line", "a block\n  indented",
                                                "pasted one\npasted two", "typed fast\nand at once"]


HELP = [
    "/help                 these lines",
    "/model [ID]           the model that answers; with ID, answer with it from now on",
    "/effort LEVEL         answer with this effort from now on (fast, low, medium, high, xhigh)",
    "/search [on|off]      search the web for the answers, or not",
    "/sources              the last answer's sources",
    "/attach PATH|URL      send a file or image with the next prompt",
    "/retry                ask the last prompt again, in place of its answer",
    "/new                  begin a new conversation",
    "/save FILE            write the conversation to FILE as Markdown, as 'pplx log export' does",
    "/cost                 what the conversation has cost so far",
    "/background [PROMPT]  send the next prompt as a background run and go on; its answer comes when it ends",
    "/exit                 end the session (as Ctrl-D does)",
    'A line ending in \\ goes on on the next; """ opens and closes a block of lines; // sends a line that starts with /.',
    "Ctrl-C stops an answer or clears the line; Ctrl-D ends the session.",
]


def command(t, line, prompt="fast>"):
    """Type a line and return what the screen shows after it, up to the next prompt."""
    before = t.text()
    t.type(line + "\r")
    after = t.wait_for(lambda text: len(text) > len(before) and text.endswith(prompt) and text != before)
    return after[len(before):].split("\n")[1:-1]


def test_help_model_effort_search_and_an_unknown_command(api, home, term):
    t = term()
    t.wait_for(prompts(1))
    assert command(t, "/help") == HELP
    assert command(t, "/model openai/gpt-5-mini", "openai/gpt-5-mini>") == ["pplx: answering with openai/gpt-5-mini"]
    assert command(t, "/model gpt-5", "openai/gpt-5-mini>") == [
        "pplx: error: model 'gpt-5' is not an Agent API model id: ids are provider/name, e.g. perplexity/sonar or "
        "openai/gpt-5.1 (see pplx models)"]
    command(t, "question one", "openai/gpt-5-mini>")
    assert command(t, "/effort low", "low>") == ["pplx: answering with low"]
    # a level the docs do not list is taken, as --effort takes it (the note comes with the request it goes in)
    assert command(t, "/effort extreme", "extreme>") == ["pplx: answering with extreme"]
    assert command(t, "/effort low", "low>") == ["pplx: answering with low"]
    assert command(t, "/search off", "low>") == ["pplx: web search is off"]
    command(t, "question two", "low>")
    assert command(t, "/search", "low>") == ["pplx: web search is off"]
    assert command(t, "/serch on", "low>") == ["pplx: error: no command /serch (did you mean /search?); /help lists the commands"]
    assert command(t, "/frobnicate", "low>") == ["pplx: error: no command /frobnicate; /help lists the commands"]
    assert command(t, "//etc/hosts is what?", "low>")[0] == "Canberra is the capital of Australia [1]."
    t.type("/exit\r")
    assert t.finish() == 0
    one, two, three = sent(api)
    assert one["model"] == "openai/gpt-5-mini" and "effort" not in one
    assert two["effort"] == "low" and "model" not in two and two["max_tool_calls"] == 0  # no search, with an effort
    assert three["input"] == "/etc/hosts is what?"


def test_sources_attach_retry_cost_and_save(api, home, term, tmp_path, run):
    (tmp_path / "notes.txt").write_text("some notes\n")
    api.add(AGENT, AgentRun(id="resp_a", text="Answer A [1]."), AgentRun(id="resp_b", text="Answer B."),
            AgentRun(id="resp_c", text="Answer C."))
    t = term()
    t.wait_for(prompts(1))
    assert command(t, "/sources") == ["pplx: error: there is no answer yet"]
    command(t, "first")
    assert command(t, "/sources") == ["[1] Canberra - Wikipedia <https://en.wikipedia.org/wiki/Canberra>",
                                      "[2] Canberra | History, Map, & Population <https://www.britannica.com/place/Canberra>"]
    assert command(t, f"/attach {tmp_path / 'nowhere.txt'}") == [f"pplx: error: cannot attach {tmp_path / 'nowhere.txt'}: "
                                                                 "No such file or directory"]
    assert command(t, f"/attach {tmp_path / 'notes.txt'}", "fast [+1 attached]>") == [
        "pplx: note: notes.txt goes with the next prompt"]
    command(t, "second", "fast>")
    assert command(t, "/retry")[:2] == ["Answer C.", SUMMARY]
    assert command(t, "/cost") == [f"pplx: conversation {history(home)[0]['cid']} · 3 exchanges · 9,129 tokens · $0.0036"]
    assert command(t, f"/save {tmp_path / 'talk.md'}") == ["pplx: note: saved the conversation (3 exchanges) to "
                                                           f"{tmp_path / 'talk.md'}"]
    t.type(b"\x04")
    assert t.finish() == 0
    first, second, again = sent(api)
    assert second["input"][0]["content"][1]["filename"] == "notes.txt" and second["previous_response_id"] == "resp_a"
    assert again == second  # the same prompt, attachment and place in the conversation
    exported = run("log", "export", "--cid", history(home)[0]["cid"])
    assert (tmp_path / "talk.md").read_bytes() == exported.stdout


def test_new_begins_another_conversation(api, home, term):
    api.add(AGENT, AgentRun(id="resp_a", text="A."), AgentRun(id="resp_b", text="B."))
    t = term()
    t.wait_for(prompts(1))
    command(t, "one")
    old = history(home)[0]["cid"]
    lines = command(t, "/new")
    new = lines[1].rsplit(" ", 1)[1]
    assert lines == [f"pplx: conversation {old} · 1 exchange · 3,043 tokens · $0.0012", f"pplx: new conversation {new}"]
    command(t, "two")
    t.type(b"\x04")
    assert t.finish() == 0
    assert t.text().endswith(f"pplx: conversation {new} · 1 exchange · 3,043 tokens · $0.0012\n")
    assert [e["cid"] for e in history(home)] == [old, new] and new != old
    assert "previous_response_id" not in sent(api)[1]


def test_background_answers_are_announced_when_they_end(api, home, term):
    api.add(AGENT, BackgroundRun(run=AgentRun(id="resp_bg", text="The long answer."), duration=None),
            AgentRun(id="resp_fg", text="A quick one."))
    t = term()
    t.wait_for(prompts(1))
    assert command(t, "/background", "fast [background]>") == [
        "pplx: note: the next prompt runs in the background; its answer comes when it ends"]
    assert command(t, "survey everything", "fast>") == [
        "pplx: resp_bg runs in the background; its answer comes when it ends"]
    command(t, "meanwhile")
    t.type("half typed")
    api.runs["resp_bg"].advance()  # the run ends while the prompt waits
    screen = t.wait_for(lambda text: text.endswith("fast> half typed") and "The long answer." in text)
    assert screen.split("\n")[-4:] == ['pplx: the background answer to "survey everything" (resp_bg):',
                                       "The long answer.", SUMMARY, "fast> half typed"]
    interrupt(t)
    t.wait_for("fast> half typed\nfast>")
    t.type(b"\x04")
    assert t.finish() == 0
    assert t.text().endswith(" · 2 exchanges · 6,086 tokens · $0.0024\n")
    records = history(home)
    assert [(r["prompt"], r["answer"]) for r in records] == [("meanwhile", "A quick one."),
                                                              ("survey everything", "The long answer.")]
    assert records[0]["cid"] == records[1]["cid"]
    body = sent(api)[0]
    assert body["background"] is True and body["stream"] is False


def test_an_error_is_one_line_and_the_session_goes_on(api, home, term):
    api.add(AGENT, agent_error(429, "slow down", "rate_limit_exceeded"), AgentRun(text="Fine now."))
    t = term("--retries", "0")
    t.wait_for(prompts(1))
    assert command(t, "first") == ["pplx: error: HTTP 429: slow down (rate_limit_exceeded)"]
    assert command(t, "second") == ["Fine now.", SUMMARY]
    t.type(b"\x04")
    assert t.finish() == 0
    assert "Traceback" not in t.text()


def test_a_refused_key_ends_the_session_with_exit_3(api, home, term):
    api.keys = {"pplx-another-0123456789abcdef"}
    t = term()
    t.wait_for(prompts(1))
    t.type("hello\r")
    assert t.finish() == 3
    lines = t.text().split("\n")
    assert lines[2].startswith("pplx: error: HTTP 401: Invalid API key (invalid_api_key); the key (pplx-…[redacted]) came from PPLX_API_KEY")
    assert lines[3:] == [f"pplx: conversation {lines[0].split()[3]} · 1 exchange · $0.0000", ""]


def test_with_stdout_in_a_pipe_the_prompts_go_to_the_terminal_and_the_answers_to_the_pipe(api, home, term):
    import subprocess

    api.add(AGENT, AgentRun(text="One [1]."), AgentRun(text="Two."))
    t = Terminal("chat", env={"PPLX_BASE_URL": api.url}, stdout=subprocess.PIPE)
    try:
        t.wait_for(prompts(1))
        t.type("first\r")
        t.wait_for(prompts(2))
        t.type("second\r")
        t.wait_for(prompts(3))
        t.type(b"\x04")
        assert t.finish() == 0
        assert t.proc.stdout.read() == b"One [1].\n\nTwo.\n"  # plain, a blank line between
        assert t.text().split("\n")[1:] == ["fast> first", SUMMARY, "fast> second", SUMMARY, "fast>",
                                            t.text().split("\n")[-2], ""]
    finally:
        t.kill()


def test_a_lost_stream_is_one_line_and_the_conversation_goes_on(api, home, term):
    api.add(AGENT, AgentRun(id="resp_1", text="Fine."), AgentRun(text="Cut short here", searches=[], drop_after=5),
            AgentRun(text="Again."))
    t = term()
    t.wait_for(prompts(1))
    command(t, "one")
    lines = command(t, "two")
    assert lines[0] == "Cut short"
    assert lines[-1] == "pplx: error: connection lost after 5 events"
    assert command(t, "three")[0] == "Again."
    t.type(b"\x04")
    assert t.finish() == 0
    records = history(home)
    assert [r["exit_status"] for r in records] == [0, 5, 0]
    # what arrived of the cut answer is in the conversation, which is sent: no response to continue from
    third = sent(api)[2]
    assert "previous_response_id" not in third
    assert third["input"] == [{"role": "user", "content": "one"}, {"role": "assistant", "content": "Fine."},
                              {"role": "user", "content": "two"}, {"role": "assistant", "content": records[1]["answer"]},
                              {"role": "user", "content": "three"}]


def test_completion_of_commands_and_model_ids(api, home, term):
    t = term()
    t.wait_for(prompts(1))
    t.type("/mo\t")
    t.wait_for("fast> /model")
    t.type("sonar-rea\t")
    t.wait_for("fast> /model sonar-reasoning")
    interrupt(t)
    t.wait_for(prompts(2))
    t.type(b"\x04")
    assert t.finish() == 0


# ---- through a pipe ----


def chat(run, api, *args, input=b""):
    return run("chat", *args, input=input, env={"PPLX_BASE_URL": api.url})


def test_a_script_is_one_conversation_its_answers_in_order_separated_by_a_blank_line(api, home, run):
    api.add(AGENT, AgentRun(id="resp_1", text="One."), AgentRun(id="resp_2", text="Two."))
    result = chat(run, api, input=b"first\n\n   \nsecond\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"One.\n\nTwo.\n"
    records = history(home)
    cid = records[0]["cid"]
    metas = [json.loads(line) for line in result.stderr.splitlines()]
    assert [m["id"] for m in metas[:2]] == ["resp_1", "resp_2"]
    assert metas[2:] == [{"kind": "chat", "cid": cid, "exchanges": 2, "tokens": 6086, "cost": 0.00238}]
    assert [(r["cid"], r["prompt"], r["answer"]) for r in records] == [(cid, "first", "One."), (cid, "second", "Two.")]
    first, second = sent(api)
    assert first["input"] == "first" and second["input"] == "second" and second["previous_response_id"] == "resp_1"


def test_a_failed_turn_is_one_line_the_script_goes_on_and_its_status_is_the_exit_status(api, home, run):
    api.add(AGENT, AgentRun(id="resp_1", text="One."), AgentRun(text="", status="failed", error="no such thing"),
            AgentRun(text="Three."))
    result = chat(run, api, "--no-meta", input=b"one\ntwo\nthree\n")
    assert result.returncode == 1
    assert result.stdout == b"One.\n\nThree.\n"
    assert result.stderr == b"pplx: error: response failed: no such thing (internal_error)\n"
    assert sent(api)[2]["previous_response_id"] == "resp_1"  # the failed turn left the conversation as it was
    assert [r["exit_status"] for r in history(home)] == [0, 1, 0]


def test_a_refused_key_ends_a_script_with_exit_3(api, home, run):
    api.keys = {"pplx-another-0123456789abcdef"}
    result = chat(run, api, input=b"one\ntwo\n")
    assert result.returncode == 3 and result.stdout == b""
    error, end = result.stderr.decode().splitlines()
    assert error.startswith("pplx: error: HTTP 401: Invalid API key (invalid_api_key)")
    assert json.loads(end) == {"kind": "chat", "cid": history(home)[0]["cid"], "exchanges": 1, "tokens": 0, "cost": 0}
    assert len(sent(api)) == 1


def test_a_line_that_is_not_utf8_is_not_sent(api, home, run):
    result = chat(run, api, "--no-meta", input=b"caf\xe9?\nfine\n")
    assert result.returncode == 2
    assert result.stderr == b"pplx: error: line 1 of stdin is not valid UTF-8; not sent\n"
    assert [b["input"] for b in sent(api)] == ["fine"]


def test_c_and_cid_carry_on_a_recorded_conversation(api, home, run):
    api.add(AGENT, AgentRun(id="resp_ask", text="Asked."), AgentRun(id="resp_c", text="Carried on."),
            AgentRun(text="Again."))
    assert run("ask", "q", "-m", "openai/gpt-5-mini", "--no-meta", env={"PPLX_BASE_URL": api.url}).returncode == 0
    cid = history(home)[0]["cid"]
    assert chat(run, api, "-c", "--no-meta", input=b"more\n").stdout == b"Carried on.\n"
    assert chat(run, api, "--cid", cid, "--no-meta", input=b"again\n").stdout == b"Again.\n"
    _, carried, again = sent(api)
    # the conversation's model, and the response to continue from
    assert carried["previous_response_id"] == "resp_ask" and carried["model"] == "openai/gpt-5-mini"
    assert again["previous_response_id"] == "resp_c"
    assert {r["cid"] for r in history(home)} == {cid}


def test_no_log_records_nothing_and_still_follows_up(api, home, run):
    api.add(AGENT, AgentRun(id="resp_1", text="One."), AgentRun(text="Two."))
    result = chat(run, api, "--no-log", "--no-meta", input=b"one\ntwo\n")
    assert result.returncode == 0 and result.stdout == b"One.\n\nTwo.\n"
    assert sent(api)[1]["previous_response_id"] == "resp_1"
    assert not (home / ".local" / "share" / "pplx" / "history.db").exists()


def test_sources_follow_each_answer(api, home, run):
    api.add(AGENT, AgentRun(text="One [1]."), AgentRun(text="Two.", searches=[]))
    result = chat(run, api, "--sources", "--no-meta", input=b"one\ntwo\n")
    assert result.stdout == (b"One [1].\n\n[1] Canberra - Wikipedia <https://en.wikipedia.org/wiki/Canberra>\n"
                             b"[2] Canberra | History, Map, & Population <https://www.britannica.com/place/Canberra>\n"
                             b"\nTwo.\n")


def test_ctrl_c_ends_a_script_with_130_and_keeps_the_turn(api, home):
    import select
    import signal
    import subprocess

    from tests.conftest import pplx_executable

    release = hanging(api, "Begun, and then nothing more for a long while.", 1)
    proc = subprocess.Popen([pplx_executable(), "chat", "--no-meta"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=dict(os.environ, PPLX_BASE_URL=api.url))
    proc.stdin.write(b"one\ntwo\n")
    proc.stdin.flush()
    select.select([proc.stdout], [], [], 20)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert out == b"Begun, \n" and err == b""
    [record] = history(home)
    assert (record["answer"], record["exit_status"], record["error"]) == ("Begun, ", 130, "interrupted")
    assert len(sent(api)) == 1
    release.set()


def test_a_goes_with_the_first_prompt_only(api, home, run, tmp_path):
    (tmp_path / "notes.txt").write_text("some notes\n")
    result = chat(run, api, "-a", str(tmp_path / "notes.txt"), "--no-meta", input=b"read this\nand then?\n")
    assert result.returncode == 0, result.stderr
    first, second = sent(api)
    assert [part["type"] for part in first["input"][0]["content"]] == ["input_text", "input_file"]
    assert second["input"] == "and then?"
    assert json.loads(history(home)[0]["options"])["attachments"][0]["name"] == "notes.txt"


def test_sigterm_during_an_answer_ends_the_session_with_143_and_records_the_turn(api, home):
    import select
    import signal
    import subprocess

    from tests.conftest import pplx_executable

    release = hanging(api, "Begun, and then nothing more for a long while.", 1)
    proc = subprocess.Popen([pplx_executable(), "chat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=dict(os.environ, PPLX_BASE_URL=api.url))
    proc.stdin.write(b"one\n")
    proc.stdin.flush()
    select.select([proc.stdout], [], [], 20)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 143 and out == b"Begun, \n"
    meta, end = [json.loads(line) for line in err.splitlines()]
    assert meta["error"] == "terminated" and end["exchanges"] == 1
    assert [(r["answer"], r["exit_status"]) for r in history(home)] == [("Begun, ", 143)]
    release.set()


def test_a_warning_or_a_note_is_said_once_a_session(api, home, run):
    config = home / ".config" / "pplx" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("bogus_key = 1\n")
    result = chat(run, api, "--related", "--no-meta", input=b"one\ntwo\nthree\n")
    assert result.returncode == 0
    assert result.stderr.decode() == (f"pplx: warning: config file {config}: unknown key 'bogus_key' ignored\n"
                                      "pplx: note: --related has no Agent API equivalent; not sent\n")


def locked(home):
    """The history held by another writer (as a second pplx in the middle of its record)."""
    db = sqlite3.connect(home / ".local" / "share" / "pplx" / "history.db", isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    return db


def test_ctrl_c_while_a_turn_is_recorded_waits_for_the_record(api, home, run):
    import select
    import signal
    import subprocess

    from tests.conftest import pplx_executable

    api.add(AGENT, AgentRun(id="resp_0", text="Zero."), AgentRun(id="resp_1", text="One."))
    assert chat(run, api, "--no-meta", input=b"zero\n").returncode == 0
    db = locked(home)
    proc = subprocess.Popen([pplx_executable(), "chat", "-c", "--no-meta"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=dict(os.environ, PPLX_BASE_URL=api.url))
    proc.stdin.write(b"one\ntwo\n")
    proc.stdin.flush()
    shown = b""
    while not shown.endswith(b"\n") and select.select([proc.stdout], [], [], 20)[0]:
        shown += os.read(proc.stdout.fileno(), 100)
    assert shown == b"One.\n"  # the answer is out; its record waits for the lock
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)
    db.execute("COMMIT")
    db.close()
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130 and out == b"" and err == b""  # the script stops, after the record
    assert [(r["prompt"], r["exit_status"], r["error"]) for r in history(home)] == [("zero", 0, None), ("one", 0, None)]
    assert len(sent(api)) == 2


def test_ctrl_c_while_a_turn_is_recorded_at_the_keyboard_changes_nothing(api, home, run, term):
    api.add(AGENT, AgentRun(id="resp_0", text="Zero."), AgentRun(id="resp_1", text="One."), AgentRun(text="Two."))
    assert chat(run, api, "--no-meta", input=b"zero\n").returncode == 0
    t = term("-c")
    t.wait_for(prompts(1))
    db = locked(home)
    t.type("one\r")
    t.wait_for(lambda text: "\nOne." in text)
    time.sleep(0.3)
    t.type(b"\x03")
    time.sleep(0.3)
    db.execute("COMMIT")
    db.close()
    t.wait_for(lambda text: text.endswith("fast>") and text.count("fast>") == 2)
    command(t, "two")
    t.type(b"\x04")
    assert t.finish() == 0
    assert "interrupted" not in t.text() and "\n^C\nfast> two\n" in t.text()
    assert [r["exit_status"] for r in history(home)] == [0, 0, 0]
    assert sent(api)[2]["previous_response_id"] == "resp_1"  # the answer stands as it ended


@pytest.mark.parametrize("args, message", [
    (["--reattach"], "pplx: error: --reattach sends a conversation's attachments again: it needs -c or --cid"),
    (["-a", "-"], "pplx: error: '-a -' cannot read stdin: stdin is the conversation (attach a file, or /attach it)"),
    (["--meta", "m.json", "--no-meta"], "pplx: error: --meta FILE and --no-meta contradict each other"),
    (["--cid", "nope"], "pplx: error: cannot continue: no history yet at "),
])
def test_usage_errors_end_before_the_session(api, home, run, args, message, tmp_path):
    result = run("chat", *args, input=b"one\n", env={"PPLX_BASE_URL": api.url}, cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == b""
    error, hint = result.stderr.decode().splitlines()
    assert error.startswith(message) and hint == "Try 'pplx chat --help' for help."
    assert api.requests == []


def test_no_key_ends_before_the_session(api, home, run):
    result = run("chat", input=b"one\n", env={"PPLX_BASE_URL": api.url, "PPLX_API_KEY": ""})
    assert result.returncode == 3 and result.stdout == b""
    assert result.stderr.decode().startswith("pplx: error: no API key")
    assert api.requests == []
