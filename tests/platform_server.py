"""The fake's Search, Context and Embeddings APIs: what ``FakeAPI`` answers on ``POST /search``,
``/v1/context``, ``/v1/embeddings`` and ``/v1/contextualizedembeddings`` (see PERPLEXITY_API.md).

Like the Agent API they are strict: the key is checked first (401 ``invalid_api_key``), then every
unknown top-level field, wrong type or out-of-range value is a 400 in the Agent API's envelope
``{"error": {"message", "type", "code": <status>, "param"}}`` (``type`` is ``invalid_request``, or
``unsupported_format`` for an unknown Context API format). A field sent as ``null`` counts as not
sent, as a Go service decoding into pointers would. Every answer after the key check counts against
the rate limit (``x-ratelimit-*``) and carries an ``x-request-id``; a 200's equals its body's ``id``.

Queued replies: after the key check, a reply queued with ``api.add(path, Reply(...))`` for the exact
path is sent instead of the default. Unlike other paths, each queued reply here is used **once**,
the last one too, so ``api.add("/search", Reply(status=429, ...))`` answers one request and the
next gets the default answer again. With ``api.strict = False`` none of this runs: these paths
behave like any other (queued replies, the last repeating, else a 404).

What a test can set on the ``FakeAPI`` (each read with a default, so set it before requesting):

- ``api.search_results``: None (default: generated from the query, see :func:`search_results`), a
  list of result dicts sent as they are for every query, or a dict ``{query: [results]}`` (a query
  not in it gets generated results).
- ``api.search_server_time``: the ``server_time`` string sent when the request asks for it
  (``display_server_time: true``); None (default): the current UTC time as ``2026-11-05T12:00:00Z``.
- ``api.context_failures``: ``{url: ("error_type", "message")}`` (or ``{url: "error_type"}``): that
  URL's result has status ``{"type": error_type, "message": ...}``, with no content or metadata.
- ``api.context_not_modified``: a set of URLs answered with status ``{"type": "not_modified"}``
  (content and metadata are still sent).
- ``api.context_pages``: ``{url: {field: value}}`` merged over the generated page of that URL
  (fields of :func:`context_page`: title, markdown, html, links, highlights, description, language,
  author, published_date, content_type). A page given its ``markdown`` but no ``highlights`` has
  the highlights the Context API would pick for the query: its passages that bear on it
  (:func:`pick_highlights`).
- ``api.context_latency``: seconds (default 0) each Context API answer waits before it is sent
  (only its own request's thread waits), as a round trip to the service would.

Without ``context_failures``, a URL is failed by its text: one containing ``timeout`` gets
``timeout``, ``blocked`` gets ``blocked``, ``fail`` gets ``fetch_failed``; one not starting with
``http://`` or ``https://`` gets ``invalid_url``.

Shapes chosen where PERPLEXITY_API.md is silent (change them here when the service shows otherwise):

- Search: ``results`` is a flat list for a string ``query`` and a list of lists (one per query, in
  order) when ``query`` is a list, even a list of one. ``max_results`` applies per query; at most
  :data:`RESULTS_PER_QUERY` are found. Filters are validated but only ``search_domain_filter``
  changes the results (their hosts); ``date`` and ``last_updated`` are ``YYYY-MM-DD`` or null.
  ``max_tokens`` is 1..1,000,000, ``max_tokens_per_page`` ≥ 1, ``country`` two letters (either
  case), ``search_language_filter`` lower-case two-letter codes, dates ``M/D/YYYY`` (real dates).
  Recency with any of the four date filters is a 400 on ``search_recency_filter``.
- Context: a result is ``{"url", "status", <one key per format>, "metadata"}`` for ok and
  not_modified (the page's title is ``metadata.title``, as the Context API's docs place it among
  the page metadata: there is no top-level title), and only ``{"url", "status"}`` for a failure. ``formats`` must be a non-empty list;
  the ``highlights`` format needs ``highlights.query`` (400, param ``highlights``).
  ``max_tokens_per_url`` cuts markdown and html after that many tokens (as counted below).
  ``metadata.origin`` is ``live`` when ``max_age_seconds`` is 0, else ``cached``; ``fetched_at``
  is then now, else now minus min(max_age_seconds, 3600) s. There is no usage or cost.
- Embeddings: ``model`` is required. Tokens are counted as ``len(text.split())``
  (:func:`count_tokens`); limits are 32,000 tokens an input (a document, for contextualized
  embeddings), 120,000 in all, 512 inputs or documents, 16,000 chunks (the SDK's numbers).
  ``base64_binary`` needs ``dimensions`` to be a multiple of 8 (400 on ``dimensions``).
  Contextualized: ``data`` holds one ``{"object": "list", "index": i, "data": [{"object":
  "embedding", "index": j, "embedding"}]}`` per document (the shape of Perplexity's API reference).
  Costs are ``tokens * price / 1e6`` rounded to 12 places (:func:`embedding_cost`).
- Vectors (:func:`expected_embedding`): int8 values are the bytes of sha256(text + counter) blocks,
  taken as signed; a binary bit is 1 where that int8 value is positive, packed least significant
  bit first, as Perplexity's embeddings guide unpacks them (``np.unpackbits(...,
  bitorder="little")``). So a
  smaller ``dimensions`` is a prefix of a larger one (Matryoshka) and both models give the same
  vector. A contextualized chunk's vector is seeded by its whole document and its index.
"""

