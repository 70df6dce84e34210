"""The Agent API's other tools, end to end through the installed pplx and the local server
(tests/tools_server.py): the request each option sends, what comes back shown as reasoning
is, the sources, images and files listed, the metadata, and what cannot work refused before
anything is sent. Downloads are tests/test_files.py's."""

import copy
import json
import os
import re
import sqlite3

import pytest

from tests.server import AgentRun
from tests.test_agent import AGENT, meta_of, run_cli
from tests.tools_server import IMAGES, SharedFile

#: The sandbox's default run, as reasoning shows it.
RAN = ("Running python:\n"
       "    import matplotlib.pyplot as plt\n"
       "    plt.plot([1, 2, 3])\n"
       "    plt.savefig('chart.png')\n"
       "    print('saved chart.png')\n"
       "Exit 0 (412 ms)\n"
       "    saved chart.png\n"
       "Shared chart.png (70 bytes)\n")
ANSWER = "Canberra is the capital of Australia [1].\n"
SOURCES = ("[1] Canberra - Wikipedia <https://en.wikipedia.org/wiki/Canberra>\n"
           "[2] Canberra | History, Map, & Population <https://www.britannica.com/place/Canberra>\n")


def body(api):
    """The last Agent API request's body."""
    return [r for r in api.requests if r["path"] == AGENT][-1]["body"]


def errors(result) -> list:
    return [line for line in result.stderr.decode().splitlines() if line.startswith("pplx:")]


# ---- what each option sends ----


@pytest.mark.parametrize("args, tools", [
    (["--code"], [{"type": "web_search"}, {"type": "fetch_url"}, {"type": "sandbox"}]),  # the default effort's tools kept
    (["-m", "openai/gpt-5.1", "--code"], [{"type": "web_search"}, {"type": "sandbox"}]),
    (["-m", "openai/gpt-5.1", "--code", "--no-search"], [{"type": "sandbox"}]),
    (["-m", "openai/gpt-5.1", "--images"], [{"type": "web_search"}, {"type": "image_search"}]),
    (["-m", "openai/gpt-5.1", "--image-domain", "nasa.gov", "--image-domain", "wikimedia.org", "--image-format", "png",
      "--image-format", "jpeg"],  # the filters imply the tool
     [{"type": "web_search"}, {"type": "image_search", "filters": {"domain_filter": ["nasa.gov", "wikimedia.org"],
                                                                   "format_filter": ["png", "jpeg"]}}]),
    (["-m", "openai/gpt-5.1", "--images", "--image-domain", "-gettyimages.com"],
     [{"type": "web_search"}, {"type": "image_search", "filters": {"domain_filter": ["-gettyimages.com"]}}]),
    (["-m", "openai/gpt-5.1", "--people", "--finance"], [{"type": "web_search"}, {"type": "people_search"}, {"type": "finance_search"}]),
    (["--effort", "low", "--finance", "--fetch"],
     [{"type": "web_search"}, {"type": "fetch_url"}, {"type": "finance_search"}]),
])
def test_each_tool_option_sends_its_tool(api, home, args, tools):
    result = run_cli(api, "ask", "q", "--no-meta", *args)
    assert result.returncode == 0, result.stderr
    assert body(api)["tools"] == tools
    assert "tool_choice" not in body(api) and "skills" not in body(api)


@pytest.mark.parametrize("args, choice, tools", [
    (["--tool-choice", "required"], "required", None),
    (["--tool-choice", "auto", "--code"], "auto", [{"type": "web_search"}, {"type": "fetch_url"}, {"type": "sandbox"}]),
    (["--tool-choice", "none"], "none", None),
    (["--force-search"], {"type": "web_search"}, None),
    (["--force-search", "--tool-choice", "web_search"], {"type": "web_search"}, None),
    (["-m", "openai/gpt-5.1", "--tool-choice", "sandbox"], {"type": "sandbox"},  # forcing a tool offers it
     [{"type": "web_search"}, {"type": "sandbox"}]),
    (["-m", "openai/gpt-5.1", "--tool-choice", "people_search", "--people"], {"type": "people_search"},
     [{"type": "web_search"}, {"type": "people_search"}]),
])
def test_tool_choice_is_sent(api, home, args, choice, tools):
    result = run_cli(api, "ask", "q", "--no-meta", *args)
    assert result.returncode == 0, result.stderr
    assert body(api)["tool_choice"] == choice
    assert body(api).get("tools") == tools


