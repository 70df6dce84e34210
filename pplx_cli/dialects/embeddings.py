"""Embedding vectors as the Embeddings API sends them: base64 text into numbers, or straight
into the JSON text of the numbers.

``base64_int8`` is one signed byte per dimension. ``base64_binary`` is packed bits, one per
dimension, least significant bit first within each byte: Perplexity's embeddings guide
unpacks them with ``np.unpackbits(..., bitorder="little")``, so byte 0x01 is dimension 0 set.
A list of finite numbers is taken as it is.

``pplx embed`` of 100,000 lines at 256 dimensions is 25.6 million values: what is done per
value is what the command costs. So a vector is decoded in one call (``array``,
``int.from_bytes``), and :func:`embedding_json` writes its JSON text with a few passes over
its bytes in C, never making a Python int or string of each value.
"""

import binascii
from array import array

from pplx_cli.errors import StreamError

#: The most values an embedding may have when the caller cannot say how many it asked for.
MAX_DIMENSIONS = 8192


def decode_embedding(data, encoding: str, dimensions: int = None) -> list:
    """An embedding as a list of numbers: ``base64_int8`` -> signed bytes, ``base64_binary``
    -> 0 and 1, least significant bit of each byte first.

    ``dimensions`` is how many numbers were asked for: a vector of any other length is a
    StreamError, found from the base64 text's length before a byte is decoded, so an answer
    that inflates to gigabytes of numbers is refused at its size, not after it. Without it,
    MAX_DIMENSIONS bounds the length. A value that is not a finite number is an error, not null."""
    raw = _checked(data, encoding, dimensions)
    if isinstance(raw, list):
        return raw
    if encoding == "base64_binary":
        return list(_bit_digits(raw).translate(_DIGIT_VALUES))
    return array("b", raw).tolist()


def embedding_json(data, encoding: str, dimensions: int = None) -> bytes:
    """The embedding as a JSON array, byte for byte ``jsonsafe.dumps(decode_embedding(...))``
    (``", "`` between the numbers), with the same checks and errors."""
    raw = _checked(data, encoding, dimensions)
    if isinstance(raw, list):
        from pplx_cli.jsonsafe import dumps

        return dumps(raw).encode()
    if encoding == "base64_binary":
        return _json_array([_bit_digits(raw)], len(raw) * 8)
    return _json_array([raw.translate(table) for table in _INT8_COLUMNS], len(raw))


def _checked(data, encoding: str, dimensions):
    """The embedding's bytes (or its list of numbers), its length and values checked."""
    expected = dimensions
    limit = dimensions or MAX_DIMENSIONS
    if isinstance(data, list):
        if len(data) > limit or (expected and len(data) != expected):
            raise StreamError(_wrong_length(len(data), expected, limit))
        from pplx_cli.numbers import number

        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) and number(x) is not None for x in data):
            raise StreamError("an embedding holds a value that is not a finite number")
        return data
    if not isinstance(data, str):
        raise StreamError("an embedding is neither base64 nor a list of numbers")
    per_byte = 8 if encoding == "base64_binary" else 1
    # 4 base64 characters carry 3 bytes: the length says the vector's size before decoding it
    if len(data) > 4 * (-(-limit // per_byte) // 3 + 1):
        size = len(data) * 3 // 4 - (len(data) - len(data.rstrip("=")))  # the bytes it would decode to
        raise StreamError(_wrong_length(size * per_byte, expected, limit))
    try:
        # base64.b64decode(data, validate=True) without its Python layer: the same strict
        # decoding, and a str that is not ASCII is a ValueError here too
        raw = binascii.a2b_base64(data, strict_mode=True)
    except ValueError:
        raise StreamError("an embedding is not valid base64") from None
    if (expected and len(raw) * per_byte != expected) or len(raw) * per_byte > limit:
        raise StreamError(_wrong_length(len(raw) * per_byte, expected, limit))
    return raw


def _wrong_length(got, expected, limit) -> str:
    if expected:
        return f"an embedding has {got:,} values, not the {expected:,} asked for"
    return f"an embedding has {got:,} values, more than the {limit:,} any model gives"


def _bit_digits(raw: bytes) -> bytes:
    """One ASCII digit, ``0`` or ``1``, per bit of ``raw``, least significant bit of each byte
    first: bit k of the little-endian integer is bit k % 8 of byte k // 8, so the integer's
    binary digits, reversed, are the dimensions in order."""
    if not raw:
        return b""  # format(0, "00b") is "0", not ""
    return format(int.from_bytes(raw, "little"), f"0{8 * len(raw)}b")[::-1].encode("ascii")


_DIGIT_VALUES = bytes.maketrans(b"01", b"\x00\x01")

#: The text of each signed byte (-128 to 127) in four columns of one character each, short
#: ones padded with NUL: column k's translation table gives byte b's k-th character.
_INT8_TEXT = [str(b - 256 if b > 127 else b).encode() for b in range(256)]
_INT8_COLUMNS = [bytes(text[k] if k < len(text) else 0 for text in _INT8_TEXT) for k in range(4)]


def _json_array(columns: list, n: int) -> bytes:
    """The JSON array of ``n`` numbers whose texts are given column by column
    (``columns[k][i]`` is the k-th character of number i, NUL when number i is shorter): the
    columns interleaved with ", " by slice assignment, then the padding deleted."""
    width = len(columns) + 2
    out = bytearray(width * n)
    for k, column in enumerate(columns):
        out[k::width] = column
    out[width - 2::width] = b"," * n
    out[width - 1::width] = b" " * n
    if len(columns) > 1:
        out = out.translate(None, b"\0")
    return b"[" + out[:-2] + b"]"