import base64
import copy
import datetime
import hashlib
import html
import json
import re
import uuid
from urllib.parse import urlsplit

from .server import agent_error, json_reply

# ---- the data ----

#: The most results the fake finds for one query (``max_results`` may ask for up to 20).
RESULTS_PER_QUERY = 15
#: Hosts of generated search results, in turn (unless ``search_domain_filter`` names some).
RESULT_HOSTS = ("en.wikipedia.org", "www.example.com", "docs.example.org", "news.example.net")

#: Embedding models: (full dimensions, USD per million input tokens).
EMBEDDING_MODELS = {"pplx-embed-v1-0.6b": (1024, 0.004), "pplx-embed-v1-4b": (2560, 0.03)}
CONTEXT_EMBEDDING_MODELS = {"pplx-embed-context-v1-0.6b": (1024, 0.008), "pplx-embed-context-v1-4b": (2560, 0.05)}
MIN_DIMENSIONS = 128
ENCODINGS = ("base64_int8", "base64_binary")
MAX_INPUTS = 512  # texts, or documents for contextualized embeddings
MAX_INPUT_TOKENS = 32_000  # a text, or a whole document
MAX_TOTAL_TOKENS = 120_000
MAX_CHUNKS = 16_000

CONTEXT_FORMATS = ("markdown", "html", "links", "highlights")
MAX_URLS = 50
DEFAULT_MAX_AGE = 172_800  # two days
#: Failures chosen by a URL's text when ``api.context_failures`` does not name it (first match wins).
FAILURE_MARKERS = (("timeout", "timeout", "the page did not load in time"),
                   ("blocked", "blocked", "the site does not allow fetching"),
                   ("fail", "fetch_failed", "the page could not be fetched"))

SEARCH_FIELDS = {
    "query", "max_results", "max_tokens", "max_tokens_per_page", "search_type", "search_context_size", "search_mode",
    "search_domain_filter", "search_language_filter", "search_recency_filter", "search_after_date_filter",
    "search_before_date_filter", "last_updated_after_filter", "last_updated_before_filter", "country",
    "display_server_time",
}
DATE_FILTERS = ("search_after_date_filter", "search_before_date_filter", "last_updated_after_filter", "last_updated_before_filter")
CONTEXT_FIELDS = {"urls", "formats", "highlights", "max_tokens_per_url", "max_age_seconds"}
EMBEDDING_FIELDS = {"input", "model", "dimensions", "encoding_format"}


