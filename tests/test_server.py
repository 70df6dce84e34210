"""The fake Agent API itself (tests/server.py), over a real socket: the contract the CLI tests rely on."""

import json
import re
import time

import pytest
import requests

from tests.server import DEFAULT_USAGE, MODELS, AgentRun, BackgroundRun, Reply, json_reply, sse

AGENT = "/v1/responses"
KEY = "pplx-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
WORDS = ["Canberra ", "is ", "the ", "capital ", "of ", "Australia ", "[1]."]
TEXT = "Canberra is the capital of Australia [1]."
RESULTS = [
    {"id": 1, "url": "https://en.wikipedia.org/wiki/Canberra", "title": "Canberra - Wikipedia",
     "snippet": "Canberra is the capital city of Australia.", "date": "2001-10-12", "last_updated": "2026-09-30", "source": "web"},
    {"id": 2, "url": "https://www.britannica.com/place/Canberra", "title": "Canberra | History, Map, & Population",
     "snippet": "Canberra, federal capital of the Commonwealth of Australia.", "date": "1998-07-20",
     "last_updated": "2026-08-14", "source": "web"},
]
SEARCH_ITEM = {"type": "search_results", "queries": ["capital of Australia"], "results": RESULTS}
#: The event types of a default run, in the order the real service sends them.
DEFAULT_TYPES = (["response.created", "response.in_progress", "response.output_item.added", "response.reasoning.search_queries",
                  "response.reasoning.search_results", "response.output_item.done", "response.output_item.added"]
                 + ["response.output_text.delta"] * 7
                 + ["response.output_text.done", "response.output_item.done", "response.completed"])


def post(api, body, headers=AUTH, path=AGENT):
    """POST a JSON body (or raw bytes) to the fake."""
    if isinstance(body, bytes):
        return requests.post(api.url + path, data=body, headers=headers, timeout=10)
    return requests.post(api.url + path, json=body, headers=headers, timeout=10)


def events(response):
    """[(the event: line or None, the data object)] of an event stream body."""
    out = []
    for block in response.content.decode().split("\n\n"):
        if not block:
            continue
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        assert set(lines) <= {"event", "data"}, block
        out.append((lines.get("event"), json.loads(lines["data"])))
    return out


def stream(api, run=None, **fields):
    """The events of one streamed request (queueing ``run`` first); a field given as None is left out."""
    if run is not None:
        api.add(AGENT, run)
    body = {k: v for k, v in {"input": "q", "effort": "fast", "stream": True, **fields}.items() if v is not None}
    response = post(api, body)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "text/event-stream"
    return [data for _, data in events(response)]


def error(status, message, type="invalid_request", param=None):
    err = {"message": message, "type": type, "code": status}
    if param is not None:
        err["param"] = param
    return {"error": err}


# ---- request validation ----

REJECTED = {
    "unknown fields, first in sorted order": (
        {"input": "q", "zeta": 1, "top_k": 3}, 400, error(400, 'invalid request body: json: unknown field "top_k"', param="top_k")),
    "no input": ({"effort": "fast"}, 400, error(400, "validation failed: input cannot be empty")),
    "empty input": ({"input": ""}, 400, error(400, "validation failed: input cannot be empty")),
    "empty input list": ({"input": []}, 400, error(400, "validation failed: input cannot be empty")),
    "bare model name": ({"input": "q", "model": "sonar"}, 400, error(400, 'validation failed: model "sonar" is not supported')),
    "bare name in models": ({"input": "q", "models": ["perplexity/sonar", "sonar-pro"]}, 400,
                            error(400, 'validation failed: model "sonar-pro" is not supported')),
    "six models": ({"input": "q", "models": ["openai/gpt-5.1"] * 6}, 400,
                   error(400, "validation failed: models must be a list of at most 5 model ids")),
    "anthropic model without max_output_tokens": (
        {"input": "q", "model": "anthropic/claude-sonnet-4-5"}, 400,
        error(400, "validation failed: max_output_tokens is required for anthropic models")),
    "anthropic fallback without max_output_tokens": (
        {"input": "q", "models": ["openai/gpt-5.1", "anthropic/claude-sonnet-4-5"]}, 400,
        error(400, "validation failed: max_output_tokens is required for anthropic models")),
    "unknown effort": ({"input": "q", "effort": "turbo"}, 400, error(400, 'validation failed: effort "turbo" is not supported')),
    "empty pin": ({"input": "q", "effort": "fast@"}, 400, error(400, 'validation failed: effort "fast@" is not supported')),
    "old preset name as effort": ({"input": "q", "effort": "pro-search"}, 400,
                                  error(400, 'validation failed: effort "pro-search" is not supported')),
    "unknown preset": ({"input": "q", "preset": "turbo"}, 400, error(400, 'validation failed: preset "turbo" is not supported')),
    "unknown previous response": ({"input": "q", "previous_response_id": "resp_nope"}, 400,
                                  error(400, "invalid request", param="previous_response_id")),
    "not a JSON object": (b"[1, 2]", 400, error(400, "invalid request body: not a JSON object")),
}