@pytest.mark.parametrize("args, message", [
    (["--tool-choice", "none", "--code"], "--tool-choice none forbids every tool, and --code offers one: drop one of them"),
    (["--tool-choice", "none", "--skill", "office"], "--tool-choice none forbids every tool, and --skill offers one: drop one of them"),
    (["--force-search", "--no-search"], "forcing a web search (--force-search, --tool-choice web_search) contradicts --no-search"),
    (["--force-search", "--tool-choice", "sandbox"], "--force-search is --tool-choice web_search, not sandbox: give one of them"),
    (["-m", "openai/gpt-5.1", "--no-search", "--tool-choice", "required"],
     "--tool-choice required needs a tool to call, and --no-search leaves none"),
    (["--no-search", "--code"], "--no-search with an effort turns off every tool, --code included; "
                                "give a model (-m) to use a tool without searching"),
    (["--image-domain", "nasa.gov", "--image-domain", "-getty.com"],
     "--image-domain takes domains to search or, with a leading '-', domains to avoid: the API takes one kind or the other, not both"),
    (["--profile", "prof_1", "--effort", "low"],
     "--profile and an effort (low) both choose the configuration: give one (a model, -m, may override the profile's)"),
    (["--profile", "prof_1", "-m", "sonar-pro"],
     "--profile and an effort (low) both choose the configuration: give one (a model, -m, may override the profile's)"),
    (["--force", "x"], "--force replaces files saved with -O DIR: give -O"),
])
def test_what_cannot_work_is_refused_before_sending(api, home, args, message):
    result = run_cli(api, "ask", "q", *args)
    assert result.returncode == 2
    assert errors(result) == [f"pplx: error: {message}"]
    assert api.requests == []


@pytest.mark.parametrize("args, why", [
    (["--skill", "excel"], "'excel' is not one of 'office', 'office/docx', 'office/pdf', 'office/pptx', 'office/xlsx'"),
    (["--image-format", "tiff"], "'tiff' is not one of 'bmp', 'gif', 'jpeg', 'png', 'webp', 'svg'"),
    (["--tool-choice", "search"], "'search' is not one of 'auto', 'none', 'required', 'web_search'"),
    (["--profile", "a b"], "'a b' is not a profile id: give ID or ID@VERSION"),
    (["--effort", "high tide"], "effort must be a level such as fast, low, medium, high, xhigh"),
])
def test_bad_values_are_usage_errors(api, home, args, why):
    result = run_cli(api, "ask", "q", *args)
    assert result.returncode == 2 and why in result.stderr.decode() and api.requests == []


def test_skills_are_sent_once_each_and_loaded_ones_kept(api, home):
    result = run_cli(api, "ask", "q", "--skill", "office/xlsx", "--skill", "office", "--skill", "office/xlsx")
    assert result.returncode == 0, result.stderr
    assert body(api)["skills"] == [{"type": "builtin", "name": "office/xlsx"}, {"type": "builtin", "name": "office"}]
    assert "tools" not in body(api)  # a skill enables the sandbox by itself
    assert meta_of(result)["skills"] == ["office/xlsx", "office"]


def test_a_loaded_skill_shows_on_the_progress_line(api, home):
    from tests.test_hostile import run_in_pty

    api.add(AGENT, AgentRun(delay=0.25))  # the line shows itself after a second
    code, out, shown = run_in_pty(["stream", "q", "--skill", "office/xlsx", "--meta-style", "json"],
                                  dict(os.environ, PPLX_BASE_URL=api.url))
    assert code == 0 and out == ANSWER.encode()
    drawn = [part for part in shown.rsplit("\r\x1b[2K", 1)[0].split("\r\x1b[2K") if part]
    assert any(re.fullmatch(r"\d+s · loaded skill office/xlsx", part) for part in drawn), drawn
    assert any(re.fullmatch(r"\d+s · ran python: exit 0", part) for part in drawn), drawn


def test_a_profile_replaces_the_effort_and_the_configured_model(api, home):
    env = {"PPLX_MODEL": "openai/gpt-5-mini"}
    result = run_cli(api, "ask", "q", "--profile", "profile_8Qw3@2026-11-01", "--no-meta", env=env)
    assert result.returncode == 0, result.stderr
    assert body(api) == {"profile": {"type": "custom", "id": "profile_8Qw3", "version": "2026-11-01"}, "input": "q",
                         "stream": False, "store": True}
    with_model = run_cli(api, "ask", "q", "--profile", "profile_8Qw3", "-m", "openai/gpt-5.1", "--code", "--no-meta", env=env)
    assert with_model.returncode == 0, with_model.stderr
    assert body(api) == {"model": "openai/gpt-5.1", "profile": {"type": "custom", "id": "profile_8Qw3"}, "input": "q",
                         "stream": False, "store": True,
                         "tools": [{"type": "web_search"}, {"type": "fetch_url"}, {"type": "sandbox"}]}