class Invalid(Exception):
    """A request the service rejects with a 400."""

    def __init__(self, message, param=None, type="invalid_request"):
        super().__init__(message)
        self.message, self.param, self.type = message, param, type


# ---- what the fake answers (helpers tests can use to predict it) ----

def count_tokens(text):
    """The fake's token count of a text: its whitespace-separated words."""
    return len(text.split())


def timestamp(when=None):
    """A UTC time as ``2026-11-05T12:00:00Z`` (now when not given)."""
    when = when or datetime.datetime.now(datetime.timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def search_results(query, max_results=10, domains=()):
    """The results generated for one query: the first ``max_results`` of :data:`RESULTS_PER_QUERY`.

    Every third has a null ``date`` and every fourth a null ``last_updated``; the second has
    non-ASCII text in its title and a newline in its snippet. Hosts come from the domains a
    ``search_domain_filter`` includes, else :data:`RESULT_HOSTS` less those it excludes (``-host``).
    """
    included = [d for d in domains if not d.startswith("-")]
    excluded = [d[1:] for d in domains if d.startswith("-")]
    hosts = included or [h for h in RESULT_HOSTS if not any(h == d or h.endswith("." + d) for d in excluded)] or ["results.example"]
    digest = hashlib.sha256(query.encode()).digest()
    slug = re.sub(r"[^a-z0-9]+", "-", query.lower()).strip("-")[:40] or digest.hex()[:12]
    out = []
    for i in range(min(max_results, RESULTS_PER_QUERY)):
        n = i + 1
        published = datetime.date(2020, 1, 1) + datetime.timedelta(days=digest[i] * 7 + i)
        updated = published + datetime.timedelta(days=digest[i + 16])
        title, snippet = f"Result {n}: {query}", f"What page {n} says about {query}."
        if n == 2:  # the kind of text real pages have
            title, snippet = f"Café «{query}» — naïve résumé", f"Première ligne sur {query}.\nSecond line: 日本語のテキスト 🚀"
        out.append({"title": title, "url": f"https://{hosts[i % len(hosts)]}/{slug}/{n}", "snippet": snippet,
                    "date": None if n % 3 == 0 else published.isoformat(),
                    "last_updated": None if n % 4 == 0 else updated.isoformat()})
    return out


def context_page(url, query=None):
    """The generated content of a page: every format, and the metadata fields that come from the page."""
    title = f"Title for {url}"
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else "https://example.com"
    digest = hashlib.sha256(url.encode()).digest()
    return {
        "title": title,
        "markdown": f"# {title}\n\nBody of {url}.\n",
        "html": f"<html><head><title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
                f"<p>Body of {html.escape(url)}.</p></body></html>",
        "links": [f"{origin}/about", f"{origin}/contact", "https://example.org/"],
        "highlights": [f"Body of {url}.", f"Matched: {query}"],
        "description": f"Description of {url}",
        "language": "en",
        "author": "Ada Writer" if digest[0] % 2 else None,
        "published_date": (datetime.date(2021, 1, 1) + datetime.timedelta(days=digest[1] * 5)).isoformat() if digest[2] % 3 else None,
        "content_type": "text/html",
    }


def pick_highlights(markdown, query, most=3):
    """The passages of a page that bear on a query, as the fake's Context API picks them: its
    paragraphs (heading marks taken off) sharing at least one word of three letters or more
    with the query, the most shared first (the page's order among equals), at most ``most``."""
    words = {w for w in re.findall(r"\w+", query.lower()) if len(w) >= 3}
    scored = []
    for i, paragraph in enumerate(re.split(r"\n\s*\n", markdown)):
        text = re.sub(r"^#+\s*", "", paragraph.strip())
        shared = len(words & set(re.findall(r"\w+", text.lower())))
        if text and shared:
            scored.append((-shared, i, text))
    return [text for _, _, text in sorted(scored)[:most]]


def truncate_tokens(text, limit):
    """The text cut after its first ``limit`` tokens (whitespace between them kept)."""
    words = list(re.finditer(r"\S+", text))
    return text if len(words) <= limit else text[:words[limit - 1].end()]


def _vector_bytes(seed, n):
    """``n`` bytes from sha256(seed + a 4-byte counter), block after block."""
    out = b""
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return out[:n]


def _values(seed, dimensions, encoding):
    """A vector as its decoded numbers: int8 values, or bits (1 where the int8 value is positive)."""
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}")
    values = [b - 256 if b > 127 else b for b in _vector_bytes(seed, dimensions)]
    if encoding == "base64_int8":
        return values
    if dimensions % 8:
        raise ValueError("base64_binary needs dimensions that are a multiple of 8")
    return [1 if v > 0 else 0 for v in values]


