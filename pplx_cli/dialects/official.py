"""The JSON of Perplexity's own CLI, as pplx answers in its vocabulary (``pplx search web``,
``pplx content snippets``, ``pplx content fetch``, ``pplx auth``): search hits merged from
several wordings of one question, the stdout preview, and every failure as one error object
with that CLI's code. Pure functions, no I/O.

What is known of that CLI comes from its README (github.com/perplexityai/perplexity-cli) and
its published agent skill (perplexityai/api-platform-developers, skills/pplx-cli/SKILL.md).
Where they are silent, pplx chose, and says so here:

- a hit is ``{"url", "title", "domain", "snippet"?, "date"?, "last_updated"?}``, a field the
  service left null or out is left out (as that CLI's SDK's "mapping view contains only
  populated fields"); ``domain`` is the URL's host without a leading ``www.`` (unconfirmed);
- ``-n N`` caps the merged list (as the SDK's ``limit`` caps "the whole merged result set");
  each wording asks for ``min(N, 20)`` results, the Search API's most;
- ``--stdout-preview`` cuts every string longer than N characters but ``url``, ``domain``
  and ``saved_to`` (a cut URL could not be fetched; unconfirmed), keeping the first N and
  adding ``...<truncated>``;
- codes: the five that CLI is known to use are :data:`SEEN`; for failures its documentation
  names no code for (the network, a server error, a malformed answer) pplx uses its own,
  :data:`OURS`. Callers branch on ``error.code`` and treat an unknown one as a failure.
"""

from pplx_cli.errors import (APIError, AuthError, ConfigError, NetworkError, OfficialError, PplxError, RateLimitError,
                             StreamError, UsageError, WriteError, redact)
from pplx_cli.wire.urls import is_http_url, page_key

#: The codes Perplexity's CLI is known to use.
SEEN = ("AUTHENTICATION", "UNKNOWN_ARGUMENT", "ARGUMENT_ERROR", "BAD_REQUEST", "RATE_LIMIT")
#: pplx's own codes, for failures that CLI's documentation has no code for.
OURS = ("NETWORK_ERROR", "SERVER_ERROR", "API_ERROR", "CONFIG_ERROR", "IO_ERROR", "INTERRUPTED", "TERMINATED",
        "INTERNAL_ERROR")
#: What a cut string ends with (that CLI's marker).
TRUNCATED = "...<truncated>"
#: Fields never cut by the preview: what a caller must be able to use as it is.
UNCUT = ("url", "domain", "saved_to")
#: The Search API's most results per query.
MAX_PER_QUERY = 20
#: The longest message said: an error body's summary can be long.
MAX_MESSAGE = 1000

AUTH_HINT = "set PERPLEXITY_API_KEY, or run 'pplx auth login' on a terminal"
#: What the service answers when recency and a publication date bound are sent together
#: (that CLI's skill quotes it); pplx says it before sending.
RECENCY_WITH_DATES = "recency cannot be used together with published_after or published_before"


# ---- search ----


def domain_of(url: str) -> str:
    """A hit's domain: its URL's host, lower case, without a leading ``www.``."""
    from urllib.parse import urlsplit

    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""
    return host[4:] if host.startswith("www.") and host.count(".") > 1 else host


def build_hit(result) -> dict:
    """One Search API result as a hit, or None when it has no http(s) URL (a result that is
    not an object, a ``javascript:`` or an option's spelling is no page to offer)."""
    if not isinstance(result, dict) or not is_http_url(result.get("url")):
        return None
    url = result["url"]
    hit = {"url": url, "title": result["title"] if isinstance(result.get("title"), str) else "", "domain": domain_of(url)}
    for name in ("snippet", "date", "last_updated"):
        if isinstance(result.get(name), str):
            hit[name] = result[name]
    return hit


def result_groups(obj: dict, wordings: int) -> list:
    """The Search API's results as one list per wording: a list of lists for several (one
    per query, in order), else one flat list."""
    results = obj.get("results")
    if not isinstance(results, list):
        raise StreamError("the search answer has no results list")
    if wordings > 1 and results and all(isinstance(group, list) for group in results):
        return results
    return [results]


def merge_hits(groups: list, limit: int) -> list:
    """One ranked list from each wording's results: a page found by several wordings once
    (the same page however its URL is written), at its best rank; ties go to the earlier
    wording. At most ``limit``."""
    best = {}
    for wording, group in enumerate(groups):
        rank = 0
        for result in group if isinstance(group, list) else ():
            hit = build_hit(result)
            if hit is None:
                continue
            rank += 1
            key = page_key(hit["url"])
            if key not in best or (rank, wording) < best[key][0]:
                best[key] = ((rank, wording), hit)
    return [hit for _, hit in sorted(best.values(), key=lambda entry: entry[0])][:limit]