def test_a_follow_up_keeps_the_conversation_s_profile(api, home):
    assert run_cli(api, "ask", "q", "--profile", "profile_8Qw3", "--no-meta").returncode == 0
    again = run_cli(api, "ask", "-c", "and?", "--no-meta")
    assert again.returncode == 0, again.stderr
    assert body(api)["profile"] == {"type": "custom", "id": "profile_8Qw3"} and "effort" not in body(api)


def test_another_effort_name_is_sent_with_one_note_and_the_service_judges(api, home):
    result = run_cli(api, "ask", "q", "--effort", "wide-research@2026-11-01", "--no-meta")
    assert body(api)["effort"] == "wide-research@2026-11-01"
    assert result.returncode == 1  # the local server knows only the five documented levels
    assert errors(result) == [
        "pplx: note: effort 'wide-research@2026-11-01' is not one of the documented levels (fast, low, medium, high, "
        "xhigh): sent as given; the service says if it does not know it",
        'pplx: error: HTTP 400: validation failed: effort "wide-research@2026-11-01" is not supported (invalid_request)']
    assert errors(run_cli(api, "ask", "q", "--effort", "wide-research", "-q", "--no-meta"))[:1] == [
        'pplx: error: HTTP 400: validation failed: effort "wide-research" is not supported (invalid_request)']
    known = run_cli(api, "ask", "q", "--effort", "xhigh@2026-10-16.0", "--no-meta")
    assert known.returncode == 0 and known.stderr == b""


def test_the_effort_skills_and_tool_choice_complete(home):
    import subprocess

    from tests.conftest import pplx_executable

    def complete(words):
        env = dict(os.environ, COMP_WORDS=words, COMP_CWORD=str(len(words.split(" ")) - 1), _PPLX_COMPLETE="bash_complete")
        return [line.split(",", 1)[1] for line in subprocess.run([pplx_executable()], capture_output=True, timeout=30,
                                                                env=env).stdout.decode().splitlines()]

    assert complete("pplx ask --effort ") == ["fast", "low", "medium", "high", "xhigh"]
    assert complete("pplx ask --skill office/") == ["office/docx", "office/pdf", "office/pptx", "office/xlsx"]
    assert complete("pplx ask --tool-choice ") == ["auto", "none", "required", "web_search", "fetch_url", "sandbox",
                                                   "image_search", "people_search", "finance_search"]
    assert complete("pplx batch --image-format p") == ["png"]
    assert "--output-dir" in complete("pplx jobs files --out")
    assert complete("pplx ask -O ch") == ["ch"]  # the shell's own directory completion (type dir)