def expected_embedding(text, dimensions, encoding="base64_int8"):
    """The decoded embedding the fake sends for a text: ints -128..127, or 0/1 bits (dimension order)."""
    return _values(text.encode(), dimensions, encoding)


def expected_contextualized_embedding(document, index, dimensions, encoding="base64_int8"):
    """The decoded embedding of chunk ``index`` of ``document`` (a list of chunks)."""
    return _values(json.dumps([document, index], ensure_ascii=False).encode(), dimensions, encoding)


def encode_embedding(values, encoding="base64_int8"):
    """Decoded numbers (as from :func:`expected_embedding`) as the base64 string the API sends."""
    if encoding == "base64_int8":
        raw = bytes(v & 0xFF for v in values)
    else:
        # dimension 8k+j is bit j of byte k, least significant first (the guide's bitorder="little")
        raw = bytes(sum(bit << j for j, bit in enumerate(values[k:k + 8])) for k in range(0, len(values), 8))
    return base64.b64encode(raw).decode()


def decode_embedding(data, encoding="base64_int8"):
    """A base64 embedding as numbers: signed ints for int8, bits least significant first for binary."""
    raw = base64.b64decode(data, validate=True)
    if encoding == "base64_int8":
        return [b - 256 if b > 127 else b for b in raw]
    return [(b >> k) & 1 for b in raw for k in range(8)]


def embedding_cost(model, tokens):
    """USD for ``tokens`` input tokens on an embedding model (either kind), rounded to 12 places (no float noise)."""
    return round(tokens * {**EMBEDDING_MODELS, **CONTEXT_EMBEDDING_MODELS}[model][1] / 1_000_000, 12)


# ---- serving ----

def answer(api, route, headers, body):
    """The Reply to one POST to a path in :data:`PATHS` (called by ``FakeAPI.answer`` when strict)."""
    early = api.key_or_queued(route, headers)  # a bad key, or a queued reply (used once)
    if early is not None:
        return early
    if route == "/v1/context" and getattr(api, "context_latency", 0):
        api._closed.wait(api.context_latency)  # only this request's thread waits; a closing server ends the wait
    rid = str(uuid.uuid4())
    base = {"x-request-id": rid, **api.ratelimit_headers()}
    handler, fields = PATHS[route]
    try:
        if not isinstance(body, dict):
            raise Invalid("invalid request body: not a JSON object")
        unknown = sorted(set(body) - fields)
        if unknown:
            raise Invalid(f'invalid request body: json: unknown field "{unknown[0]}"', unknown[0])
        payload = handler(api, {k: v for k, v in body.items() if v is not None}, rid)
    except Invalid as rejection:
        return agent_error(400, rejection.message, rejection.type, rejection.param, headers=base)
    return json_reply(payload, 200, base)


# ---- field checks: each returns the value (or the default when it was not sent) or raises Invalid ----