@pytest.mark.parametrize("path", [AGENT, "/v1/agent"])
@pytest.mark.parametrize("name", list(REJECTED))
def test_invalid_request_is_rejected_before_any_queued_reply(api, name, path):
    body, status, expected = REJECTED[name]
    queued = api.add(path, AgentRun())
    response = post(api, body, path=path)
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == expected
    assert response.headers["x-ratelimit-used"] == "1"
    assert api.routes[path] == [queued]
    assert api.responses == {}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer "}, {"Authorization": KEY}, {"Authorization": f"Basic {KEY}"}])
def test_a_request_without_a_bearer_key_is_401(api, headers):
    response = post(api, {"input": "q", "bogus": 1}, headers=headers)  # the key is checked first
    assert response.status_code == 401
    assert response.json() == {"error": {"message": "Invalid API key", "type": "invalid_api_key", "code": 401}}
    assert "x-ratelimit-used" not in response.headers


ACCEPTED = [
    {"input": "q"},
    {"input": [{"role": "user", "content": "q"}], "effort": "fast@2026-10-16.0"},
    {"input": "q", "preset": "pro-search"},
    {"input": "q", "preset": "xhigh"},
    {"input": "q", "model": "anthropic/claude-sonnet-4-5", "max_output_tokens": 100},
    {"input": "q", "models": ["openai/gpt-5.1", "google/gemini-2.5-pro", "xai/grok-4", "perplexity/sonar", "openai/gpt-5-mini"]},
    {"input": "q", "profile": {"type": "custom", "id": "profile_1"}, "instructions": "s", "reasoning": {"effort": "high"},
     "tools": [{"type": "web_search"}], "tool_choice": "auto",
     "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}},
     "stream": False, "background": False, "store": False, "temperature": 0.5, "top_p": 0.5, "language_preference": "fr", "max_steps": 3,
     "max_tool_calls": 2, "prompt_cache_key": "k", "service_tier": "auto"},
]


@pytest.mark.parametrize("body", ACCEPTED)
def test_valid_requests_are_answered(api, body):
    response = post(api, body)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "completed"


def test_strict_off_lets_nonsense_through_to_the_queued_reply(api):
    api.strict = False
    api.add(AGENT, json_reply({"ok": True}))
    response = post(api, {"top_k": 3, "model": "sonar"}, headers={})
    assert response.status_code == 200
    assert response.json() == {"ok": True}


# ---- a streamed run ----

def test_streamed_run_in_the_real_order(api):
    response = post(api, {"input": "q", "effort": "fast", "stream": True})
    assert response.status_code == 200
    framed = events(response)
    got = [data for _, data in framed]
    assert [event for event, _ in framed] == DEFAULT_TYPES
    assert [e["type"] for e in got] == DEFAULT_TYPES
    assert [e["sequence_number"] for e in got] == list(range(17))
    rid = got[0]["response"]["id"]
    assert re.fullmatch(r"resp_[0-9a-f-]{36}", rid)
    assert response.headers["x-request-id"] == rid.removeprefix("resp_")
    progress = {"id": rid, "object": "response", "created_at": got[0]["response"]["created_at"], "completed_at": None,
                "status": "in_progress", "background": False, "store": True, "model": "fast", "error": None,
                "incomplete_details": None, "output": [], "usage": None}
    assert got[0]["response"] == got[1]["response"] == progress
    call = got[2]["item"]
    assert got[2] == {"type": "response.output_item.added", "sequence_number": 2, "output_index": 0, "item": {
        "type": "function_call", "id": call["id"], "call_id": call["call_id"], "name": "search_web",
        "arguments": '{"queries":["capital of Australia"]}', "status": "completed"}}
    assert call["id"].startswith("fc_") and call["call_id"].startswith("call_")
    assert got[3] == {"type": "response.reasoning.search_queries", "sequence_number": 3, "call_id": call["call_id"],
                      "queries": ["capital of Australia"], "thought": "Searching the web..."}
    assert got[4] == {"type": "response.reasoning.search_results", "sequence_number": 4, "call_id": call["call_id"],
                      "results": RESULTS, "thought": "Found 2 results"}
    assert got[5] == {"type": "response.output_item.done", "sequence_number": 5, "output_index": 0, "item": SEARCH_ITEM}
    mid = got[6]["item"]["id"]
    assert mid.startswith("msg_")
    assert got[6] == {"type": "response.output_item.added", "sequence_number": 6, "output_index": 1,
                      "item": {"type": "message", "id": mid, "role": "assistant", "content": None}}
    assert got[7:14] == [{"type": "response.output_text.delta", "sequence_number": 7 + i, "item_id": mid, "output_index": 1,
                          "content_index": 0, "delta": word} for i, word in enumerate(WORDS)]
    assert got[14] == {"type": "response.output_text.done", "sequence_number": 14, "item_id": mid, "output_index": 1,
                       "content_index": 0, "text": TEXT}
    message = {"type": "message", "id": mid, "role": "assistant", "status": "completed",
               "content": [{"type": "output_text", "text": TEXT, "annotations": []}]}
    assert got[15] == {"type": "response.output_item.done", "sequence_number": 15, "output_index": 1, "item": message}
    final = got[16]["response"]
    assert final == {**progress, "status": "completed", "completed_at": final["completed_at"], "model": "openai/gpt-5.1",
                     "output": [SEARCH_ITEM, message], "usage": DEFAULT_USAGE}
    assert final["created_at"] <= final["completed_at"] <= time.time()
    assert api.responses == {rid: {"response": final, "request": {"input": "q", "effort": "fast", "stream": True}}}


