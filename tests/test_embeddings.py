"""Embedding vectors decoded in one call, and written as JSON without a Python int per value,
give what the value-by-value decoding and json.dumps gave, with the same checks and errors
(pplx_cli/dialects/embeddings.py); ``pplx embed`` prints the same bytes as before."""

import base64
import json
import os
import random
import subprocess

import pytest
from hypothesis import given, strategies as st

from pplx_cli import jsonsafe
from pplx_cli.dialects.embeddings import MAX_DIMENSIONS, decode_embedding, embedding_json
from pplx_cli.errors import StreamError
from tests.conftest import pplx_executable
from tests.server import Reply

EDGES = bytes([0x00, 0x01, 0x7F, 0x80, 0x81, 0xFE, 0xFF])


def int8_by_value(raw: bytes) -> list:
    """The decoding pplx had before (e13ff76): one signed byte at a time."""
    return [b - 256 if b > 127 else b for b in raw]


def bits_by_value(raw: bytes) -> list:
    """The decoding pplx had before: bits least significant first, one at a time."""
    return [(byte >> i) & 1 for byte in raw for i in range(8)]


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def vectors():
    """Every byte value, the edges alone and repeated, and random vectors of the sizes asked for."""
    rng = random.Random(20)
    yield bytes(range(256))
    yield bytes(reversed(range(256)))
    yield EDGES
    for edge in EDGES:
        yield bytes([edge]) * 128
    for size in (1, 2, 3, 16, 128, 256, 1024, 2560):
        for _ in range(5):
            yield bytes(rng.choice(EDGES) if rng.random() < 0.2 else rng.randrange(256) for _ in range(size))


@pytest.mark.parametrize("raw", list(vectors()), ids=lambda raw: f"{len(raw)}B:{raw[:4].hex()}")
def test_one_call_decoding_is_the_value_by_value_decoding(raw):
    assert decode_embedding(b64(raw), "base64_int8", len(raw)) == int8_by_value(raw)
    assert decode_embedding(b64(raw), "base64_int8") == int8_by_value(raw)
    if len(raw) * 8 <= MAX_DIMENSIONS:
        assert decode_embedding(b64(raw), "base64_binary", len(raw) * 8) == bits_by_value(raw)
        assert decode_embedding(b64(raw), "base64_binary") == bits_by_value(raw)


@pytest.mark.parametrize("raw", list(vectors()), ids=lambda raw: f"{len(raw)}B:{raw[:4].hex()}")
def test_the_json_text_is_json_dumps_of_the_value_by_value_decoding(raw):
    assert embedding_json(b64(raw), "base64_int8", len(raw)) == json.dumps(int8_by_value(raw)).encode()
    if len(raw) * 8 <= MAX_DIMENSIONS:
        assert embedding_json(b64(raw), "base64_binary", len(raw) * 8) == json.dumps(bits_by_value(raw)).encode()


@given(st.binary(max_size=1024))
def test_any_bytes_decode_as_before(raw):
    assert decode_embedding(b64(raw), "base64_int8") == int8_by_value(raw)
    assert decode_embedding(b64(raw), "base64_binary") == bits_by_value(raw)
    assert embedding_json(b64(raw), "base64_int8") == json.dumps(int8_by_value(raw)).encode()
    assert embedding_json(b64(raw), "base64_binary") == json.dumps(bits_by_value(raw)).encode()


def test_every_byte_alone_is_its_number():
    for b in range(256):
        assert embedding_json(b64(bytes([b])), "base64_int8") == f"[{b - 256 if b > 127 else b}]".encode()
        assert embedding_json(b64(bytes([b])), "base64_binary") == json.dumps(bits_by_value(bytes([b]))).encode()


def test_decoded_values_are_plain_ints():
    values = decode_embedding(b64(EDGES), "base64_int8") + decode_embedding(b64(EDGES), "base64_binary")
    assert {type(v) for v in values} == {int}


def test_an_empty_vector_is_empty_in_both_encodings():
    assert decode_embedding("", "base64_int8") == [] == decode_embedding("", "base64_binary")
    assert embedding_json("", "base64_int8") == b"[]" == embedding_json("", "base64_binary")


def test_binary_is_least_significant_bit_first():
    assert decode_embedding(b64(b"\x01\x80"), "base64_binary") == [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]


@pytest.mark.parametrize("data, encoding, dimensions, message", [
    (b64(bytes(127)), "base64_int8", 128, "an embedding has 127 values, not the 128 asked for"),
    (b64(bytes(129)), "base64_int8", 128, "an embedding has 129 values, not the 128 asked for"),
    (b64(bytes(15)), "base64_binary", 128, "an embedding has 120 values, not the 128 asked for"),
    (b64(bytes(8193)), "base64_int8", None, "an embedding has 8,193 values, more than the 8,192 any model gives"),
    (b64(bytes(1025)), "base64_binary", None, "an embedding has 8,200 values, more than the 8,192 any model gives"),
    # refused from the text's length, before a byte is decoded (it is not even base64)
    ("!" * 40_000, "base64_int8", 128, "an embedding has 30,000 values, not the 128 asked for"),
    ("AAA*" * 32, "base64_int8", 96, "an embedding is not valid base64"),
    ("AAA", "base64_int8", None, "an embedding is not valid base64"),
    ("AA==AA==", "base64_int8", None, "an embedding is not valid base64"),
    ("AAAA\n", "base64_int8", None, "an embedding is not valid base64"),
    ("AAAé", "base64_int8", None, "an embedding is not valid base64"),
    (None, "base64_int8", 128, "an embedding is neither base64 nor a list of numbers"),
    ({"b64": "AAAA"}, "base64_int8", 128, "an embedding is neither base64 nor a list of numbers"),
    ([1.0, float("nan")], "base64_int8", 2, "an embedding holds a value that is not a finite number"),
    ([1.0, float("inf")], "base64_int8", None, "an embedding holds a value that is not a finite number"),
    ([1, True], "base64_int8", 2, "an embedding holds a value that is not a finite number"),
    ([1, "2"], "base64_int8", 2, "an embedding holds a value that is not a finite number"),
    ([1, 2, 3], "base64_int8", 2, "an embedding has 3 values, not the 2 asked for"),
])
def test_errors_are_as_before(data, encoding, dimensions, message):
    for decode in (decode_embedding, embedding_json):
        with pytest.raises(StreamError) as caught:
            decode(data, encoding, dimensions)
        assert caught.value.message == message