def check_date(value: str) -> str:
    """A date as that CLI takes it, MM/DD/YYYY (padding optional); ValueError otherwise."""
    import datetime
    import re

    if not re.fullmatch(r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}", value or ""):
        raise ValueError(f"{value!r} is not a date as MM/DD/YYYY (e.g. 07/01/2026; not ISO)")
    try:
        datetime.datetime.strptime(value, "%m/%d/%Y")
    except ValueError:
        raise ValueError(f"{value!r} is no date in the calendar") from None
    return value


def split_list(values) -> list:
    """``--domains a,b`` (repeatable): the names, in order, without blanks or repeats."""
    names = [name.strip() for value in values for name in value.split(",")]
    return list(dict.fromkeys(name for name in names if name))


# ---- output ----


def preview(obj, chars: int):
    """``(a copy of obj with every string longer than chars cut, whether any was)``."""
    cut = False

    def walk(value, key=None):
        nonlocal cut
        if isinstance(value, dict):
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, key) for v in value]
        if isinstance(value, str) and key not in UNCUT and len(value) > chars:
            cut = True
            return value[:chars] + TRUNCATED
        return value

    return walk(obj), cut


def dumps(obj) -> str:
    """One object as that CLI prints it: compact JSON on one line (UTF-8, no ASCII escapes;
    no character a terminal would obey), secrets hidden, and a newline."""
    from pplx_cli import jsonsafe

    return jsonsafe.dumps(redact_strings(obj), ensure_ascii=False, separators=(",", ":")) + "\n"


def redact_strings(value):
    """``value`` with every registered secret hidden in each string (before JSON escapes
    could change how a secret is spelled)."""
    if isinstance(value, dict):
        return {redact(k) if isinstance(k, str) else k: redact_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_strings(v) for v in value]
    return redact(value) if isinstance(value, str) else value


def error_object(error: OfficialError, command: str) -> dict:
    """The one object a failure prints on stderr."""
    message = " ".join(redact(error.message or error.code).split())
    out = {"code": error.code, "message": message[:MAX_MESSAGE], "command": command}
    if error.hint:
        out["hint"] = redact(error.hint)
    return {"error": out}


def as_official(exc: BaseException) -> OfficialError:
    """Any failure as that CLI's error: its code, a one-line message, and a hint."""
    from pplx_cli.errors import ExitCode, Hangup, Terminated

    if isinstance(exc, OfficialError):
        return exc
    if isinstance(exc, KeyboardInterrupt):
        return OfficialError("INTERRUPTED", "interrupted", exit_code=ExitCode.INTERRUPTED)
    if isinstance(exc, Terminated):
        code = ExitCode.HANGUP if isinstance(exc, Hangup) else ExitCode.TERMINATED
        return OfficialError("TERMINATED", exc.description, exit_code=code)
    if not isinstance(exc, PplxError):  # a defect: said, never a traceback
        return OfficialError("INTERNAL_ERROR", f"{type(exc).__name__}: {exc}"[:MAX_MESSAGE])
    code, message, hint = _code_and_hint(exc)
    return OfficialError(code, message, hint=hint)


def _code_and_hint(exc: PplxError):
    """``(code, message, hint)`` for one of pplx's own errors."""
    message = exc.message or type(exc).__name__
    if isinstance(exc, AuthError):
        return "AUTHENTICATION", message, AUTH_HINT
    if isinstance(exc, RateLimitError):
        return "RATE_LIMIT", message, "the service's rate limit: try again later"
    if isinstance(exc, ConfigError):
        return "CONFIG_ERROR", message, None
    if isinstance(exc, UsageError):
        return "ARGUMENT_ERROR", message, None
    if isinstance(exc, NetworkError):
        return "NETWORK_ERROR", message, None
    if isinstance(exc, WriteError):
        return "IO_ERROR", message, None
    status = getattr(exc, "status", None) if isinstance(exc, APIError) else None
    if isinstance(status, int) and 400 <= status < 500:
        return "BAD_REQUEST", message, None
    if isinstance(status, int) and status >= 500:
        return "SERVER_ERROR", message, "the service failed: try again later"
    return "API_ERROR", message, None