def test_without_event_lines_only_data_lines_are_sent(api):
    api.add(AGENT, AgentRun(event_lines=False))
    response = post(api, {"input": "q", "stream": True})
    assert b"event:" not in response.content
    framed = events(response)
    assert [event for event, _ in framed] == [None] * 17
    assert [data["type"] for _, data in framed] == DEFAULT_TYPES


def test_sequence_numbers_rise_with_gaps(api):
    numbers = [e["sequence_number"] for e in stream(api, AgentRun(seq_gaps=True))]
    assert numbers == [0, 1, 3, 4, 5, 7, 8, 9, 11, 12, 13, 15, 16, 17, 19, 20, 21]


def test_unknown_events_are_spread_through_the_stream(api):
    got = stream(api, AgentRun(unknown_events=3))
    assert [e["type"] for e in got] == (DEFAULT_TYPES[:6] + ["response.skill.loaded"] + DEFAULT_TYPES[6:9] + ["response.plan.updated"]
                                        + DEFAULT_TYPES[9:12] + ["response.skill.loaded"] + DEFAULT_TYPES[12:])
    assert [e["sequence_number"] for e in got] == list(range(20))
    assert got[6] == {"type": "response.skill.loaded", "sequence_number": 6, "skill": {"name": "web-research", "version": "3"}}
    assert got[10] == {"type": "response.plan.updated", "sequence_number": 10, "plan": ["search", "answer"]}


def test_deltas_in_n_nearly_equal_pieces(api):
    deltas = [e["delta"] for e in stream(api, AgentRun(deltas=3)) if e["type"] == "response.output_text.delta"]
    assert deltas == ["Canberra is th", "e capital of A", "ustralia [1]."]  # 41 characters


def test_dropped_deltas_leave_a_gap_and_the_whole_text_in_done(api):
    got = stream(api, AgentRun(drop_deltas={0, 3}))
    deltas = [e for e in got if e["type"] == "response.output_text.delta"]
    assert [d["delta"] for d in deltas] == ["is ", "the ", "of ", "Australia ", "[1]."]
    assert [d["sequence_number"] for d in deltas] == [8, 9, 11, 12, 13]
    assert next(e["text"] for e in got if e["type"] == "response.output_text.done") == TEXT


def test_search_ids_are_kept_as_given_and_fetches_follow_searches(api):
    later = [{**RESULTS[0], "id": n} for n in range(11, 21)]
    first = [{**RESULTS[1], "id": n} for n in range(1, 11)]
    contents = [{"url": "https://example.org/a", "title": "A", "content": "Page A."}]
    run = AgentRun(searches=[{"queries": ["one"], "results": later}, {"queries": ["two", "three"], "results": first}],
                   fetches=[{"urls": ["https://example.org/a"], "contents": contents}])
    got = stream(api, run)
    searched = [e for e in got if e["type"] == "response.reasoning.search_results"]
    assert [[r["id"] for r in e["results"]] for e in searched] == [list(range(11, 21)), list(range(1, 11))]
    assert got[6]["item"]["arguments"] == '{"queries":["two","three"]}'
    fetch = got[10:13]
    assert [e["type"] for e in fetch] == ["response.reasoning.fetch_url_queries", "response.reasoning.fetch_url_results",
                                          "response.output_item.done"]
    assert fetch[0]["urls"] == ["https://example.org/a"] and fetch[0]["call_id"] == fetch[1]["call_id"]
    assert fetch[1]["contents"] == contents
    assert fetch[2]["output_index"] == 2 and fetch[2]["item"] == {"type": "fetch_url_results", "contents": contents}
    assert got[13]["item"]["type"] == "message" and got[13]["output_index"] == 3
    output = got[-1]["response"]["output"]
    assert [item["type"] for item in output] == ["search_results", "search_results", "fetch_url_results", "message"]


