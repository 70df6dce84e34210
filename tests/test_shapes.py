"""Responses of any shape: pplx prints what it can read, raises only its own errors, and
every JSON it writes (metadata, history columns, ``log --json``) is valid JSON.

Random JSON values, real events and bodies with values replaced by ones of another type
(or by raw JSON Python reads but JSON forbids: NaN, Infinity, 1e999), and nesting too deep
to parse, go through both dialects, streamed and not, then an AnswerWriter and the history.
"""

import copy
import io
import json
import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pplx_cli import jsonsafe
from pplx_cli.dialects.citations import source_lines
from pplx_cli.wire.bodies import describe_body
from pplx_cli.errors import PplxError, StreamError
from pplx_cli.store.history import History, decode_record
from pplx_cli.output.writer import AnswerWriter
from pplx_cli.dialects.pieces import TEXT, WARNING
from pplx_cli.dialects.stream import PieceStream, body_pieces, detect_dialect
from pplx_cli.wire.bodies import error_message
from pplx_cli.wire.sse import iter_sse
from tests.conftest import FIXTURES
from tests.server import sse

# 250 examples a test: the shapes that broke pplx before were found within the first hundred;
# HYPOTHESIS_EXAMPLES=5000 (say) searches longer, outside the suite's time budget
SETTINGS = settings(max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "250")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])


def strict_loads(text):
    """json.loads that refuses NaN and Infinity, as every JSON reader but Python's does."""
    def refuse(name):
        raise AssertionError(f"{name} in written JSON")

    return json.loads(text, parse_constant=refuse)


# ---- realistic material to damage ----


def fixture_events(name):
    """A transcript's events: decoded, or their data as it is (``[DONE]``)."""
    return [e.data if e.data == "[DONE]" else json.loads(e.data) for e in iter_sse([(FIXTURES / name).read_bytes()])]


def agent_event(kind, **fields):
    return {"type": kind, "sequence_number": 1, **fields}


RESULTS = [{"id": 1, "url": "https://example.org/a", "title": "A", "snippet": "a", "date": "2026-01-01", "source": "web"},
           {"id": 31, "url": "https://example.org/b", "title": "B", "snippet": "b"}]
