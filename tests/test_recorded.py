"""What pplx prints about responses recorded from the real service by other projects.

The local server answers with bodies and events copied from public recordings (abridged:
long snippets and instructions cut, marked "…"; every key, id, type and marker kept), so
these tests hold pplx to the service's shapes rather than to our own reading of the docs.
The fixtures in tests/fixtures/recorded/ and where each comes from:

- ``agent_search_only.vercel.json``, ``agent_search_only_stream.vercel.jsonl``: real traffic,
  vercel/ai ``packages/perplexity/src/__fixtures__/agent-web-search.json`` and
  ``agent-web-search.chunks.txt`` (commits 5d9b0b0b, 5bac68fa), "captured from the live
  Perplexity Agent API on September 25, 2026 with the fast preset". The stream is kept as that
  project keeps it, one event's JSON a line; the SSE framing is added here, as its tests do.
- ``agent_ids_across_blocks.argus.json``: real traffic, lagarcess/argus
  ``docs/reports/evidence/377/probes/sector_radar_web_search_citations.json`` (ddaaac03,
  August 2026): three search blocks with ids 1-15, 16-30, 31-45 (finance items left out).
- ``agent_background_polls.argus.json``: real traffic, the same repository's
  ``probes/background_thorough_nflx_dis.json`` (07ac69c5): a background run's queued
  snapshot and its final poll, whose ``created_at`` differ.
- ``agent_web_markers.docs.json``: Perplexity's docs example (Agent API quickstart), via
  cequence-io/openai-scala-client ``agent-docs-examples/response-14-quickstart.json``
  (d0fbfa89): text citing ``[web:1]`` ... ``[web:11]``, each a search result's id.
- ``agent_search_and_fetch.docs.json``: the docs quickstart's "Using a Preset" response: search
  results and ``fetch_url_results`` (pages without ids) in one answer. Its text was cut in the
  docs before any marker, so which marker a fetched page would get is not shown there: pplx
  lists such pages as ``[page n]`` and links no marker to them (our reading, not recorded).
"""

import base64
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import pplx_executable
from tests.server import Reply, json_reply

AGENT = "/v1/responses"
RECORDED = Path(__file__).parent / "fixtures" / "recorded"


def recorded(name):
    return json.loads((RECORDED / name).read_text("utf-8"))


def recorded_events(name) -> bytes:
    """A recorded stream (one event's JSON a line) framed as the service sends it."""
    lines = (RECORDED / name).read_text("utf-8").splitlines()
    return "".join(f"data: {line}\n\n" for line in lines if line.strip()).encode()


def run_cli(api, *args, stdin=b"", env=None, timeout=60):
    full = dict(os.environ, PPLX_BASE_URL=api.url, **(env or {}))
    return subprocess.run([pplx_executable(), *args], input=stdin, capture_output=True, env=full, timeout=timeout)


def text_of(body) -> str:
    return "".join(part["text"] for item in body["output"] if item["type"] == "message" for part in item["content"])


def results_of(body) -> list:
    return [r for item in body["output"] if item["type"] == "search_results" for r in item["results"]]


def terminal_links(shown: str) -> dict:
    """Marker label -> URL of every OSC 8 hyperlink pplx wrote around a marker."""
    return dict((label, url) for url, label in re.findall(r"\x1b\]8;;([^\x1b]+)\x1b\\(?:\x1b\[[0-9;]*m)*\[([^\]]+)\]", shown))


def on_terminal(api, *args):
    from tests.test_hostile import run_on_pty

    env = dict(os.environ, PPLX_BASE_URL=api.url, TERM="xterm-256color", COLUMNS="100")
    env.pop("NO_COLOR", None)
    code, shown = run_on_pty(list(args), env, columns=100)
    assert code == 0, shown
    return shown


# ---- the vercel/ai capture: [7] is search result id 7 ----