@pytest.mark.parametrize("body, progress, final", [
    ({"model": "perplexity/sonar"}, "perplexity/sonar", "perplexity/sonar"),
    ({"models": ["xai/grok-4", "openai/gpt-5.1"]}, "xai/grok-4", "xai/grok-4"),
    ({"preset": "pro-search"}, "pro-search", "openai/gpt-5.1"),
    ({"effort": "high", "preset": "low"}, "high", "openai/gpt-5.1"),  # effort wins over preset
])
def test_model_in_progress_is_what_was_sent_and_the_answering_one_at_the_end(api, body, progress, final):
    got = stream(api, None, **{"effort": None, **body})  # only what the case sends
    assert got[0]["response"]["model"] == got[1]["response"]["model"] == progress
    assert got[-1]["response"]["model"] == final


def test_the_answering_model_can_be_set(api):
    got = stream(api, AgentRun(model="anthropic/claude-sonnet-4-5"))
    assert (got[0]["response"]["model"], got[-1]["response"]["model"]) == ("fast", "anthropic/claude-sonnet-4-5")


# ---- terminal states ----

def test_failed_stream_ends_with_a_top_level_error(api):
    got = stream(api, AgentRun(status="failed", error="upstream model failed"))
    assert [e["type"] for e in got] == DEFAULT_TYPES[:14] + ["response.failed"]
    assert got[-1] == {"type": "response.failed", "sequence_number": 14,
                       "error": {"message": "upstream model failed", "type": "internal_error", "code": 500}}
    assert api.responses == {}


@pytest.mark.parametrize("flat, last", [
    (False, {"type": "error", "sequence_number": 14, "error": {"message": "overloaded", "type": "internal_error", "code": 500}}),
    (True, {"type": "error", "sequence_number": 14, "message": "overloaded", "code": 500}),
])
def test_error_event_in_either_shape(api, flat, last):
    got = stream(api, AgentRun(status="error", error="overloaded", flat_error=flat))
    assert [e["type"] for e in got] == DEFAULT_TYPES[:14] + ["error"]
    assert got[-1] == last


def test_incomplete_with_no_text_has_no_message_item(api):
    got = stream(api, AgentRun(status="incomplete", incomplete_reason="max_output_tokens", text=""))
    assert [e["type"] for e in got] == DEFAULT_TYPES[:6] + ["response.incomplete"]
    final = got[-1]["response"]
    assert (final["status"], final["incomplete_details"], final["error"]) == ("incomplete", {"reason": "max_output_tokens"}, None)
    assert final["output"] == [SEARCH_ITEM] and final["usage"] == DEFAULT_USAGE
    assert final["completed_at"] is None
    assert api.responses == {}


@pytest.mark.parametrize("status", ["cancelled", "requires_action"])
def test_other_terminal_states_carry_the_whole_response(api, status):
    got = stream(api, AgentRun(status=status))
    assert [e["type"] for e in got] == DEFAULT_TYPES[:-1] + [f"response.{status}"]
    final = got[-1]["response"]
    assert final["status"] == status and [i["type"] for i in final["output"]] == ["search_results", "message"]
    if status == "cancelled":
        assert final["error"] == {"message": "the run was cancelled", "type": "cancelled", "code": "cancelled"}
        assert final["usage"] is None
    else:
        assert final["error"] is None and final["usage"] == DEFAULT_USAGE
    assert api.responses == {}


# ---- a JSON body ----

def test_non_streamed_run_is_the_final_response_as_json(api):
    api.add(AGENT, AgentRun(id="resp_0123"))
    response = post(api, {"input": "q", "effort": "fast", "store": False})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert int(response.headers["Content-Length"]) == len(response.content)
    assert response.headers["x-request-id"] == "0123"
    body = response.json()
    mid = body["output"][1]["id"]
    assert body == {"id": "resp_0123", "object": "response", "created_at": body["created_at"], "completed_at": body["completed_at"],
                    "status": "completed", "background": False, "store": False, "model": "openai/gpt-5.1", "error": None,
                    "incomplete_details": None, "usage": DEFAULT_USAGE,
                    "output": [SEARCH_ITEM, {"type": "message", "id": mid, "role": "assistant", "status": "completed",
                                             "content": [{"type": "output_text", "text": TEXT, "annotations": []}]}]}
    assert api.responses == {}  # store: false


@pytest.mark.parametrize("run, status, error", [
    (AgentRun(status="failed", error="quota"), "failed", {"message": "quota", "type": "internal_error", "code": 500}),
    (AgentRun(status="cancelled"), "cancelled", {"message": "the run was cancelled", "type": "cancelled", "code": "cancelled"}),
    (AgentRun(status="incomplete", text=""), "incomplete", None),
])
def test_unfinished_runs_are_http_200_with_their_status(api, run, status, error):
    api.add(AGENT, run)
    body = post(api, {"input": "q"}).json()
    assert (body["status"], body["error"]) == (status, error)


