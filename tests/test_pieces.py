"""Events -> typed pieces, for both dialects, and the think-block splitter."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pplx_cli.errors import APIError, PplxError, StreamError, StreamIncomplete
from pplx_cli.dialects.chat import ThinkSplitter
from pplx_cli.dialects.pieces import BAD, META, REASONING, TEXT, Piece
from pplx_cli.dialects.stream import PieceStream, body_pieces
from pplx_cli.wire.sse import iter_sse
from tests.conftest import FIXTURES
from tests.server import sse


def pieces(*chunks, api=None):
    return list(PieceStream(iter_sse(chunks), api=api))


def text_of(ps, kind=TEXT):
    return "".join(v for k, v in ps if k == kind)


def meta_of(ps):
    meta = {}
    for k, v in ps:
        if k == META:
            meta.update(v)
    return meta


def collapse(ps):
    """Adjacent text (or reasoning) pieces joined: what a reader sees, whatever the chunking."""
    out = []
    for kind, value in ps:
        if out and kind in (TEXT, REASONING) and out[-1][0] == kind:
            out[-1] = Piece(kind, out[-1][1] + value)
        else:
            out.append(Piece(kind, value))
    return out


# ---- think splitter ----


def feed_all(deltas):
    s = ThinkSplitter()
    out = []
    for d in deltas:
        out += s.feed(d)
    return collapse(out + s.flush())


def test_think_block_split_anywhere_gives_the_same_pieces():
    content = "<think>\nweigh options\n</think>\n\nThe answer."
    expected = [Piece(REASONING, "\nweigh options\n"), Piece(TEXT, "The answer.")]
    for i in range(len(content) + 1):
        for j in range(i, len(content) + 1):
            assert feed_all([content[:i], content[i:j], content[j:]]) == expected, (i, j)


def test_answer_without_think_is_untouched():
    assert feed_all(["\n Hello", " world"]) == [Piece(TEXT, "\n Hello world")]
    assert feed_all(["<b>bold</b>"]) == [Piece(TEXT, "<b>bold</b>")]


def test_think_later_in_an_answer_is_text():
    assert feed_all(["Use the ", "<think> tag"]) == [Piece(TEXT, "Use the <think> tag")]


def test_unclosed_think_is_all_reasoning():
    assert feed_all(["<think>still thinking</th"]) == [Piece(REASONING, "still thinking</th")]


def test_partial_open_tag_at_end_is_text():
    assert feed_all(["<thi"]) == [Piece(TEXT, "<thi")]


# ---- chat dialect ----


def test_full_mode_think_transcript():
    ps = pieces((FIXTURES / "chat_full_think.sse").read_bytes())
    assert text_of(ps) == "No: 1001 = 7 × 11 × 13 [1]."
    assert text_of(ps, REASONING) == "\nCheck small primes: 1001/7 = 143 = 11*13.\n"
    meta = meta_of(ps)
    assert meta["api"] == "chat"
    assert meta["finish_reason"] == "stop"
    assert meta["usage"]["cost"]["total_cost"] == 0.006258  # the terminal chunk's real cost wins
    assert meta["citations"] == ["https://example.org/primes"]


def test_concise_transcript_reasoning_steps_and_done():
    ps = pieces((FIXTURES / "chat_concise_reasoning.sse").read_bytes())
    assert text_of(ps) == "Tokyo has about 14 million residents [1].\n"
    assert text_of(ps, REASONING) == "I should look up the population.\nSearching: Tokyo population 2025\n"
    meta = meta_of(ps)
    assert meta["usage"]["cost"]["total_cost"] == 0.0071
    assert meta["citations"] == ["https://example.org/tokyo"]
    assert meta["finish_reason"] == "stop"


def chunk(content, finish=None, **extra):
    return {"id": "x", "model": "sonar", "object": "chat.completion.chunk",
            "choices": [{"index": 0, "finish_reason": finish, "delta": {"content": content}}], **extra}


def test_stream_without_done_after_final_chunk_is_complete():
    ps = pieces(sse(chunk("a"), chunk("b", "stop")))
    assert text_of(ps) == "ab"


def test_done_ends_the_stream_even_before_a_final_chunk():
    ps = pieces(sse(chunk("a"), "[DONE]", chunk("ignored")))
    assert text_of(ps) == "a"


def test_stream_that_stops_before_the_final_chunk_is_incomplete():
    with pytest.raises(StreamIncomplete) as info:
        pieces(sse(chunk("a"), chunk("b")))
    assert info.value.events == 2


def test_progress_chunks_without_choices_are_skipped():
    ps = pieces(sse({"id": "d", "model": "sonar-deep-research", "object": "chat.completion"}, chunk("a", "stop")))
    assert text_of(ps) == "a"
    assert meta_of(ps)["model"] == "sonar"


def test_error_object_in_stream_raises_after_the_text_before_it():
    got = []
    with pytest.raises(APIError, match="overloaded"):
        for p in PieceStream(iter_sse([sse(chunk("kept"), {"error": {"message": "overloaded", "type": "server_error"}})])):
            got.append(p)
    assert text_of(got) == "kept"


def test_error_event_type_raises():
    with pytest.raises(APIError, match="boom"):
        pieces(sse(chunk("a")) + b'event: error\ndata: {"message": "boom"}\n\n')


def test_malformed_event_is_a_bad_piece_and_the_rest_is_kept():
    ps = pieces(sse(chunk("a")) + b"data: {not json\n\n" + sse(chunk("b", "stop")))
    assert text_of(ps) == "ab"
    assert [v for k, v in ps if k == BAD] == [(2, '"{not json"')]


def test_empty_stream_is_an_error():
    with pytest.raises(StreamError, match="empty"):
        pieces(b"")


def test_chat_body():
    body = {"id": "b", "model": "sonar", "created": 1, "citations": ["u"], "usage": {"total_tokens": 3},
            "choices": [{"index": 0, "finish_reason": "length", "message": {"content": "<think>hm</think>\n\nYes"}}]}
    ps = list(body_pieces(body, "chat"))
    assert text_of(ps) == "Yes"
    assert text_of(ps, REASONING) == "hm"
    assert meta_of(ps) == {"api": "chat", "id": "b", "model": "sonar", "created": 1, "citations": ["u"],
                           "usage": {"total_tokens": 3}, "finish_reason": "length"}


# ---- agent dialect ----


@pytest.mark.parametrize("name", ["agent_events.sse", "agent_plain.sse"])
def test_agent_stream_with_and_without_event_lines(name):
    ps = pieces((FIXTURES / name).read_bytes())
    assert text_of(ps) == "Server-sent events stream text over HTTP [1], one event per blank line [2]."
    assert text_of(ps, REASONING) == "Searching: server-sent events\n"
    meta = meta_of(ps)
    assert meta["api"] == "agent"
    assert meta["id"] == "resp_abc"
    assert meta["model"] == "perplexity/sonar"
    assert meta["created"] == 1763900300
    assert meta["citations"] == ["https://example.org/sse", "https://example.org/whatwg"]
    assert [r["title"] for r in meta["search_results"]] == ["Server-sent events", "HTML Living Standard"]
    assert meta["usage"]["cost"]["total_cost"] == 0.005032
    assert meta["usage"]["prompt_tokens"] == 12 and meta["usage"]["completion_tokens"] == 20
    assert meta["finish_reason"] == "stop"


def agent_event(kind, **kw):
    return {"type": kind, **kw}


@pytest.mark.parametrize("status", ["failed", "incomplete", "cancelled"])
def test_agent_terminal_failures_raise_after_text(status):
    body = sse(
        agent_event("response.output_text.delta", delta="part"),
        agent_event(f"response.{status}", response={"id": "r", "status": status, "error": {"message": "went wrong"} if status == "failed" else None,
                                                     "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None}),
    )
    got = []
    with pytest.raises(APIError, match=f"response {status}") as info:
        for p in PieceStream(iter_sse([body])):
            got.append(p)
    assert text_of(got) == "part"
    if status == "failed":
        assert "went wrong" in info.value.message
    assert meta_of(got)["finish_reason"] == {"failed": "failed", "incomplete": "length", "cancelled": "cancelled"}[status]


def test_agent_bare_error_event():
    with pytest.raises(APIError, match="rate limited"):
        pieces(sse(agent_event("response.output_text.delta", delta="x"), agent_event("error", message="rate limited", code="429")))


def test_agent_stream_without_terminal_is_incomplete():
    with pytest.raises(StreamIncomplete):
        pieces(sse(agent_event("response.output_text.delta", delta="x")))


def test_agent_body():
    body = {"id": "resp_1", "object": "response", "status": "completed", "model": "perplexity/sonar",
            "output": [{"type": "search_results", "results": [{"url": "https://a", "title": "A"}]},
                       {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hi "}, {"type": "output_text", "text": "there"}]}],
            "usage": {"input_tokens": 1, "output_tokens": 2, "cost": {"total_cost": 0.01}}}
    ps = list(body_pieces(body, "agent"))
    assert text_of(ps) == "Hi there"
    meta = meta_of(ps)
    assert meta["citations"] == ["https://a"] and meta["usage"]["cost"]["total_cost"] == 0.01
    assert meta["api"] == "agent" and meta["finish_reason"] == "stop"


def test_agent_body_failed_on_http_200_is_an_error():
    with pytest.raises(APIError, match="response failed: no credit"):
        list(body_pieces({"id": "r", "status": "failed", "error": {"message": "no credit"}, "output": []}, "agent"))


# ---- the split property, through pieces ----

TRANSCRIPTS = sorted(FIXTURES.glob("*.sse"))


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: p.name)
def test_every_split_gives_identical_pieces(path):
    body = path.read_bytes()
    whole = collapse(pieces(body))
    for i in range(len(body) + 1):
        assert collapse(pieces(body[:i], body[i:])) == whole, i


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_multi_splits_give_identical_pieces(data):
    path = data.draw(st.sampled_from(TRANSCRIPTS))
    body = path.read_bytes()
    cuts = sorted(data.draw(st.lists(st.integers(0, len(body)), max_size=30)))
    chunks = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)])]
    assert collapse(pieces(*chunks)) == collapse(pieces(body))


# ---- fuzz: damage never raises anything but pplx's own errors, never loses earlier events ----


def _consume(chunks):
    got = []
    try:
        for p in PieceStream(iter_sse(chunks)):
            got.append(p)
    except PplxError:
        pass
    return got


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=20))
def test_random_bytes_never_raise_foreign_errors(chunks):
    _consume(chunks)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_streams_keep_the_events_before_the_damage(data):
    path = data.draw(st.sampled_from(TRANSCRIPTS))
    body = path.read_bytes()
    at = data.draw(st.integers(0, len(body) - 1))
    junk = data.draw(st.binary(min_size=1, max_size=20))
    damaged = body[:at] + junk + body[at + data.draw(st.integers(0, 20)):]
    got = collapse(_consume([damaged]))
    # every event wholly before the damage (up to its dispatching blank line) is kept
    intact = body[:at]
    ends = [i + 2 for i in [intact.rfind(b"\n\n")] if i >= 0] + [i + 4 for i in [intact.rfind(b"\r\n\r\n")] if i >= 0]
    if not ends:
        return
    prefix = collapse(_consume([body[: max(ends)]]))
    want = text_of(prefix)
    # (the think splitter may hold back up to len("</think>") characters at a cut)
    assert text_of(got).startswith(want[: max(0, len(want) - len("</think>"))])
    assert sum(1 for k, _ in got if k == META) >= sum(1 for k, _ in prefix if k == META) - 1


# ---- the full-mode fast path ----

from pplx_cli.dialects.chat import without_message_content  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.text(), st.text(), st.booleans(), st.booleans())
def test_message_content_is_emptied_and_nothing_else_changes(content, delta, compact, message_first):
    choice = {"index": 0, "delta": {"role": "assistant", "content": delta},
              "message": {"role": "assistant", "content": content}, "finish_reason": None}
    if message_first:  # the service has been seen sending message before delta, with spaces
        choice = {"index": 0, "message": choice["message"], "delta": choice["delta"], "finish_reason": None}
    chunk = {"id": "x", "choices": [choice],
             "search_results": [{"snippet": 'quoted "message": {"role": "assistant", "content": "x"} \\'}]}
    data = json.dumps(chunk, separators=(",", ":") if compact else (", ", ": "), ensure_ascii=False)
    assert len(without_message_content(data)) == len(data) - len(json.dumps(content, ensure_ascii=False)) + 2
    stripped = json.loads(without_message_content(data))
    chunk["choices"][0]["message"]["content"] = ""
    assert stripped == chunk


@pytest.mark.parametrize("data", ["{}", '{"message":{"role":"assistant","content":"unterminated', "not json"])
def test_message_fast_path_leaves_odd_data_alone(data):
    assert without_message_content(data) == data


def agent_pieces(*objects):
    from tests.server import sse

    return list(PieceStream(iter_sse([sse(*objects)]), api="agent"))


def completed(**response):
    return {"type": "response.completed", "response": {"id": "r", "status": "completed", "output": [], **response}}


@pytest.mark.parametrize("delta_item, done_item", [(None, "msg_1"), ("msg_1", None), ("msg_1", "msg_1"), (None, None)])
def test_agent_done_text_never_repeats_what_the_deltas_printed(delta_item, done_item):
    delta = {"type": "response.output_text.delta", "delta": "Hello "}
    done = {"type": "response.output_text.done", "text": "Hello world."}
    if delta_item:
        delta["item_id"] = delta_item
    if done_item:
        done["item_id"] = done_item
    message = {"type": "message", "id": "msg_1", "content": [{"type": "output_text", "text": "Hello world."}]}
    pieces = agent_pieces(delta, done, completed(output=[message]))
    assert "".join(v for k, v in pieces if k == TEXT) == "Hello world."


def test_agent_final_response_recovers_text_when_no_done_event_came():
    message = {"type": "message", "id": "m", "content": [{"type": "output_text", "text": "abc def"}]}
    pieces = agent_pieces({"type": "response.output_text.delta", "item_id": "m", "delta": "abc"}, completed(output=[message]))
    assert [v for k, v in pieces if k == TEXT] == ["abc", " def"]


def test_agent_body_keeps_every_search_block_and_fetched_page():
    body = {"status": "completed", "model": "m", "output": [
        {"type": "search_results", "queries": ["a"], "results": [{"id": 11, "url": "u11"}, {"id": 12, "url": "u12"}]},
        {"type": "search_results", "queries": ["b"], "results": [{"id": 1, "url": "u1"}]},
        {"type": "fetch_url_results", "contents": [{"url": "f0", "title": "F0"}]},
        {"type": "function_call", "name": "search_web", "arguments": "{}"},
        {"type": "message", "content": None},
        {"type": "message", "content": [{"type": "output_text", "text": "x [11][1] [web:0]"}]}]}
    pieces = list(body_pieces(body, "agent"))
    meta = {}
    for kind, value in pieces:
        if kind == META:
            meta.update(value)
    assert [v for k, v in pieces if k == TEXT] == ["x [11][1] [web:0]"]
    assert [r["id"] for r in meta["search_results"]] == [1, 11, 12]
    assert meta["citations"] == ["u1", "u11", "u12"] and meta["search_queries"] == ["a", "b"]
    assert meta["fetch_url_results"] == [{"url": "f0", "title": "F0"}]
    assert meta["model"] == "m" and meta["finish_reason"] == "stop"


def test_agent_model_comes_only_from_the_final_response():
    created = {"type": "response.created", "response": {"id": "r", "status": "in_progress", "model": "fast", "output": []}}
    meta = {}
    for kind, value in agent_pieces(created, {"type": "response.output_text.delta", "delta": "x"},
                                    completed(model="openai/gpt-5.1")):
        if kind == META:
            assert value.get("model") != "fast"
            meta.update(value)
    assert meta["model"] == "openai/gpt-5.1"
