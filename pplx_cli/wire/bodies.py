"""Response bodies: read as they arrive (``read1``, whatever the framing), inflated one read
at a time, bounded, handed back to the connection pool when read to the end, and error
bodies summarised in one line. Nothing here writes or knows a command."""

import http.client
import re

from pplx_cli.wire.library import requests, urllib3

from pplx_cli import jsonsafe
from pplx_cli.errors import APIError, NetworkError, StreamError, redact
from pplx_cli.jsonsafe import as_text


#: The most bytes one read asks for; a read returns as soon as any bytes are there.
READ_SIZE = 64 * 1024


#: The largest non-streamed body read (after decompression), like the largest stream event.
MAX_BODY_BYTES = 64 * 1024 * 1024


#: Error types of the 403 that says this key must use the Agent API.
AGENT_API_ERRORS = {"chat_completions_not_available", "agent_api_migration_required"}


def summarise_body(body: bytes, content_type: str = "") -> str:
    """A one-line summary of an error body: the API's message, an HTML title, or an excerpt."""
    return describe_body(body, content_type)[0]


def describe_body(body: bytes, content_type: str = ""):
    """``(summary, error type)`` of an error body, decoding it once.

    The type is the API's ``error.type`` (or an ``error.code`` that names the Agent API
    migration), None when the body is not a JSON error object.
    """
    text = body.decode("utf-8", "replace").strip()
    if not text:
        return "empty body", None
    if "html" in content_type.lower() or text[:200].lower().lstrip().startswith(("<!doctype html", "<html")):
        m = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
        title = " ".join(m.group(1).split()) if m else ""
        return (f"HTML page {title!r}" if title else "HTML page"), None
    try:
        obj = jsonsafe.loads(text)
    except ValueError:
        line = redact(" ".join(text.split()))  # redact before cutting: a cut key is no longer found whole
        return line[:200] + ("..." if len(line) > 200 else ""), None
    return error_message(obj), _error_type(obj)


def _error_type(obj):
    err = obj.get("error") if isinstance(obj, dict) else None
    if not isinstance(err, dict):
        return None
    for key in ("type", "code"):
        if isinstance(err.get(key), str) and err[key] in AGENT_API_ERRORS:
            return err[key]
    return err.get("type") if isinstance(err.get("type"), str) else None


def read_limited(response, limit: int = 64 * 1024) -> bytes:
    """Up to ``limit`` bytes of a (probably error) body; what arrived if the connection fails."""
    parts = []
    size = 0
    try:
        for chunk in iter_body(response):
            parts.append(chunk)
            size += len(chunk)
            if size >= limit:
                break
    except NetworkError:
        pass
    finally:
        response.close()
    return b"".join(parts)[:limit]


def _reader(response):
    """The fastest ``read1`` that gives the body's bytes, decompressed.

    urllib3's ``read1`` adds several Python layers per read (thousands of reads in a long
    stream). When the body has no content coding (pplx asks for ``identity``), the
    http.client response underneath gives the same bytes, chunked decoding included. A
    gzip or deflate body is inflated here, never more than ``size`` bytes per read: a body
    that compresses a thousand to one cannot swell memory before a limit sees it (urllib3
    inflates a whole read at once).
    """
    coding = response.headers.get("Content-Encoding", "identity").strip().lower()
    fp = getattr(response.raw, "_fp", None)
    if fp is not None and hasattr(fp, "read1"):
        if coding in ("", "identity"):
            return fp.read1, fp
        if coding in ("gzip", "x-gzip", "deflate"):
            return _inflating(fp.read1, coding), fp
    raw_read1 = response.raw.read1  # requests leaves decoding off on .raw: ask for it

    def read1(size):
        return raw_read1(size, decode_content=True)

    return read1, None


def _inflating(read1, coding):
    """A ``read1`` that inflates what ``read1`` gives, at most ``size`` bytes per call."""
    import zlib

    # 47: gzip or zlib header, detected; deflate as sent is zlib-wrapped (a raw stream is retried below)
    state = {"d": zlib.decompressobj(47 if coding != "deflate" else zlib.MAX_WBITS), "pending": b"", "raw": False}

    def read(size):
        while True:
            d = state["d"]
            data = state["pending"]
            if not data:
                if d.eof:
                    return b""
                data = read1(size)
                if not data:
                    return d.flush()
            try:
                out = d.decompress(data, size)
            except zlib.error:
                if coding == "deflate" and not state["raw"]:  # some servers send raw deflate
                    state.update(d=zlib.decompressobj(-zlib.MAX_WBITS), raw=True, pending=data)
                    continue
                raise StreamError(f"the {coding} body is corrupt") from None
            state["pending"] = d.unconsumed_tail
            if out:
                return out

    return read