def test_a_non_streamed_error_run_is_an_http_error(api):
    api.add(AGENT, AgentRun(status="error", error={"message": "bad gateway", "type": "bad_gateway", "code": 502}))
    response = post(api, {"input": "q"})
    assert response.status_code == 502
    assert response.json() == {"error": {"message": "bad gateway", "type": "bad_gateway", "code": 502}}


# ---- transport ----

@pytest.mark.parametrize("framing", ["chunked", "close", "length"])
def test_framings_and_extra_headers(api, framing):
    api.add(AGENT, AgentRun(framing=framing, headers={"x-extra": "1"}))
    response = post(api, {"input": "q", "stream": True})
    assert [data["type"] for _, data in events(response)] == DEFAULT_TYPES
    assert response.headers["x-extra"] == "1"
    assert ("Transfer-Encoding" in response.headers) == (framing == "chunked")
    assert ("Content-Length" in response.headers) == (framing == "length")


def test_drop_after_ends_the_connection_mid_stream(api):
    run = api.add(AGENT, AgentRun(framing="close", drop_after=3, delay=0.01))
    response = post(api, {"input": "q", "stream": True})
    assert [data["type"] for _, data in events(response)] == DEFAULT_TYPES[:3]
    assert len(run.sent_at) == 3


# ---- rate limits ----

def test_rate_limit_headers_count_down(api):
    api.ratelimit = {"limit": 3, "used": 0, "reset": 1791572841}
    seen = []
    for body in ({"input": "q"}, {"input": "q", "stream": True}, {"input": ""}, {"input": "q"}):
        h = post(api, body).headers
        seen.append([h["x-ratelimit-limit"], h["x-ratelimit-remaining"], h["x-ratelimit-reset"], h["x-ratelimit-used"]])
    assert seen == [["3", "2", "1791572841", "1"], ["3", "1", "1791572841", "2"], ["3", "0", "1791572841", "3"],
                    ["3", "0", "1791572841", "4"]]


def test_rate_limit_reset_defaults_to_a_minute_ahead(api):
    reset = int(post(api, {"input": "q"}).headers["x-ratelimit-reset"])
    assert time.time() + 55 < reset <= time.time() + 61


# ---- previous_response_id ----

def test_previous_response_id_only_after_a_stored_completed_run(api):
    api.add(AGENT, AgentRun(id="resp_failed", status="failed"), AgentRun(id="resp_unstored"),
            AgentRun(id="resp_first"), AgentRun(id="resp_second"))
    assert post(api, {"input": "q"}).json()["status"] == "failed"
    assert post(api, {"input": "q", "store": False}).status_code == 200
    for rid in ("resp_failed", "resp_unstored"):
        rejected = post(api, {"input": "again", "previous_response_id": rid})
        assert rejected.json() == error(400, "invalid request", param="previous_response_id")
    assert post(api, {"input": "first", "store": True}).json()["id"] == "resp_first"
    second = post(api, {"input": "second", "effort": "low", "previous_response_id": "resp_first"})
    assert second.status_code == 200 and second.json()["id"] == "resp_second"
    assert list(api.responses) == ["resp_first", "resp_second"]
    assert api.responses["resp_second"]["request"] == {"input": "second", "effort": "low", "previous_response_id": "resp_first"}
    assert api.responses["resp_first"]["response"]["output"][1]["content"][0]["text"] == TEXT


# ---- models ----

def test_models_list_needs_the_key(api):
    response = requests.get(api.url + "/v1/models", headers=AUTH, timeout=10)
    assert response.status_code == 200
    assert response.json() == {"object": "list", "data": MODELS}
    assert response.json()["data"][0] == {"id": "perplexity/sonar", "object": "model", "created": 0, "owned_by": "perplexity",
                                          "pricing": {"input": 0.25, "output": 2.5, "cache_read": 0.0625, "unit": "usd_per_1m_tokens"}}
    assert {m["owned_by"] for m in MODELS} == {"perplexity", "openai", "anthropic", "google", "xai"}
    denied = requests.get(api.url + "/v1/models", timeout=10)
    assert denied.status_code == 401
    assert denied.json() == {"error": {"message": "Invalid API key", "type": "invalid_api_key", "code": 401}}


def test_models_list_can_be_replaced_or_queued(api):
    api.models = [{"id": "x/y", "object": "model", "created": 0, "owned_by": "x", "pricing": {}}]
    assert requests.get(api.url + "/v1/models", headers=AUTH, timeout=10).json() == {"object": "list", "data": api.models}
    api.add("/v1/models", json_reply({"error": {"message": "busy"}}, 503))
    assert requests.get(api.url + "/v1/models", headers=AUTH, timeout=10).status_code == 503


# ---- what existed before still works ----