def _integer(body, name, low, high=None, default=None):
    value = body.get(name, default)
    if name in body and (type(value) is not int or value < low or (high is not None and value > high)):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise Invalid(f"validation failed: {name} must be an integer {bounds}", name)
    return value


def _choice(body, name, choices, default=None):
    value = body.get(name, default)
    if name in body and value not in choices:
        raise Invalid(f"validation failed: {name} must be one of {', '.join(choices)}", name)
    return value


def _strings(body, name, most, pattern=None, what="non-empty strings"):
    value = body.get(name, [])
    if name in body and (not isinstance(value, list) or len(value) > most
                         or not all(isinstance(v, str) and v.strip() and re.fullmatch(pattern or ".+", v) for v in value)):
        raise Invalid(f"validation failed: {name} must be a list of at most {most} {what}", name)
    return value


def _date(body, name):
    value = body.get(name)
    if name not in body:
        return None
    try:
        if not isinstance(value, str) or not re.fullmatch(r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}", value):
            raise ValueError
        datetime.datetime.strptime(value, "%m/%d/%Y")
    except ValueError:
        raise Invalid(f"validation failed: {name} must be a date as M/D/YYYY", name) from None
    return value


def _boolean(body, name):
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise Invalid(f"validation failed: {name} must be a boolean", name)
    return value


# ---- the Search API ----

def search(api, body, rid):
    """``POST /search``: ``{"id", "results", "server_time"}``."""
    query = body.get("query")
    queries = query if isinstance(query, list) else [query]
    if not (1 <= len(queries) <= 5 and all(isinstance(q, str) and q.strip() for q in queries)):
        raise Invalid("validation failed: query must be a non-empty string or a list of 1 to 5 non-empty strings", "query")
    max_results = _integer(body, "max_results", 1, 20, default=10)
    _integer(body, "max_tokens", 1, 1_000_000)
    _integer(body, "max_tokens_per_page", 1)
    _choice(body, "search_type", ("web", "fast", "people"))
    _choice(body, "search_context_size", ("low", "medium", "high"))
    _choice(body, "search_mode", ("web", "academic", "sec"))
    domains = _strings(body, "search_domain_filter", 20)
    _strings(body, "search_language_filter", 20, r"[a-z]{2}", "ISO 639-1 codes")
    recency = _choice(body, "search_recency_filter", ("hour", "day", "week", "month", "year"))
    dates = [name for name in DATE_FILTERS if _date(body, name)]
    if recency and dates:
        raise Invalid(f"validation failed: search_recency_filter cannot be used with {dates[0]}", "search_recency_filter")
    country = body.get("country")
    if "country" in body and not (isinstance(country, str) and re.fullmatch(r"[A-Za-z]{2}", country)):
        raise Invalid("validation failed: country must be an ISO 3166-1 alpha-2 code", "country")
    server_time = (getattr(api, "search_server_time", None) or timestamp()) if _boolean(body, "display_server_time") else None
    per_query = [_results_for(api, q, max_results, domains) for q in queries]
    return {"id": rid, "results": per_query if isinstance(query, list) else per_query[0], "server_time": server_time}


def _results_for(api, query, max_results, domains):
    """One query's results: the test's own (``api.search_results``) or generated ones."""
    given = getattr(api, "search_results", None)
    if isinstance(given, dict):
        given = given.get(query)
    return copy.deepcopy(given) if given is not None else search_results(query, max_results, domains)


# ---- the Context API ----

