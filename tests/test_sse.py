"""The pure SSE parser: bytes chunks -> lines -> events."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pplx_cli.errors import StreamError
from pplx_cli.wire.sse import Event, iter_events, iter_lines, iter_sse
from tests.conftest import FIXTURES


def events(*chunks):
    return list(iter_sse(chunks))


def test_lf_cr_and_crlf_line_ends_are_equivalent():
    expected = [Event("message", "a"), Event("message", "b")]
    assert events(b"data: a\n\ndata: b\n\n") == expected
    assert events(b"data: a\r\rdata: b\r\r") == expected
    assert events(b"data: a\r\n\r\ndata: b\r\n\r\n") == expected
    assert events(b"data: a\r\n\ndata: b\r\r\n") == expected


def test_crlf_split_across_chunks_is_one_line_end():
    assert list(iter_lines([b"a\r", b"\nb\r", b"\n"])) == [b"a", b"b"]
    # a CR at a chunk end, then an empty chunk, then the LF
    assert list(iter_lines([b"a\r", b"", b"\n", b"\n"])) == [b"a", b""]


def test_cr_alone_ends_a_line_at_once():
    lines = iter_lines(iter([b"data: x\r"]))
    assert next(lines) == b"data: x"


def test_utf8_split_across_chunks():
    data = "data: Grüße 東京 🙂\n\n".encode()
    for i in range(1, len(data)):
        assert events(data[:i], data[i:]) == [Event("message", "Grüße 東京 🙂")]


def test_leading_bom_is_removed_even_when_split():
    body = b"\xef\xbb\xbfdata: x\n\n"
    assert events(body) == [Event("message", "x")]
    assert events(b"\xef", b"\xbb", b"\xbfdata: x\n\n") == [Event("message", "x")]
    # only one, and only at the start
    assert events(b"data: \xef\xbb\xbfx\n\n") == [Event("message", "\ufeffx")]


def test_data_with_or_without_one_space():
    assert events(b"data:x\n\ndata: x\n\ndata:  x\n\n") == [
        Event("message", "x"),
        Event("message", "x"),
        Event("message", " x"),
    ]


def test_several_data_lines_join_with_newline():
    assert events(b"data: a\ndata:\ndata: b\n\n") == [Event("message", "a\n\nb")]


def test_event_id_retry_and_comments():
    body = b": keep-alive\nretry: 1000\nid: 7\nevent: response.created\ndata: {}\n\ndata: next\n\n"
    assert events(body) == [Event("response.created", "{}", "7"), Event("message", "next", "7")]


def test_field_without_colon_and_unknown_fields():
    assert events(b"data\n\n") == [Event("message", "")]
    assert events(b"foo: bar\ndata: x\n\n") == [Event("message", "x")]


def test_blank_line_without_data_dispatches_nothing_and_resets_type():
    assert events(b"event: ping\n\ndata: x\n\n") == [Event("message", "x")]


def test_trailing_event_without_blank_line_is_discarded():
    assert events(b"data: a\n\ndata: b\n") == [Event("message", "a")]
    assert events(b"data: a\n\ndata: b") == [Event("message", "a")]


def test_event_is_handed_on_when_its_last_byte_arrives():
    """The generator yields an event before the next chunk is even read."""

    def chunks():
        yield b"data: one\n"
        yield b"\n"
        raise AssertionError("read past the event")

    it = iter_sse(chunks())
    assert next(it) == Event("message", "one")


def test_oversized_line_is_a_stream_error():
    with pytest.raises(StreamError, match="larger than"):
        list(iter_lines([b"x" * 600] * 10, max_line=4000))


def test_oversized_event_is_a_stream_error():
    with pytest.raises(StreamError, match="larger than"):
        list(iter_events([b"data: " + b"x" * 100] * 50, max_event=1000))


TRANSCRIPTS = sorted(FIXTURES.glob("*.sse"))


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: p.name)
def test_every_single_split_gives_the_same_events(path):
    body = path.read_bytes()
    whole = events(body)
    assert whole
    for i in range(len(body) + 1):
        assert events(body[:i], body[i:]) == whole, i


@settings(max_examples=60, deadline=None)
@given(data=st.data())
@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: p.name)
def test_random_multi_splits_give_the_same_events(path, data):
    body = path.read_bytes()
    cuts = sorted(data.draw(st.lists(st.integers(0, len(body)), max_size=40)))
    chunks = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)])]
    assert events(*chunks) == events(body)


def test_one_byte_chunks():
    body = (FIXTURES / "chat_full_think.sse").read_bytes()
    assert events(*[body[i:i + 1] for i in range(len(body))]) == events(body)


def test_random_line_end_styles_parse_alike():
    rng = random.Random(4)
    lines = [b"event: x", b"data: 1", b"", b"data: 2", b"data: 3", b"", b": c", b"data: 4", b""]
    expected = events(b"\n".join(lines) + b"\n")
    for _ in range(50):
        body = b""
        for line in lines:
            ends = [b"\n", b"\r", b"\r\n"]
            if body.endswith(b"\r") and not line:
                ends = [b"\r", b"\r\n"]  # a bare LF here would complete the CRLF instead
            body += line + rng.choice(ends)
        assert events(body) == expected