def test_queued_replies_default_run_and_404(api):
    assert post(api, {"input": "q"}).json()["status"] == "completed"  # nothing queued: a default run
    api.add(AGENT, Reply(parts=[sse({"type": "x"})]), Reply(parts=[sse({"type": "y"})], framing="close"))
    assert [post(api, {"input": "q"}).content for _ in range(3)] == [b'data: {"type":"x"}\n\n'] + [b'data: {"type":"y"}\n\n'] * 2
    api.add("/v1/responses/resp_1", json_reply({"id": "resp_1"}))
    assert requests.get(api.url + "/v1/responses/resp_1?stream=true", timeout=10).json() == {"id": "resp_1"}
    missing = requests.get(api.url + "/elsewhere", timeout=10)
    assert missing.status_code == 404
    assert missing.json() == {"error": {"message": "no route /elsewhere", "type": "not_found"}}
    assert api.paths() == [AGENT] * 4 + ["/v1/responses/resp_1?stream=true", "/elsewhere"]
    assert api.requests[0]["body"] == {"input": "q"} and api.requests[0]["headers"]["Authorization"] == f"Bearer {KEY}"


def test_a_run_repeats_with_a_fresh_id_each_time(api):
    run = AgentRun()
    api.add(AGENT, run)
    ids = [post(api, {"input": "q"}).json()["id"] for _ in range(2)]
    assert ids[0] != ids[1]
    assert list(api.responses) == ids


# ---- background runs ----

BACKGROUND = {"input": "q", "effort": "fast", "background": True, "store": True}
#: 500 words; as 500 deltas, 510 events in all.
LONG = " ".join(f"word{i}" for i in range(500))
NOT_FOUND = {"error": {"message": "resource not found", "type": "not_found", "code": 404}}
TERMINAL_ALREADY = error(400, "the run is already terminal and cannot be cancelled")
CANCELLED = {"message": "the run was cancelled", "type": "cancelled", "code": "cancelled"}


def get(api, path, headers=AUTH, **kw):
    return requests.get(api.url + path, headers=headers, timeout=10, **kw)


def unfinished(rid, status, created_at):
    """A poll's view of a run still queued or in progress (no output, no usage, the effort as model)."""
    return {"id": rid, "object": "response", "created_at": created_at, "completed_at": None, "status": status, "background": True,
            "store": True, "model": "fast", "error": None, "incomplete_details": None, "output": [], "usage": None}


def message(text, status="completed", mid=None):
    return {"type": "message", "id": mid, "role": "assistant", "status": status,
            "content": [{"type": "output_text", "text": text, "annotations": []}]}


def data_events(lines, count=None):
    """The data objects of the next ``count`` events (all, with None) from an iter_lines() iterator."""
    out = []
    for line in lines:
        if line.startswith(b"data: "):
            out.append(json.loads(line[len(b"data: "):]))
            if len(out) == count:
                break
    return out


def follow(api, body):
    """A client that survives dropped connections: it resumes after the last sequence_number it saw."""
    response = requests.post(api.url + AGENT, json=body, headers=AUTH, stream=True, timeout=10)
    seen = []
    while True:
        try:
            for line in response.iter_lines():
                if line.startswith(b"data: "):
                    seen.append(json.loads(line[len(b"data: "):]))
            return seen
        except requests.exceptions.ChunkedEncodingError:  # dropped mid-body
            rid, last = seen[0]["response"]["id"], seen[-1]["sequence_number"]
            response = get(api, f"{AGENT}/{rid}?stream=true&starting_after={last}", stream=True)


def test_a_background_request_is_answered_queued_at_once(api):
    api.add(AGENT, BackgroundRun(run=AgentRun(id="resp_bg"), duration=None))
    response = post(api, BACKGROUND)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["x-request-id"] == "bg"
    body = response.json()
    assert body == unfinished("resp_bg", "queued", body["created_at"])
    assert time.time() - 5 < body["created_at"] <= time.time()
    assert list(api.runs) == ["resp_bg"] and api.runs["resp_bg"].status() == "queued"
    assert api.responses == {}


def test_polls_see_it_queued_then_in_progress_then_done(api):
    api.add(AGENT, BackgroundRun(polls_until_done=3, retry_after=2))
    rid = post(api, BACKGROUND).json()["id"]
    polls = [get(api, f"{AGENT}/{rid}") for _ in range(4)]
    assert [p.status_code for p in polls] == [200] * 4
    assert [p.headers.get("Retry-After") for p in polls] == ["2", "2", None, None]
    bodies = [p.json() for p in polls]
    assert bodies[0] == unfinished(rid, "queued", bodies[0]["created_at"])
    assert bodies[1] == unfinished(rid, "in_progress", bodies[1]["created_at"])
    final = bodies[2]
    mid = final["output"][1]["id"]
    assert final == {**unfinished(rid, "completed", final["created_at"]), "completed_at": final["completed_at"],
                     "model": "openai/gpt-5.1", "output": [SEARCH_ITEM, message(TEXT, mid=mid)], "usage": DEFAULT_USAGE}
    assert bodies[3] == final == api.runs[rid].final
    assert api.runs[rid].polls == 4
    assert api.paths() == [AGENT] + [f"{AGENT}/{rid}"] * 4