def test_a_list_of_finite_numbers_is_taken_as_it_is():
    values = [1, -2.5, 0, 3e-5, 10**20, 1e300]
    assert decode_embedding(values, "base64_int8", 6) is values
    assert embedding_json(values, "base64_int8", 6) == json.dumps(values).encode() == b"[1, -2.5, 0, 3e-05, 100000000000000000000, 1e+300]"


# ---- pplx embed: the same bytes as e13ff76 wrote, a jsonsafe.dumps of each line's dict ----


def run_embed(api, *args, stdin=b""):
    env = dict(os.environ, PPLX_BASE_URL=api.url)
    result = subprocess.run([pplx_executable(), "embed", "--no-meta", *args], input=stdin, capture_output=True, env=env,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def before(lines) -> bytes:
    """What pplx wrote before: one jsonsafe.dumps of each line's dict, newline-ended."""
    return ("\n".join(jsonsafe.dumps(line) for line in lines) + "\n").encode()


@pytest.mark.parametrize("encoding", ["int8", "binary"])
def test_pplx_embed_prints_the_same_bytes_as_before(api, home, encoding):
    from tests.platform_server import expected_embedding

    texts = [f"text {i}" for i in range(600)]
    out = run_embed(api, "--dimensions", "256", "--encoding", encoding, stdin="".join(t + "\n" for t in texts).encode())
    assert out == before({"index": i, "embedding": expected_embedding(t, 256, f"base64_{encoding}")} for i, t in enumerate(texts))


def test_pplx_embed_contextual_prints_the_same_bytes_as_before(api, home):
    from tests.platform_server import expected_contextualized_embedding

    out = run_embed(api, "--contextual", "--dimensions", "128", stdin=b"a1\na2\n\nb1\n")
    documents = [["a1", "a2"], ["b1"]]
    assert out == before({"index": n, "document": d, "chunk": c, "embedding": expected_contextualized_embedding(documents[d], c, 128)}
                         for n, (d, c) in enumerate([(0, 0), (0, 1), (1, 0)]))


def test_pplx_embed_of_vectors_sent_as_numbers_prints_them_as_json_dumps_did(api, home):
    vectors = [[0.5, -1, 1e-7, 3.0] * 32, [2**53, -0.0, 1.5e300, 7] * 32]
    body = {"model": "pplx-embed-v1-0.6b", "data": [{"index": 1, "embedding": vectors[1]}, {"index": 0, "embedding": vectors[0]}]}
    api.add("/v1/embeddings", Reply(parts=[json.dumps(body).encode()], headers={"Content-Type": "application/json"}, framing="length"))
    out = run_embed(api, "--dimensions", "128", "one", "two")
    assert out == before({"index": i, "embedding": v} for i, v in enumerate(vectors))


# ---- answers put in order by their index, in one pass ----


def in_order_before(entries):
    """e13ff76's ordering: the index of each position looked up in the list (quadratic)."""
    from pplx_cli.numbers import whole

    given = [e.get("index") for e in entries if isinstance(e, dict) and "index" in e]
    if not given:
        return list(entries)
    indexes = [whole(e.get("index")) if isinstance(e, dict) else None for e in entries]
    if sorted(i for i in indexes if i is not None) != list(range(len(entries))):
        raise StreamError("refused")
    return [entries[indexes.index(i)] for i in range(len(entries))]


def index_cases():
    rng = random.Random(7)
    for n in (1, 2, 3, 512):
        order = list(range(n))
        rng.shuffle(order)
        yield [{"index": i, "embedding": f"v{i}"} for i in order]
        yield [{"index": float(i), "embedding": f"v{i}"} for i in order]  # 3.0 is index 3
        yield [{"embedding": f"v{i}"} for i in order]  # no index at all: as they came
    yield [{"index": 0}, {"index": 0}]
    yield [{"index": 1}, {"index": 2}]
    yield [{"index": 0}, {"index": True}]
    yield [{"index": 0}, {"index": 1.5}]
    yield [{"index": 0}, {"index": "1"}]
    yield [{"index": 1}, "not an object", {"index": 0}]
    yield [{"index": 1}, {"embedding": "none"}]
    yield [{"index": 0}, {"index": 1}, {"index": 1}]


@pytest.mark.parametrize("entries", list(index_cases()), ids=lambda e: f"{len(e)}:{str(e)[:30]}")
def test_answers_are_put_in_order_as_before(entries):
    from pplx_cli.commands.embed import _in_order

    try:
        expected = in_order_before(entries)
    except StreamError:
        with pytest.raises(StreamError, match="do not number its"):
            _in_order(entries)
    else:
        assert _in_order(entries) == expected