def test_chat_completions_get_none_of_it(api, home):
    from tests.server import json_reply

    api.add("/chat/completions", json_reply({"id": "c", "model": "sonar", "choices": [
        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hi"}}]}))
    result = run_cli(api, "ask", "q", "--api", "chat", "--people", "--finance", "--profile", "p", "--image-format", "png",
                     "--no-meta")
    assert result.returncode == 0, result.stderr
    assert errors(result) == [f"pplx: note: {o} has no chat completions equivalent; not sent"
                              for o in ("--image-domain/--image-format", "--people", "--finance", "--profile")]
    sent = api.requests[-1]["body"]
    assert not {"tools", "profile", "return_images"} & set(sent)


def test_a_batch_line_takes_the_tool_options(api, home, tmp_path):
    lines = tmp_path / "q.jsonl"
    lines.write_text('{"prompt": "chart it", "code": true, "skill": ["office/pdf"]}\n{"prompt": "plain"}\n')
    result = run_cli(api, "batch", str(lines), "--images")
    assert result.returncode == 0, result.stderr
    first, second = sorted((r["body"] for r in api.requests if r["path"] == AGENT), key=lambda b: b["input"])
    assert first["tools"] == [{"type": "web_search"}, {"type": "fetch_url"}, {"type": "sandbox"}, {"type": "image_search"}]
    assert first["skills"] == [{"type": "builtin", "name": "office/pdf"}]
    assert second["tools"] == [{"type": "web_search"}, {"type": "fetch_url"}, {"type": "image_search"}]


# ---- what comes back ----


def test_the_code_run_is_shown_as_reasoning_is(api, home):
    shown = run_cli(api, "ask", "q", "--code", "--reasoning", "show", "--no-meta", "-q")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.decode() == "Searching: capital of Australia\n" + RAN + "\n" + ANSWER
    on_stderr = run_cli(api, "stream", "q", "--code", "--reasoning", "stderr", "--no-meta", "-q")
    assert on_stderr.stdout.decode() == ANSWER
    assert on_stderr.stderr.decode() == "Searching: capital of Australia\n" + RAN
    hidden = run_cli(api, "stream", "q", "--code")
    meta = meta_of(hidden)
    assert meta["reasoning"] == "Searching: capital of Australia\n" + RAN
    assert meta["sandbox"] == [{
        "call_id": "call_sandbox_1", "language": "python", "status": "completed", "container_id": "ctr_1",
        "code": "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.savefig('chart.png')\nprint('saved chart.png')\n",
        "results": [{"status": "completed", "exit_code": 0, "duration_ms": 412, "stdout": "saved chart.png\n", "stderr": ""}]}]
    assert meta["files"] == [{"id": "file_1", "filename": "chart.png", "bytes": 70}]


def test_a_failing_run_and_long_output_are_shown_bounded(api, home):
    run = {"type": "sandbox_results", "call_id": "c1", "code": "print('x' * 10000)\nraise SystemExit(3)", "language": "python",
           "status": "timed_out", "results": [
               {"status": "completed", "exit_code": 3, "stdout": "x" * 10000, "stderr": "boom\n", "duration_ms": 2500},
               {"status": "timed_out", "exit_code": -1, "stdout": "", "stderr": "", "duration_ms": 1200000}]}
    api.add(AGENT, AgentRun(tool_items=[run]))
    result = run_cli(api, "ask", "q", "--code", "--reasoning", "show")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == (
        "Searching: capital of Australia\nRunning python:\n    print('x' * 10000)\n    raise SystemExit(3)\n"
        "Exit 3 (2,500 ms)\n    " + "x" * 4096 + "\n    [... 5,904 more characters]\nstderr:\n    boom\n"
        "Exit -1 (1,200,000 ms), timed_out\n\n" + ANSWER)
    [kept] = meta_of(result)["sandbox"]
    assert kept["status"] == "timed_out" and kept["results"][0]["stdout"] == "x" * 4096
    assert kept["results"][0]["stdout_truncated"] == 5904 and "stdout_truncated" not in kept["results"][1]
    assert [r["exit_code"] for r in kept["results"]] == [3, -1]


def test_images_are_listed_with_the_sources_and_kept(api, home):
    result = run_cli(api, "stream", "q", "--images", "--sources", "--reasoning", "stderr")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == ANSWER + "\n" + SOURCES + (
        "[image 1] Golden Gate Bridge at dusk <https://example.org/golden-gate> image <https://images.example.org/golden-gate.jpg>\n"
        "[image 2] <https://example.org/fog> image <https://images.example.org/fog.png>\n")
    assert result.stderr.decode().startswith("Searching: capital of Australia\nSearching images: Golden Gate Bridge\n{")
    assert meta_of(result)["images"] == IMAGES
    ask = run_cli(api, "ask", "q", "--images", "--sources", "--no-meta")
    assert ask.stdout == result.stdout  # the body's item, as the stream's events


def test_people_are_sources_by_id_and_finance_cites_urls(api, home):
    result = run_cli(api, "ask", "q", "--people", "--finance", "--sources", "--reasoning", "show")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == (
        "Searching: capital of Australia\nSearching people: Head of Design at Figma\nLooking up financial data: quote for NVDA\n\n"
        + ANSWER + "\n" + SOURCES + "[3] A. Designer - Head of Design <https://www.linkedin.com/in/example-designer>\n"
        "[finance 1] https://finance.example.com/quote/NVDA\n[finance 2] NVIDIA 10-Q <https://sec.example.gov/nvda-10q>\n")
    meta = meta_of(result)
    assert [r["id"] for r in meta["search_results"]] == [1, 2, 3]
    assert meta["finance_results"][0]["tickers"] == ["NVDA"]


#: One item of every type the SDK lists (0.46.1), and the documented ones outside it.
EVERY_ITEM = [
    {"type": "function_call", "id": "fc_1", "call_id": "call_f", "name": "search_web", "arguments": "{}", "status": "completed"},
    {"type": "mcp_list_tools", "id": "m1", "server_label": "s", "tools": []},
    {"type": "mcp_call", "id": "m2", "name": "t", "server_label": "s", "arguments": "{}", "output": "ok"},
    {"type": "mcp_approval_request", "id": "m3", "name": "t", "server_label": "s", "arguments": "{}"},
    {"type": "tool_search_output", "id": "t1", "call_id": None, "execution": "server", "status": "completed", "tools": []},
    {"type": "skill_loaded", "name": "office"},
    {"type": "sandbox_write_file", "call_id": "w", "file_path": "/work/a.csv", "size_bytes": 2048},
    {"type": "sandbox_read_file", "call_id": "r", "file_path": "/work/a.csv", "content": "a,b", "start_line": 1, "total_lines": 1},
    {"type": "sandbox_edit_file", "call_id": "e", "file_path": "/work/a.csv", "message": "ok"},
    {"type": "sandbox_grep", "call_id": "g", "files": ["a.csv"], "count": 1, "truncated": False},
    {"type": "sandbox_glob", "call_id": "gl", "files": ["a.csv", "b.csv"], "count": 2, "truncated": False},
    {"type": "sandbox_apply_patch", "call_id": "p", "added": ["c.py"], "modified": ["a.csv"], "deleted": []},
    {"type": "sandbox_write_file", "call_id": "w2", "file_path": "/etc/x", "error": "permission denied"},
    {"type": "share_file", "call_id": "s", "filename": "big.bin", "error": "file too large"},
    {"type": "advisor_result", "call_id": "a", "status": "completed", "advice": "fine"},
    {"type": "image_search_results", "results": [], "queries": ["x"], "error": None},
]


def test_every_item_type_is_read_without_a_word_and_unknown_ones_counted_under_v(api, home):
    items = EVERY_ITEM + [{"type": "plan_update", "steps": 3}, {"type": "unknown", "item_name": "Ledger", "payload": {}},
                          {"type": "plan_update"}]
    api.add(AGENT, AgentRun(tool_items=items))
    quiet = run_cli(api, "ask", "q", "--no-meta", "--reasoning", "show", "--sources")
    assert quiet.returncode == 0 and quiet.stderr == b""
    assert quiet.stdout.decode() == (
        "Searching: capital of Australia\nWrote /work/a.csv (2,048 bytes)\nRead /work/a.csv\nEdited /work/a.csv\n"
        "Searched files: 1 found\nListed files: 2 found\nPatched files: added c.py; modified a.csv\n"
        "Wrote /etc/x: failed: permission denied\nCould not share big.bin: file too large\nSearching images: x\n\n"
        + ANSWER + "\n" + SOURCES + "[file 1] big.bin (not shared: file too large)\n")
    for command in ("ask", "stream"):
        verbose = run_cli(api, command, "q", "--no-meta", "-v")
        notes = [x for x in verbose.stderr.decode().splitlines() if x.startswith("pplx: note:")]
        assert notes == ["pplx: note: ignored 3 output items of unknown types: plan_update (2), unknown (Ledger) (1)"]


def test_the_new_tools_costs_are_in_the_metadata_and_log_cost(api, home):
    usage = copy.deepcopy(AgentRun().usage)
    usage["tool_calls_details"]["sandbox"] = {"cost_usd": 0.03, "invocation": 1}
    usage["tool_calls_details"]["search_people"] = {"cost_usd": 0.005, "invocation": 1}
    usage["cost"]["tool_calls_cost_details"].update(sandbox=0.03, search_people=0.005)
    usage["cost"]["tool_calls_cost"] = 0.036
    usage["cost"]["total_cost"] = 0.03619
    api.add(AGENT, AgentRun(usage=usage))
    result = run_cli(api, "ask", "q", "--code", "--people")
    assert result.returncode == 0, result.stderr
    assert meta_of(result)["usage"]["cost"]["tool_calls_cost_details"] == {"search_web": 0.001, "sandbox": 0.03,
                                                                            "search_people": 0.005}
    cost = run_cli(api, "log", "cost", "--json")
    assert [json.loads(line)["cost"] for line in cost.stdout.decode().splitlines()] == [0.03619]


def test_402_is_one_line_naming_pplx_models(api, home):
    result = run_cli(api, "ask", "-m", "anthropic/claude-opus-5", "--max-tokens", "100", "q")
    assert result.returncode == 1
    assert errors(result) == [
        "pplx: error: HTTP 402: model anthropic/claude-opus-5 is not available for your usage tier (insufficient_tier): "
        "the account's usage tier cannot use this model; 'pplx models' lists the models"]
    assert [r["path"] for r in api.requests] == [AGENT]  # never retried
    with sqlite3.connect(home / ".local/share/pplx/history.db") as db:
        assert db.execute("SELECT exit_status FROM exchanges").fetchall() == [(1,)]