def test_a_run_moves_on_the_servers_clock(api):
    now = [100.0]
    api.clock = lambda: now[0]
    api.add(AGENT, BackgroundRun(duration=10, queued_for=2))
    rid = post(api, BACKGROUND).json()["id"]
    state = api.runs[rid]
    seen = []
    for t in (101.0, 107.0, 111.9, 112.0, 500.0):
        now[0] = t
        seen.append((get(api, f"{AGENT}/{rid}").json()["status"], state.released()))
    assert seen == [("queued", 0), ("in_progress", 8), ("in_progress", 16), ("completed", 17), ("completed", 17)]


def test_the_request_decides_background_and_the_queued_item_how_it_goes(api):
    assert post(api, {"input": "q"}).json()["status"] == "completed"  # nothing queued, in the foreground
    queued = post(api, BACKGROUND).json()  # nothing queued: a default run, done at once
    assert queued["status"] == "queued"
    assert get(api, f"{AGENT}/{queued['id']}").json()["status"] == "completed"
    api.add(AGENT, BackgroundRun(run=AgentRun(id="resp_fg", status="incomplete"), duration=None))
    foreground = post(api, {"input": "q"}).json()  # a BackgroundRun asked for in the foreground is its plain run
    assert (foreground["id"], foreground["status"], foreground["background"]) == ("resp_fg", "incomplete", False)
    assert list(api.runs) == [queued["id"]]


def test_get_of_an_unknown_or_unstored_response_is_404(api):
    api.add(AGENT, AgentRun(id="resp_unstored"), AgentRun(id="resp_stored"))
    post(api, {"input": "q", "store": False})
    stored = post(api, {"input": "q"}).json()
    for rid in ("resp_nope", "resp_unstored"):
        response = get(api, f"{AGENT}/{rid}")
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
        assert get(api, f"{AGENT}/{rid}?stream=true&starting_after=0").json() == NOT_FOUND
    assert get(api, f"{AGENT}/resp_stored").json() == stored == api.responses["resp_stored"]["response"]
    streamed = get(api, f"{AGENT}/resp_stored?stream=true")  # only a background run keeps its events
    assert (streamed.status_code, streamed.json()) == (400, error(400, "only background responses can be streamed"))


def test_run_paths_need_the_key(api):
    rid = post(api, BACKGROUND).json()["id"]
    for response in (get(api, f"{AGENT}/{rid}", headers={}), requests.post(f"{api.url}{AGENT}/{rid}/cancel", timeout=10)):
        assert (response.status_code, response.json()) == (401, error(401, "Invalid API key", "invalid_api_key"))


@pytest.mark.parametrize("duration", [0.0, 0.5])  # resumed after the run finished; resumed while it goes on
def test_a_dropped_stream_is_resumed_after_the_last_event_seen(api, duration):
    run = AgentRun(text=LONG, deltas=500)
    api.add(AGENT, BackgroundRun(run=run, duration=duration, drops=[100, 250, 400]))
    started = time.monotonic()
    got = follow(api, {**BACKGROUND, "stream": True})
    assert time.monotonic() - started >= duration
    assert [e["sequence_number"] for e in got] == list(range(510))  # every event exactly once
    assert "".join(e["delta"] for e in got if e["type"] == "response.output_text.delta") == LONG
    rid = got[0]["response"]["id"]
    assert got[-1] == {"type": "response.completed", "sequence_number": 509, "response": api.runs[rid].final}
    assert got[-1]["response"]["output"][1]["content"][0]["text"] == LONG
    assert api.paths() == [AGENT] + [f"{AGENT}/{rid}?stream=true&starting_after={n}" for n in (99, 249, 399)]
    assert api.runs[rid].connections == 4
    assert len(run.sent_at) == 510  # nothing was sent twice


def test_drops_count_events_and_cursors_are_sequence_numbers(api):
    api.add(AGENT, BackgroundRun(run=AgentRun(seq_gaps=True), drops=[5]))
    got = follow(api, {**BACKGROUND, "stream": True})
    assert [e["sequence_number"] for e in got] == [0, 1, 3, 4, 5, 7, 8, 9, 11, 12, 13, 15, 16, 17, 19, 20, 21]
    assert api.paths()[1:] == [f"{AGENT}/{got[0]['response']['id']}?stream=true&starting_after=5"]


def test_a_finished_runs_events_can_be_replayed_from_any_cursor(api):
    rid = post(api, {**BACKGROUND, "stream": True}).headers["x-request-id"]
    rid = f"resp_{rid}"
    everything = get(api, f"{AGENT}/{rid}?stream=true")
    assert everything.headers["Content-Type"] == "text/event-stream"
    assert [e["type"] for _, e in events(everything)] == DEFAULT_TYPES
    tail = [e for _, e in events(get(api, f"{AGENT}/{rid}?stream=true&starting_after=13"))]
    assert tail == [e for _, e in events(everything)][14:]
    assert [e["sequence_number"] for e in tail] == [14, 15, 16]
    assert get(api, f"{AGENT}/{rid}?stream=true&starting_after=16").content == b""
    assert get(api, f"{AGENT}/{rid}?stream=false").json() == api.runs[rid].final  # a poll, not a stream