def context(api, body, rid):
    """``POST /v1/context``: ``{"id", "results"}``, one result per URL in input order."""
    urls = body.get("urls")
    if not (isinstance(urls, list) and 1 <= len(urls) <= MAX_URLS and all(isinstance(u, str) and u for u in urls)):
        raise Invalid(f"validation failed: urls must be a list of 1 to {MAX_URLS} URLs", "urls")
    formats = body.get("formats", ["markdown"])
    if not (isinstance(formats, list) and formats and all(isinstance(f, str) for f in formats)):
        raise Invalid("validation failed: formats must be a non-empty list of format names", "formats")
    for name in formats:
        if name not in CONTEXT_FORMATS:
            raise Invalid(f'unsupported format "{name}"', "formats", "unsupported_format")
    highlights = body.get("highlights", {})
    if not isinstance(highlights, dict) or set(highlights) - {"query"} or not isinstance(highlights.get("query", ""), str):
        raise Invalid('validation failed: highlights must be {"query": string}', "highlights")
    query = highlights.get("query")
    if "highlights" in formats and not (query and query.strip()):
        raise Invalid("validation failed: the highlights format needs highlights.query", "highlights")
    limit = _integer(body, "max_tokens_per_url", 1)
    max_age = _integer(body, "max_age_seconds", 0, default=DEFAULT_MAX_AGE)
    now = datetime.datetime.now(datetime.timezone.utc)
    fetched_at = timestamp(now - datetime.timedelta(seconds=min(max_age, 3600)))
    formats = list(dict.fromkeys(formats))
    return {"id": rid, "results": [_context_result(api, url, formats, query, limit, max_age, fetched_at) for url in urls]}


def _context_status(api, url):
    """A URL's status: the test's failure, not_modified, a failure its text asks for, else ok."""
    failure = (getattr(api, "context_failures", None) or {}).get(url)
    if failure is not None:
        kind, message = (failure, None) if isinstance(failure, str) else failure
        return {"type": kind, "message": message or f"{kind.replace('_', ' ')}: {url}"}
    if url in (getattr(api, "context_not_modified", None) or ()):
        return {"type": "not_modified"}
    if not url.startswith(("http://", "https://")):
        return {"type": "invalid_url", "message": "the URL must start with http:// or https://"}
    for marker, kind, message in FAILURE_MARKERS:
        if marker in url:
            return {"type": kind, "message": message}
    return {"type": "ok"}


def _context_result(api, url, formats, query, limit, max_age, fetched_at):
    """One URL's result: its status, and for ok/not_modified its content per format and metadata (the title in it)."""
    status = _context_status(api, url)
    if status["type"] not in ("ok", "not_modified"):
        return {"url": url, "status": status}
    given = copy.deepcopy((getattr(api, "context_pages", None) or {}).get(url, {}))
    page = {**context_page(url, query), **given}
    if "markdown" in given and "highlights" not in given and query:
        page["highlights"] = pick_highlights(given["markdown"], query)
    result = {"url": url, "status": status}
    for name in formats:
        content = page[name]
        result[name] = truncate_tokens(content, limit) if limit and name in ("markdown", "html") else content
    result["metadata"] = {
        "source_url": url, "title": page["title"], "description": page["description"], "language": page["language"],
        "author": page["author"], "published_date": page["published_date"], "content_type": page["content_type"],
        "origin": "live" if max_age == 0 else "cached", "fetched_at": fetched_at,
    }
    return result


# ---- the Embeddings APIs ----

def _model_options(body, models):
    """(model, dimensions, encoding) of an embeddings request, checked against its models."""
    model = body.get("model")
    if model not in models:
        if "model" not in body:
            raise Invalid("validation failed: model is required", "model")
        raise Invalid(f"validation failed: model {json.dumps(model)} is not supported", "model")
    full = models[model][0]
    dimensions = body.get("dimensions", full)
    if type(dimensions) is not int or not MIN_DIMENSIONS <= dimensions <= full:
        raise Invalid(f"validation failed: dimensions must be an integer between {MIN_DIMENSIONS} and {full} for {model}", "dimensions")
    encoding = _choice(body, "encoding_format", ENCODINGS, default="base64_int8")
    if encoding == "base64_binary" and dimensions % 8:
        raise Invalid("validation failed: dimensions must be a multiple of 8 for base64_binary", "dimensions")
    return model, dimensions, encoding


