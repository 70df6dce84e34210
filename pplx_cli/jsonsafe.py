"""JSON in and out that a response of the wrong shape cannot break.

``loads`` reads JSON as :func:`json.loads` does, except that ``NaN``, ``Infinity`` and
``-Infinity`` (which Python accepts and JSON does not) become None, and nesting too deep to
parse is a ValueError like any other malformed text. ``dumps`` always writes valid JSON:
non-finite floats become null, other values JSON cannot hold their ``str()``, and anything
nested deeper than :data:`MAX_DEPTH` is cut to null. A number too large for a float
(``1e999``) still loads as ``inf`` (checking every float would slow every event down);
``dumps`` writes it as null.
"""

import json
import math
import re

#: The deepest nesting ``dumps`` writes; deeper values become null. Real responses nest
#: about a dozen levels; jq 1.6 refuses more than 256.
MAX_DEPTH = 200


def _no_constant(name):
    return None


# One decoder, built once: json.loads with any hook would build a new one per call. The
# parse_constant hook is called only for NaN/Infinity tokens, so it costs nothing otherwise.
_decode = json.JSONDecoder(parse_constant=_no_constant).decode


_raw_decode = json.JSONDecoder(parse_constant=_no_constant).raw_decode


def decode(text: str):
    """Parse a JSON text (str): ``loads`` without its checks, for the hot path of a stream
    (too deep is a ValueError all the same). A text with no space around its value (every
    event the service sends) skips the decoder's two whitespace scans; one that ends in JSON
    whitespace (a body's final newline) is still parsed once."""
    try:
        obj, end = _raw_decode(text)
        if end == len(text) or not text[end:].strip(" \t\n\r"):
            return obj
    except ValueError:  # leading space, or not JSON: _decode says which
        pass
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    try:
        return _decode(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def loads(text):
    """Parse JSON (str or bytes); NaN and Infinity become None; too deep is a ValueError."""
    if isinstance(text, (bytes, bytearray)):
        text = text.decode(json.detect_encoding(text), "surrogatepass")  # as json.loads does
    elif not isinstance(text, str):
        raise TypeError(f"JSON must be str or bytes, not {type(text).__name__}")
    return decode(text)


#: What json.dumps leaves raw in a string with ensure_ascii=False, and a terminal may obey or
#: show in another order: DEL, the C1 controls, line and paragraph separators, and bidi
#: embeddings, overrides and isolates. dumps writes them as \uXXXX escapes (still the same JSON).
_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match) -> str:
    return f"\\u{ord(match.group()):04x}"


def dumps(obj, **kw) -> str:
    """``json.dumps(obj, **kw)`` that always gives valid JSON (see the module's docstring),
    with no character a terminal would obey: C0 controls are escaped by JSON itself, and
    DEL, C1, U+2028/2029 and bidi controls here, so JSON output is safe on a terminal and
    byte for byte the same in a pipe."""
    try:
        text = json.dumps(obj, allow_nan=False, **kw)
    except (ValueError, TypeError, RecursionError):
        text = None
    else:
        # JSON cannot nest deeper than it has brackets: only a text with many needs a look
        if text.count("[") + text.count("{") > MAX_DEPTH:
            text = None
    if text is None:
        text = json.dumps(_clean(obj, 1, set()), allow_nan=False, **kw)
    return _UNSAFE.sub(_escape, text) if not kw.get("ensure_ascii", True) else text


def _clean(value, depth, path):
    """A copy of ``value`` that JSON can hold, cut below MAX_DEPTH (``path``: the ids of the
    containers above, so a cycle is cut too)."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int):
        return value if value.bit_length() < 10_000 else None  # int -> str refuses past 4300 digits
    if isinstance(value, (dict, list, tuple)):
        if depth > MAX_DEPTH or id(value) in path:
            return None
        path.add(id(value))
        if isinstance(value, dict):
            out = {_key(k): _clean(v, depth + 1, path) for k, v in value.items()}
        else:
            out = [_clean(v, depth + 1, path) for v in value]
        path.discard(id(value))
        return out
    return _text(value)


def _key(key) -> str:
    """A dict key as JSON names it (json.dumps takes some non-str keys, sort_keys none)."""
    if isinstance(key, str):
        return key
    return json.dumps(key) if key is None or isinstance(key, bool) else _text(key)


def _text(value) -> str:
    try:
        return str(value)
    except Exception:  # a broken __str__, or one too deep to render
        return type(value).__name__


def as_text(value, limit: int = 200) -> str:
    """A value from a response as text for a message: a string as it is, anything else
    (a number, a list, something nested too deep for ``str``) as at most ``limit``
    characters of JSON."""
    return value if isinstance(value, str) else dumps(value, ensure_ascii=False)[:limit]