def test_an_expired_cursor_is_400(api):
    api.add(AGENT, BackgroundRun(run=AgentRun(id="resp_old"), cursor_expires=10))
    post(api, BACKGROUND)
    expired = error(400, "starting_after cursor expired", param="starting_after")
    for query in ("stream=true&starting_after=9", "stream=true"):
        response = get(api, f"{AGENT}/resp_old?{query}")
        assert (response.status_code, response.json()) == (400, expired)
    assert [e["sequence_number"] for _, e in events(get(api, f"{AGENT}/resp_old?stream=true&starting_after=10"))] == [11, 12, 13, 14, 15, 16]
    bad = get(api, f"{AGENT}/resp_old?stream=true&starting_after=x")
    assert (bad.status_code, bad.json()) == (400, error(400, "starting_after must be an integer", param="starting_after"))


def test_cancel_while_running_then_polls_show_it_cancelled(api):
    api.add(AGENT, BackgroundRun(polls_until_done=5))
    rid = post(api, BACKGROUND).json()["id"]
    assert [get(api, f"{AGENT}/{rid}").json()["status"] for _ in range(3)] == ["queued", "in_progress", "in_progress"]
    cancelled = requests.post(f"{api.url}{AGENT}/{rid}/cancel", headers=AUTH, timeout=10)
    assert (cancelled.status_code, cancelled.json()) == (200, {"response_id": rid, "status": "cancelling"})
    poll = get(api, f"{AGENT}/{rid}").json()
    mid = poll["output"][1]["id"]
    assert poll == {**unfinished(rid, "cancelled", poll["created_at"]), "model": "openai/gpt-5.1", "error": CANCELLED,
                    "output": [SEARCH_ITEM, message("Canberra ", "incomplete", mid)]}  # 8 of 17 events had happened
    again = requests.post(f"{api.url}{AGENT}/{rid}/cancel", headers=AUTH, timeout=10)
    assert (again.status_code, again.json()) == (400, TERMINAL_ALREADY)


def test_a_live_stream_gets_events_as_they_happen_and_ends_cancelled(api):
    api.add(AGENT, BackgroundRun(duration=None))  # only advance() moves it
    response = requests.post(api.url + AGENT, json={**BACKGROUND, "stream": True}, headers=AUTH, stream=True, timeout=10)
    lines = response.iter_lines()
    rid = "resp_" + response.headers["x-request-id"]
    api.runs[rid].advance(9)
    first = data_events(lines, 9)
    assert [e["type"] for e in first] == DEFAULT_TYPES[:9]
    assert requests.post(f"{api.url}{AGENT}/{rid}/cancel", headers=AUTH, timeout=10).json() == {"response_id": rid, "status": "cancelling"}
    rest = data_events(lines)
    assert [(e["type"], e["sequence_number"]) for e in rest] == [("response.cancelled", 9)]
    final = rest[0]["response"]
    assert (final["status"], final["error"], final["usage"]) == ("cancelled", CANCELLED, None)
    assert final["output"] == [SEARCH_ITEM, message("Canberra is ", "incomplete", first[6]["item"]["id"])]
    assert get(api, f"{AGENT}/{rid}").json() == final


def test_cancel_of_a_finished_or_unknown_run_is_400(api):
    api.add(AGENT, AgentRun(id="resp_done"))
    post(api, BACKGROUND)
    post(api, {"input": "q"})  # the same id, stored in the foreground: also over
    for rid in ("resp_done", "resp_nope"):
        response = requests.post(f"{api.url}{AGENT}/{rid}/cancel", headers=AUTH, timeout=10)
        assert (response.status_code, response.json()) == (400, TERMINAL_ALREADY)
    assert api.runs["resp_done"].status() == "completed"


def test_background_without_store_is_400(api):
    queued = api.add(AGENT, BackgroundRun())
    response = post(api, {**BACKGROUND, "store": False})
    assert (response.status_code, response.json()) == (400, error(400, "background requires store"))
    assert api.routes[AGENT] == [queued] and api.runs == {}


def test_a_background_run_can_be_continued_once_completed(api):
    api.add(AGENT, BackgroundRun(run=AgentRun(id="resp_first"), duration=None), AgentRun())
    post(api, BACKGROUND)
    early = post(api, {"input": "more", "previous_response_id": "resp_first"})
    assert early.json() == error(400, "invalid request", param="previous_response_id")
    api.runs["resp_first"].advance()
    assert post(api, {"input": "more", "previous_response_id": "resp_first"}).json()["status"] == "completed"