def _check_tokens(counts, what):
    """400 when one text (or document) or all of them are over the token limits."""
    for i, n in enumerate(counts):
        if n > MAX_INPUT_TOKENS:
            raise Invalid(f"validation failed: {what} {i} has {n} tokens; the limit is {MAX_INPUT_TOKENS}", "input")
    if sum(counts) > MAX_TOTAL_TOKENS:
        raise Invalid(f"validation failed: the input has {sum(counts)} tokens; the limit is {MAX_TOTAL_TOKENS}", "input")


def _usage(model, tokens):
    cost = embedding_cost(model, tokens)
    return {"prompt_tokens": tokens, "total_tokens": tokens, "cost": {"currency": "USD", "input_cost": cost, "total_cost": cost}}


def embeddings(api, body, rid):
    """``POST /v1/embeddings``: ``{"object": "list", "model", "data": [embedding per input], "usage"}``."""
    texts = body.get("input")
    if "input" not in body:
        raise Invalid("validation failed: input is required", "input")
    texts = [texts] if isinstance(texts, str) else texts
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise Invalid("validation failed: input must be a string or a list of strings", "input")
    if not 1 <= len(texts) <= MAX_INPUTS:
        raise Invalid(f"validation failed: input must have 1 to {MAX_INPUTS} items", "input")
    if "" in texts:
        raise Invalid("validation failed: input cannot contain empty strings", "input")
    model, dimensions, encoding = _model_options(body, EMBEDDING_MODELS)
    counts = [count_tokens(t) for t in texts]
    _check_tokens(counts, "input")
    data = [{"object": "embedding", "index": i, "embedding": encode_embedding(expected_embedding(t, dimensions, encoding), encoding)}
            for i, t in enumerate(texts)]
    return {"object": "list", "model": model, "data": data, "usage": _usage(model, sum(counts))}


def contextualized_embeddings(api, body, rid):
    """``POST /v1/contextualizedembeddings``: one ``{"object": "list", "index", "data": [per chunk]}`` per document."""
    documents = body.get("input")
    if "input" not in body:
        raise Invalid("validation failed: input is required", "input")
    if not (isinstance(documents, list) and all(isinstance(d, list) and all(isinstance(c, str) for c in d) for d in documents)):
        raise Invalid("validation failed: input must be a list of documents, each a list of strings", "input")
    if not 1 <= len(documents) <= MAX_INPUTS:
        raise Invalid(f"validation failed: input must have 1 to {MAX_INPUTS} documents", "input")
    if not all(documents):
        raise Invalid("validation failed: a document must have at least one chunk", "input")
    if any("" in d for d in documents):
        raise Invalid("validation failed: input cannot contain empty strings", "input")
    chunks = sum(len(d) for d in documents)
    if chunks > MAX_CHUNKS:
        raise Invalid(f"validation failed: input has {chunks} chunks; the limit is {MAX_CHUNKS}", "input")
    model, dimensions, encoding = _model_options(body, CONTEXT_EMBEDDING_MODELS)
    counts = [sum(count_tokens(c) for c in d) for d in documents]
    _check_tokens(counts, "document")
    data = [{"object": "list", "index": i, "data": [
        {"object": "embedding", "index": j,
         "embedding": encode_embedding(expected_contextualized_embedding(d, j, dimensions, encoding), encoding)}
        for j in range(len(d))]} for i, d in enumerate(documents)]
    return {"object": "list", "model": model, "data": data, "usage": _usage(model, sum(counts))}


#: The paths this module answers: (handler, the top-level fields its request may have).
PATHS = {
    "/search": (search, SEARCH_FIELDS),
    "/v1/context": (context, CONTEXT_FIELDS),
    "/v1/embeddings": (embeddings, EMBEDDING_FIELDS),
    "/v1/contextualizedembeddings": (contextualized_embeddings, EMBEDDING_FIELDS),
}
