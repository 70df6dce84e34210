"""Embedding vectors decoded in one call give what the value-by-value decoding gave, with the
same checks and errors (pplx_cli/dialects/embeddings.py)."""

import base64
import random

import pytest
from hypothesis import given, strategies as st

from pplx_cli.dialects.embeddings import MAX_DIMENSIONS, decode_embedding
from pplx_cli.errors import StreamError

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


@given(st.binary(max_size=1024))
def test_any_bytes_decode_as_before(raw):
    assert decode_embedding(b64(raw), "base64_int8") == int8_by_value(raw)
    assert decode_embedding(b64(raw), "base64_binary") == bits_by_value(raw)


def test_decoded_values_are_plain_ints():
    values = decode_embedding(b64(EDGES), "base64_int8") + decode_embedding(b64(EDGES), "base64_binary")
    assert {type(v) for v in values} == {int}


def test_an_empty_vector_is_empty_in_both_encodings():
    assert decode_embedding("", "base64_int8") == [] == decode_embedding("", "base64_binary")


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
    with pytest.raises(StreamError) as caught:
        decode_embedding(data, encoding, dimensions)
    assert caught.value.message == message


def test_a_list_of_finite_numbers_is_taken_as_it_is():
    values = [1, -2.5, 0, 3e-5]
    assert decode_embedding(values, "base64_int8", 4) is values