AGENT_BODY = {
    "id": "resp_1", "object": "response", "created_at": 1790374547, "status": "completed", "model": "openai/gpt-6-luna",
    "error": None, "incomplete_details": None,
    "output": [{"type": "search_results", "queries": ["q"], "results": RESULTS},
               {"type": "fetch_url_results", "contents": [{"url": "https://example.org/f", "title": "F"}]},
               {"type": "function_call", "name": "search_web", "arguments": "{}"},
               {"type": "message", "id": "msg_1", "role": "assistant",
                "content": [{"type": "output_text", "text": "An answer [1][31] [web:0].", "annotations": []}]}],
    "usage": {"input_tokens": 3007, "output_tokens": 36, "total_tokens": 3043,
              "input_tokens_details": {"cached_tokens": 1780}, "output_tokens_details": {"reasoning_tokens": 0},
              "cost": {"currency": "USD", "input_cost": 0, "output_cost": 0.00002, "total_cost": 0.00119}},
}
#: The other tools' items (tests/tools_server.py), after the message so that the indices above hold.
TOOL_ITEMS = [
    {"type": "sandbox_results", "call_id": "c1", "code": "print(1)", "language": "python", "status": "completed",
     "container_id": "k", "results": [{"status": "completed", "exit_code": 0, "stdout": "1\n", "stderr": "", "duration_ms": 5}]},
    {"type": "share_file", "call_id": "c2", "file_id": "f1", "filename": "a.png", "size_bytes": 9, "url": "/v1/x"},
    {"type": "image_search_results", "queries": ["q"], "results": [
        {"image_url": "https://example.org/i.png", "origin_url": "https://example.org/p", "title": "I", "width": 1, "height": 2}]},
    {"type": "people_search_results", "queries": ["who"], "results": [{"id": 40, "url": "https://example.org/who", "title": "W"}]},
    {"type": "finance_results", "categories": ["quote"], "tickers": ["X"], "results": [
        {"category": "quote", "content": "1", "tickers": ["X"], "sources": ["https://example.org/q", {"url": "https://example.org/r"}]}]},
    {"type": "skill_loaded", "name": "office"},
    {"type": "sandbox_apply_patch", "call_id": "c3", "added": ["a"], "modified": ["b"], "deleted": []},
    {"type": "sandbox_grep", "call_id": "c4", "count": 2},
    {"type": "unknown", "item_name": "Ledger", "payload": {}},
]
AGENT_BODY["output"] += TOOL_ITEMS
AGENT_STREAMS = [
    fixture_events("agent_events.sse"),
    [agent_event("response.created", response={**AGENT_BODY, "status": "in_progress", "output": [], "usage": None, "model": "fast"}),
     agent_event("response.output_item.added", output_index=0, item={"type": "function_call", "name": "search_web", "arguments": "{}"}),
     agent_event("response.reasoning.search_queries", call_id="c", queries=["q"], thought="Searching the web..."),
     agent_event("response.reasoning.search_results", call_id="c", results=RESULTS, thought="Found 2 results"),
     agent_event("response.reasoning.fetch_url_queries", urls=["https://example.org/f"]),
     agent_event("response.reasoning.fetch_url_results", contents=[{"url": "https://example.org/f", "title": "F"}]),
     agent_event("response.reasoning.started", thought="thinking"),
     agent_event("response.output_item.done", output_index=0, item=AGENT_BODY["output"][0]),
     agent_event("response.output_item.added", output_index=4, item={**TOOL_ITEMS[0], "status": "in_progress", "results": []}),
     agent_event("response.output_item.done", output_index=4, item=TOOL_ITEMS[0]),
     agent_event("response.output_item.done", output_index=5, item=TOOL_ITEMS[1]),
     agent_event("response.reasoning.image_search_queries", call_id="i", queries=["q"]),
     agent_event("response.reasoning.image_search_results", call_id="i", results=TOOL_ITEMS[2]["results"]),
     agent_event("response.skill.loaded", name="office"),
     agent_event("response.output_item.done", output_index=7, item=TOOL_ITEMS[3]),
     agent_event("response.output_item.done", output_index=8, item=TOOL_ITEMS[4]),
     agent_event("response.output_text.delta", item_id="msg_1", output_index=1, content_index=0, delta="An answer "),
     agent_event("response.output_text.delta", item_id="msg_1", output_index=1, content_index=0, delta="[1][31]"),
     agent_event("response.output_text.done", item_id="msg_1", text="An answer [1][31] [web:0]."),
     agent_event("response.output_item.done", output_index=1, item=AGENT_BODY["output"][3]),
     agent_event("response.completed", response=AGENT_BODY)],
    [agent_event("response.output_text.delta", delta="Part"),
     agent_event("response.failed", error={"message": "went wrong", "type": "internal_error", "code": 500})],
    [agent_event("response.output_text.delta", delta="Cut"),
     agent_event("response.incomplete", response={"id": "r", "status": "incomplete", "max_output_tokens": 10,
                                                  "incomplete_details": {"reason": "max_output_tokens"}, "output": []})],
    [agent_event("response.output_text.delta", delta="x"), {"type": "error", "message": "rate limited", "code": "429"}],
]
CHAT_BODY = {
    "id": "c", "model": "sonar", "created": 1763900000, "object": "chat.completion",
    "usage": {"prompt_tokens": 11, "completion_tokens": 120, "total_tokens": 131, "search_context_size": "low",
              "cost": {"input_tokens_cost": 0.00001, "output_tokens_cost": 0.00012, "request_cost": 0.005, "total_cost": 0.00513}},
    "citations": ["https://example.org/a", "https://example.org/b"],
    "search_results": [{"title": "A", "url": "https://example.org/a", "date": "2025-01-02", "snippet": "a"}],
    "images": [{"image_url": "https://example.org/i.png"}], "related_questions": ["why?"],
    "choices": [{"index": 0, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": "<think>hm</think>\n\nAn answer [1]."}}],
}
CHAT_STREAMS = [fixture_events("chat_full_think.sse"), fixture_events("chat_concise_reasoning.sse"),
                [{"id": "d", "object": "chat.completion"}, {"error": {"message": "overloaded", "type": "server_error"}}]]
STREAMS = {"agent": AGENT_STREAMS, "chat": CHAT_STREAMS}
ERROR_BODY = {"error": {"message": "invalid request body", "type": "invalid_request", "code": 400, "param": "x"}}
BODIES = {"agent": [AGENT_BODY, {"id": "r", "status": "failed", "error": {"message": "no credit"}, "output": []}, ERROR_BODY],
          "chat": [CHAT_BODY, ERROR_BODY, {"detail": [{"loc": ["body", "model"], "msg": "field required"}]}]}


# ---- strategies ----

SCALARS = {
    "null": st.none(),
    "bool": st.booleans(),
    "int": st.integers() | st.sampled_from([2**63, 2**64, -(2**63) - 1, 10**40]),
    "float": st.floats(),  # nan and inf included: the sse helper writes them as NaN and Infinity
    "str": st.text(max_size=12),
}
json_values = st.recursive(st.one_of(*SCALARS.values()),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                           max_leaves=12)
BY_TYPE = {**SCALARS, "list": st.lists(json_values, max_size=3), "dict": st.dictionaries(st.text(max_size=8), json_values, max_size=3)}
TYPE_NAMES = {type(None): "null", bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "dict"}


def deep(depth, kind):
    return "[" * depth + "]" * depth if kind == "list" else '{"a":' * depth + "1" + "}" * depth


#: Raw JSON text spliced in where a marker string was: what json.dumps never writes.
raw_texts = st.one_of(
    st.sampled_from(["NaN", "-Infinity", "1e999", "-1e999", "1" + "0" * 400 + ".5", "18446744073709551616", "1e-999"]),
    # far too deep to parse, and just about as deep as parsing goes (then writing it is deeper)
    st.builds(deep, st.sampled_from([50_000]) | st.integers(600, 1000), st.sampled_from(["list", "dict"])),
)
MARKER = "\x00raw{}\x00"
#: A whole event's data or body: any JSON value, or raw text.
random_texts = st.one_of(json_values.map(lambda v: dump(v, [])), raw_texts)


def paths(value, prefix=()):
    """Every path in ``value``, its own (``()``) first."""
    yield prefix
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, inner in items:
        yield from paths(inner, (*prefix, key))


def mutate(data, value, raws):
    """``value`` with the value at a random path replaced by one of another type, or by a
    marker for raw text (appended to ``raws``)."""
    path = data.draw(st.sampled_from(list(paths(value))[1:] or [()]))  # a whole event is replaced elsewhere
    parent = value
    for key in path[:-1]:
        parent = parent[key]
    old = parent[path[-1]] if path else value
    if not data.draw(st.integers(0, 4)):
        raws.append(data.draw(raw_texts))
        new = MARKER.format(len(raws) - 1)
    else:
        new = data.draw(st.one_of(*(s for name, s in BY_TYPE.items() if name != TYPE_NAMES.get(type(old)))))
    if not path:
        return new
    parent[path[-1]] = new
    return value


def sweep(data, value, raws):
    """``value`` with every value of one type below the top replaced by the same value of
    another type or raw text (every number 1e999, every list nested 50,000 deep, ...)."""
    kind = data.draw(st.sampled_from(sorted(BY_TYPE)))
    if not data.draw(st.integers(0, 2)):
        raws.append(data.draw(raw_texts))
        new = MARKER.format(len(raws) - 1)
    else:
        new = data.draw(st.one_of(*(s for name, s in BY_TYPE.items() if name != kind)))

    def swept(v, top=False):
        if not top and TYPE_NAMES.get(type(v)) == kind:
            return copy.deepcopy(new)
        if isinstance(v, dict):
            return {k: swept(x) for k, x in v.items()}
        return [swept(x) for x in v] if isinstance(v, list) else v

    return swept(value, top=True)


def dump(value, raws) -> str:
    """JSON text of ``value`` (NaN written as NaN) with each marker replaced by its raw text."""
    text = json.dumps(value, separators=(",", ":"))
    for i, raw in enumerate(raws):
        text = text.replace(json.dumps(MARKER.format(i)), raw)
    return text


def damaged(data, value, times=(1, 3)) -> str:
    """The JSON text of ``value`` after a few mutations."""
    value, raws = copy.deepcopy(value), []
    for _ in range(data.draw(st.integers(*times))):
        value = sweep(data, value, raws) if data.draw(st.booleans()) else mutate(data, value, raws)
    return dump(value, raws)


# ---- the contract ----


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with History(str(tmp_path_factory.mktemp("shapes") / "history.db")) as history:
        yield history


def check(pieces, data, store, api):
    """Render ``pieces`` and record them; assert the contract."""
    mode = data.draw(st.sampled_from(["hide", "show", "stderr"]), label="reasoning")
    out, err = io.BytesIO(), io.BytesIO()
    writer = AnswerWriter(out, err, reasoning=mode, sources=True)
    seen = []

    def tap():
        for piece in pieces:
            seen.append(piece)
            yield piece

    error = None
    try:
        writer.render(tap())
    except PplxError as e:  # anything else fails the test
        error = e.message
        assert "\n" not in error and "\r" not in error, "an error is one line"
    assert sum(1 for kind, _ in seen if kind == WARNING) <= 1, "one warning at most"

    # stderr: warnings (one line each), reasoning when sent there, then the metadata line
    lines = err.getvalue().decode("utf-8").split("\n")
    assert lines[-1] == ""
    meta = strict_loads(lines[-2])
    assert isinstance(meta, dict) and meta.get("api") in (api, None)  # None: nothing could be read
    if mode != "stderr":
        assert all(line.startswith("pplx: warning: ") for line in lines[:-2]), lines

    # stdout: the text pieces, then the final newline and the sources
    text = "".join(value for kind, value in seen if kind == TEXT).encode("utf-8", "replace")
    written = out.getvalue()
    if mode == "show":
        assert text in written
    else:
        assert written.startswith(text)
        assert re.fullmatch(rb"\n?(?:\n(?:\[[^\n]+\] [^\n]*\n)+)?", written[len(text):]), written[len(text):]

    # the history: every JSON column valid, and `pplx log --json`'s record too
    options = {"store": True, "overrides": data.draw(json_values, label="options")}
    exchange = store.record(cid="c", api=api, model=None, system=None, prompt="p", options=options, answer=writer.answer(),
                            reasoning="".join(writer.reasoning) or None, meta=writer.metadata(error), duration=0.1,
                            exit_status=1 if error else 0, error=error)
    row = store.get(exchange)
    assert isinstance(strict_loads(row["meta"]), dict) and isinstance(strict_loads(row["options"]), dict)
    json.dumps(decode_record(row), allow_nan=False)


def stream_of(data, api) -> bytes:
    """An event stream: real events, some damaged, some replaced, some added."""
    events = data.draw(st.sampled_from(STREAMS[api]), label="stream")
    texts = [e if isinstance(e, str) else json.dumps(e, separators=(",", ":")) for e in events]
    for i in data.draw(st.sets(st.integers(0, len(texts) - 1), max_size=3), label="damaged"):
        texts[i] = damaged(data, events[i])
    for _ in range(data.draw(st.integers(0, 2))):
        extra = data.draw(random_texts, label="extra event")
        texts.insert(data.draw(st.integers(0, len(texts))), extra)
    lines = data.draw(st.booleans(), label="event: lines")  # the Agent API sends them, or not
    return b"".join(sse(t, event=_type(t) if lines else None) for t in texts)


def _type(text):
    m = re.match(r'\{"type":"([\w.]+)"', text)
    return m.group(1) if m else None


@SETTINGS
@given(data=st.data())
def test_any_stream_shape(data, store):
    api = data.draw(st.sampled_from(["agent", "chat"]), label="api")
    body = stream_of(data, api)
    fixed = data.draw(st.sampled_from([api, None]), label="fixed")  # given, or detected from the first event
    check(PieceStream(iter_sse([body]), api=fixed), data, store, fixed or detect_dialect(next(iter_sse([body]))))


@SETTINGS
@given(data=st.data())
def test_any_body_shape(data, store):
    api = data.draw(st.sampled_from(["agent", "chat"]), label="api")
    body = data.draw(st.sampled_from([*BODIES[api], None]), label="body")
    text = damaged(data, body) if body is not None else data.draw(random_texts, label="random body")

    def pieces():  # as exchange.ask reads a body
        try:
            obj = jsonsafe.loads(text)
        except ValueError:
            raise StreamError("the response is not JSON") from None
        yield from body_pieces(obj, api)

    check(pieces(), data, store, api)


@SETTINGS
@given(data=st.data())
def test_any_error_body_is_one_line(data):
    body = data.draw(st.sampled_from([ERROR_BODY, BODIES["chat"][2], {"error": "plain"}]))
    text = damaged(data, body, (0, 3))
    summary, kind = describe_body(text.encode(), "application/json")  # an HTTP error's body
    assert isinstance(summary, str) and "\n" not in summary and (kind is None or isinstance(kind, str))
    try:
        obj = jsonsafe.loads(text)
    except ValueError:
        return
    message = error_message(obj)  # an error object in a stream, or a failed run's error
    assert isinstance(message, str) and message and "\n" not in message


# ---- the pieces of the contract, each on its own ----


DEEP = "[" * 50_000 + "]" * 50_000


def test_an_event_nested_too_deep_is_skipped_and_the_answer_kept():
    body = sse(agent_event("response.output_text.delta", delta="An answer "), DEEP,
               '{"type":"response.output_text.delta","delta":' + DEEP + "}", agent_event("response.completed", response=AGENT_BODY))
    out, err = io.BytesIO(), io.BytesIO()
    with pytest.raises(StreamError, match="2 malformed events skipped"):
        AnswerWriter(out, err).render(PieceStream(iter_sse([body])))
    assert out.getvalue() == b"An answer [1][31] [web:0].\n"  # the rest from the final response
    assert err.getvalue().count(b"skipped malformed event") == 2


def test_a_body_or_error_body_nested_too_deep_is_not_json():
    for body in (DEEP, '{"id":"r","output":' + DEEP + "}", '{"error":' + DEEP + "}", '{"error":{"message":' + DEEP + "}}"):
        with pytest.raises(ValueError):  # what exchange.ask turns into "the response is not JSON"
            jsonsafe.loads(body)
        summary, kind = describe_body(body.encode(), "application/json")  # an HTTP error's body: an excerpt
        assert summary == body[:200] + "..." and kind is None


def test_a_malformed_usage_in_every_chunk_is_one_warning():
    chunks = [{**chunk, "usage": "12 tokens"} for chunk in fixture_events("chat_full_think.sse") if isinstance(chunk, dict)]
    out, err = io.BytesIO(), io.BytesIO()
    AnswerWriter(out, err).render(PieceStream(iter_sse([sse(*chunks)])))
    lines = err.getvalue().decode().splitlines()
    assert lines[:-1] == ["pplx: warning: ignored malformed usage in the response"]
    assert strict_loads(lines[-1])["usage"] is None and out.getvalue() == b"No: 1001 = 7 \xc3\x97 11 \xc3\x97 13 [1].\n"


@pytest.mark.parametrize("text, value", [("NaN", None), ("[Infinity, -Infinity]", [None, None]),
                                         ('{"a": 18446744073709551616}', {"a": 2**64}), (b'{"a": "\xc3\xa9"}', {"a": "é"})])
def test_loads_reads_what_json_loads_reads_but_nan(text, value):
    assert jsonsafe.loads(text) == value


@pytest.mark.parametrize("text", ["[" * 50_000 + "]" * 50_000, '{"a":' * 50_000 + "1" + "}" * 50_000, "{not json", "1" * 5000])
def test_loads_refuses_with_value_error(text):
    with pytest.raises(ValueError):
        jsonsafe.loads(text)


def nested(depth):
    value = []
    for _ in range(depth):
        value = [value]
    return value


def test_dumps_always_writes_valid_json():
    cycle = {}
    cycle["self"] = cycle
    value = {"nan": float("nan"), "inf": [float("-inf")], "big": 2**64, "huge": 10**5000, "set": {1}, 3: "int key",
             None: "null key", "cycle": cycle, "deep": nested(50_000)}
    out = strict_loads(jsonsafe.dumps(value, ensure_ascii=False))
    assert out["nan"] is None and out["inf"] == [None] and out["big"] == 2**64 and out["huge"] is None
    assert out["set"] == "{1}" and out["3"] == "int key" and out["null"] == "null key" and out["cycle"] == {"self": None}
    depth, inner = 1, out["deep"]
    while inner:
        inner, depth = inner[0], depth + 1
    assert depth == jsonsafe.MAX_DEPTH  # the top-level object is level 1, "deep" level 2


def test_dumps_is_json_dumps_on_normal_data():
    meta = {"api": "agent", "usage": AGENT_BODY["usage"], "search_results": RESULTS * 200, "reasoning": "[1] {x}" * 300}
    assert jsonsafe.dumps(meta, ensure_ascii=False) == json.dumps(meta, ensure_ascii=False)


def test_numbers_sqlite_cannot_hold_are_left_out_of_their_columns(store):
    for tokens, cost in [(2**64, float("nan")), (True, float("inf")), ("12", "0.1"), (-(2**63) - 1, 10**400), (2**62, 1.5)]:
        store.record(cid="numbers", prompt="p", meta={"model": {"not": "a name"}, "usage": {
            "prompt_tokens": tokens, "completion_tokens": tokens, "cost": {"total_cost": cost}}})
    rows = store.list(cid="numbers")
    assert [(r["prompt_tokens"], r["cost"], r["model"]) for r in rows] == [(2**62, 1.5, None)] + [(None, None, None)] * 4
    store.record(cid="numbers", prompt="p", meta={"usage": {"prompt_tokens": 2**62}})
    # two token counts that overflow SUM(): no total (None) instead of failing the query, or
    # of a saturated 2**63 - 1 that reads as a count
    totals = [row["prompt_tokens"] for row in store.cost()]  # the store holds other tests' exchanges too
    assert None in totals and all(total is None or isinstance(total, int) for total in totals)


def test_sources_of_any_shape():
    meta = {"api": "chat", "citations": [{"url": "u"}, "https://a", ["x"], 5, "https://b"],
            "search_results": [{"url": ["x"], "title": "T"}, {"url": "https://a", "title": {"t": 1}}, 7]}
    assert source_lines(meta) == ["[2] https://a", "[5] https://b"]
    agent = {"api": "agent", "search_results": [{"id": [1], "url": "https://a"}, {"id": True, "url": "https://b"},
                                                {"id": 2**64, "url": "https://c", "title": "C\nD"}], "fetch_url_results": 3}
    assert source_lines(agent) == ["[1] https://a", "[2] https://b", f"[{2**64}] C D <https://c>"]
    for bad in ({"search_results": 5, "citations": 7}, {"search_results": {"a": 1}, "citations": {"a": 1}}):
        assert source_lines(bad) == []