def iter_body(response, size: int = READ_SIZE):
    """Yield the body's bytes as they arrive: each read returns whatever is there.

    ``read1`` hands on bytes as soon as they arrive whatever the framing (chunked,
    Content-Length or connection close); ``iter_content``/``iter_lines`` wait to fill a
    buffer. An idle timeout raises NetworkError with ``timed_out`` set; a dropped
    connection (including a body shorter than its Content-Length) raises NetworkError.
    """
    read1, fp = _reader(response)
    whole = False
    try:
        while True:
            chunk = read1(size)
            if not chunk:
                break
            yield chunk
        if fp is not None and getattr(fp, "length", None):
            raise NetworkError("the connection closed mid-response")
        whole = True
    except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
        error = NetworkError("timed out waiting for data")
        error.timed_out = True
        raise error from None
    except (urllib3.exceptions.HTTPError, requests.exceptions.RequestException, http.client.HTTPException, OSError, ValueError):
        raise NetworkError("the connection closed mid-response") from None
    finally:
        release(response, whole)


def release(response, whole: bool):
    """Done with a response: a body read to its end gives its connection back to the pool
    (the next request skips the TCP and TLS handshakes); one abandoned midway is closed,
    since unread bytes would be taken for the next answer.

    The body is read from the http.client response under urllib3 (see ``_reader``), so
    urllib3 never sees the end and would close the socket: the connection is handed back
    here once http.client says the body is complete.
    """
    raw = response.raw
    fp = getattr(raw, "_fp", None)
    if whole and isinstance(fp, http.client.HTTPResponse) and hasattr(raw, "release_conn"):
        # a Content-Length body read to its end is not marked closed by http.client until a
        # read past it; closing it lets the connection send its next request
        if not fp.isclosed() and fp.length == 0:
            fp.close()
        if fp.isclosed():
            raw.release_conn()  # before close(), which would otherwise close the connection
    response.close()


def check_stream_type(response):
    """Raise if a 200 answer to a streamed request is not an event stream (HTML, JSON)."""
    content_type = response.headers.get("Content-Type", "")
    lowered = content_type.lower()
    if "html" in lowered or "json" in lowered:
        body = read_limited(response)
        summary, error_type = describe_body(body, content_type)
        if "json" in lowered and error_type:
            raise APIError(f"HTTP {response.status_code}: {summary}")
        raise StreamError(f"expected an event stream, got {content_type.split(';')[0]}: {summary}")


def read_object(response, what: str) -> dict:
    """The response's JSON body, which must be an object; ``what`` names it in the error."""
    from pplx_cli.jsonsafe import loads

    try:
        obj = loads(read_body(response))
    except ValueError:
        raise StreamError(f"{what} is not JSON") from None
    if not isinstance(obj, dict):
        raise StreamError(f"{what} is not a JSON object")
    return obj


def read_body(response, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole body of a non-streamed response (decompressed); StreamError past ``limit``."""
    parts, size = [], 0
    for chunk in iter_body(response):
        size += len(chunk)
        if size > limit:
            response.close()
            raise StreamError(f"the response body is larger than {limit // (1024 * 1024)} MiB; stopped reading")
        parts.append(chunk)
    return b"".join(parts)


def error_message(err) -> str:
    """The human message of an API error object (dict, list or string), on one line."""
    return " ".join(_error_text(err).split()) or "unknown error"


def _error_text(err) -> str:
    if isinstance(err, dict):
        inner = err.get("error")
        if isinstance(inner, (dict, str)):
            return _error_text(inner)
        detail = err.get("detail")
        if isinstance(detail, list):  # HTTP 422: [{"loc": [...], "msg": "..."}]
            return "; ".join(_detail_text(d) for d in detail) or "invalid request"
        if isinstance(detail, str):
            return detail
        message = err.get("message")
        kind = err.get("type") or err.get("code")
        if message:
            message = as_text(message)
            return f"{message} ({kind})" if isinstance(kind, str) and kind not in message else message
        if kind:
            return as_text(kind)
        return as_text(err)
    return as_text(err)


def _detail_text(detail):
    if not isinstance(detail, dict):
        return as_text(detail)
    loc = detail.get("loc")
    loc = ".".join(as_text(p) for p in loc if p != "body") if isinstance(loc, list) else ""
    msg = as_text(detail.get("msg", "invalid"))
    return f"{loc}: {msg}" if loc else msg


def header_meta(headers) -> dict:
    """``request_id`` and ``ratelimit`` (limit, remaining, reset, used) from response headers."""
    meta = {}
    if headers.get("x-request-id"):
        meta["request_id"] = headers["x-request-id"]
    from pplx_cli.numbers import header_whole

    limits = {}
    for name in ("limit", "remaining", "reset", "used"):
        value = header_whole(headers.get(f"x-ratelimit-{name}"))  # a date, text or a sign is no count: left out
        if value is not None:
            limits[name] = value
    if limits:
        meta["ratelimit"] = limits
    return meta