def test_a_recorded_body_lists_its_sources_under_their_ids(api, home):
    body = recorded("agent_search_only.vercel.json")
    api.add(AGENT, json_reply(body))
    result = run_cli(api, "ask", "q", "--sources", "--meta-style", "json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().split("\n")
    assert lines[0] == text_of(body) and text_of(body).endswith("[7]")
    assert "[7] TypeScript: JavaScript With Syntax For Types. <https://www.typescriptlang.org/>" in lines
    assert [line.split("]")[0] for line in lines[2:-1]] == [f"[{n}" for n in range(1, 11)]
    meta = json.loads(result.stderr)
    assert meta["model"] == "openai/gpt-6-luna" and meta["usage"]["cost"]["total_cost"] == body["usage"]["cost"]["total_cost"]


def test_a_recorded_stream_prints_what_its_body_would(api, home, tmp_path):
    body = recorded("agent_search_only.vercel.json")
    events = recorded_events("agent_search_only_stream.vercel.jsonl")
    api.add(AGENT, Reply(parts=[events]))
    streamed = run_cli(api, "stream", "q", "--sources", "--no-meta")
    assert streamed.returncode == 0, streamed.stderr
    lines = streamed.stdout.decode().split("\n")
    assert re.search(r"\[7\]$", lines[0])  # the marker arrived split as ".[", "7", "]"
    assert "[7] TypeScript: JavaScript With Syntax For Types. <https://www.typescriptlang.org/>" in lines
    stripped = run_cli(api, "stream", "q", "--citations", "strip", "--no-meta")
    assert stripped.stdout.decode() == re.sub(r"\s*\[7\]", "", lines[0]) + "\n"
    parsed = run_cli(api, "parse", "--sources", "--no-meta", stdin=events)
    assert parsed.returncode == 0 and parsed.stdout == streamed.stdout
    assert results_of(body)[6]["url"] == "https://www.typescriptlang.org/"


@pytest.mark.parametrize("command", ["ask", "stream"])
def test_on_a_terminal_the_recorded_marker_links_to_its_result(api, home, command):
    body = recorded("agent_search_only.vercel.json")
    api.add(AGENT, json_reply(body) if command == "ask" else Reply(parts=[recorded_events("agent_search_only_stream.vercel.jsonl")]))
    shown = on_terminal(api, command, "q", "--no-meta")
    assert terminal_links(shown) == {"7": "https://www.typescriptlang.org/"}


# ---- the docs' [web:n] answer: each marker is the result with that id ----


def test_web_n_markers_link_to_the_search_result_with_id_n(api, home):
    body = recorded("agent_web_markers.docs.json")
    api.add(AGENT, json_reply(body))
    shown = on_terminal(api, "ask", "q", "--no-meta")
    by_id = {r["id"]: r["url"] for r in results_of(body)}
    cited = sorted({int(n) for n in re.findall(r"\[web:(\d+)\]", text_of(body))})
    assert cited == [1, 2, 4, 5, 6, 7, 8, 9, 10, 11]
    assert terminal_links(shown) == {f"web:{n}": by_id[n] for n in cited}


# ---- the docs' search-and-fetch answer: pages after the results, under labels of their own ----


def test_fetched_pages_are_listed_after_the_results_as_pages(api, home):
    body = recorded("agent_search_and_fetch.docs.json")
    api.add(AGENT, json_reply(body))
    result = run_cli(api, "ask", "q", "--sources", "--meta-style", "json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().split("\n")
    pages = [item for item in body["output"] if item["type"] == "fetch_url_results"][0]["contents"]
    assert len(pages) == 2 and all("id" not in page for page in pages)
    assert lines[-3:] == [f"[page 1] {pages[0]['title']} <{pages[0]['url']}>", f"[page 2] {pages[1]['title']} <{pages[1]['url']}>", ""]
    assert [line.split("]")[0] for line in lines[2:-3]] == [f"[{n}" for n in range(1, 16)]
    assert json.loads(result.stderr)["fetch_url_results"] == pages


# ---- the argus capture: ids continue across search blocks ----


def test_ids_that_continue_across_blocks_are_kept(api, home):
    body = recorded("agent_ids_across_blocks.argus.json")
    api.add(AGENT, json_reply(body))
    result = run_cli(api, "ask", "q", "--sources", "--meta-style", "json")
    assert result.returncode == 0, result.stderr
    assert [r["id"] for r in json.loads(result.stderr)["search_results"]] == list(range(1, 46))
    labels = [line.split("]")[0] + "]" for line in result.stdout.decode().splitlines()[-45:]]
    assert labels == [f"[{n}]" for n in range(1, 46)]


# ---- the argus background run: a poll's created_at is not when the run began ----


def test_jobs_show_counts_from_this_machines_start_not_a_polls_created_at(api, home):
    polls = recorded("agent_background_polls.argus.json")
    submitted, final = polls["submitted"], polls["final"]
    assert submitted["id"] == final["id"] and submitted["created_at"] != final["created_at"]  # as recorded
    rid = submitted["id"]
    api.add(AGENT, json_reply(submitted))
    detached = run_cli(api, "ask", "--background", "--detach", "q")
    assert detached.returncode == 0 and detached.stdout.decode().strip() == rid
    api.add(f"{AGENT}/{rid}", json_reply(submitted))  # still queued
    shown = run_cli(api, "jobs", "show", rid).stdout.decode().splitlines()
    [elapsed] = [line for line in shown if line.startswith("elapsed: ")]
    assert int(elapsed.removeprefix("elapsed: ").rstrip("s")) < 60  # not now minus a poll's created_at (months)
    api.routes[f"{AGENT}/{rid}"] = [json_reply(final)]
    shown = run_cli(api, "jobs", "show", rid).stdout.decode().splitlines()
    assert shown[1] == "status: completed" and shown[2].startswith("started: ") and shown[2].endswith(" UTC")
    assert not any(line.startswith("elapsed") for line in shown)
    elsewhere = "resp_started-elsewhere"
    api.add(f"{AGENT}/{elsewhere}", json_reply(dict(submitted, id=elsewhere)))
    unknown = run_cli(api, "jobs", "show", elsewhere).stdout.decode().splitlines()
    assert [line.split(":")[0] for line in unknown] == ["id", "status", "searches"]  # no time at all


# ---- a run that ended without an answer still lists what it found ----


def test_jobs_wait_sources_of_a_cancelled_run(api, home):
    body = recorded("agent_search_only.vercel.json")
    # a cancelled run: HTTP 200, status cancelled, error.code cancelled, usage null, the searches kept
    cancelled = dict(body, status="cancelled", usage=None, error={"code": "cancelled", "message": "the run was cancelled"},
                     output=[item for item in body["output"] if item["type"] != "message"])
    rid = body["id"]
    api.add(f"{AGENT}/{rid}", json_reply(cancelled))
    result = run_cli(api, "jobs", "wait", rid, "--sources", "--no-meta")
    assert result.returncode == 1
    sources = result.stdout.decode().splitlines()
    assert len(sources) == 10 and sources[6] == "[7] TypeScript: JavaScript With Syntax For Types. <https://www.typescriptlang.org/>"
    assert result.stderr.decode().splitlines() == [
        "pplx: note: there is no answer; the sources found are listed all the same",
        "pplx: error: response cancelled: the run was cancelled"]


# ---- binary embeddings: bits least significant first, as Perplexity's guide unpacks them ----


def unpackbits_little(raw: bytes) -> list:
    """What the guide's ``np.unpackbits(np.frombuffer(raw, dtype=np.uint8), bitorder="little")`` gives."""
    return [(byte >> i) & 1 for byte in raw for i in range(8)]


def test_binary_embeddings_decode_as_the_guide_unpacks_them():
    """docs.perplexity.ai/docs/embeddings/best-practices: base64_binary is "packed bits (1 bit
    per dimension, LSB first)", unpacked with ``bitorder="little"``: byte 0x01 is dimension 0."""
    from pplx_cli.dialects.embeddings import decode_embedding

    raw = bytes([0x01, 0x80, 0b00000110])
    assert decode_embedding(base64.b64encode(raw).decode(), "base64_binary") == [
        1, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0, 1,  0, 1, 1, 0, 0, 0, 0, 0] == unpackbits_little(raw)


def test_pplx_embed_binary_end_to_end_in_dimension_order(api, home):
    from tests.platform_server import expected_embedding

    result = run_cli(api, "embed", "--encoding", "binary", "--dimensions", "128", "--no-meta", "hello")
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    bits = json.loads(line)["embedding"]
    assert bits == expected_embedding("hello", 128, "base64_binary")
    assert bits == [1 if v > 0 else 0 for v in expected_embedding("hello", 128)]  # bit k is dimension k's sign


def test_ask_and_log_show_list_the_sources_of_a_cancelled_run(api, home):
    body = recorded("agent_search_only.vercel.json")
    cancelled = dict(body, status="cancelled", usage=None, error={"code": "cancelled", "message": "the run was cancelled"},
                     output=[item for item in body["output"] if item["type"] != "message"])
    api.add(AGENT, json_reply(cancelled))
    asked = run_cli(api, "ask", "q", "--sources", "--no-meta")
    shown = run_cli(api, "log", "show", "--sources", "--no-meta")
    assert asked.returncode == shown.returncode == 1
    assert asked.stdout == shown.stdout and len(shown.stdout.decode().splitlines()) == 10
    assert shown.stderr.decode() == "pplx: note: there is no answer; the sources found are listed all the same\n"
    exported = run_cli(api, "log", "export").stdout.decode()
    assert "- [7] TypeScript: JavaScript With Syntax For Types. <https://www.typescriptlang.org/>\n" in exported
