"""The rest of Perplexity's platform: the Search, Context and Embeddings APIs.

Each command (``pplx search``, ``fetch``, ``embed``) sends one or more JSON requests with the
same client, retries, key handling and errors as ``ask``, and records what it did in the
history with its kind. :class:`Call` holds what they share; the request bodies are built and
the answers read here, with no click and no ``sys.stdout``.
"""

import time

from pplx_cli.errors import StreamError, UsageError, outcome
from pplx_cli.wire.urls import is_http_url, page_key  # noqa: F401  (is_http_url: for the commands)

SEARCH_PATH = "/search"
CONTEXT_PATH = "/v1/context"
EMBEDDINGS_PATH = "/v1/embeddings"
CONTEXTUAL_PATH = "/v1/contextualizedembeddings"

#: US dollars per Search API request (the API returns no cost: a documented estimate).
SEARCH_PRICE = {"web": 0.005, "fast": 0.001}
#: The Embeddings API's limits per request: inputs, and text (a token is at least one byte,
#: so a request of at most this many bytes is within the 120K-token cap).
MAX_INPUTS = 512
MAX_REQUEST_BYTES = 120_000
#: The contextualized endpoint's limits: documents, and chunks in all.
MAX_DOCUMENTS = 512
MAX_CHUNKS = 16_000
EMBEDDING_MODELS = ("pplx-embed-v1-0.6b", "pplx-embed-v1-4b")
CONTEXTUAL_MODELS = ("pplx-embed-context-v1-0.6b", "pplx-embed-context-v1-4b")
#: Each model's full number of dimensions (its embeddings without --dimensions), from the
#: API reference; for a model pplx does not know, dialects.embeddings.MAX_DIMENSIONS bounds
#: what it accepts.
FULL_DIMENSIONS = {"pplx-embed-v1-0.6b": 1024, "pplx-embed-v1-4b": 2560,
                   "pplx-embed-context-v1-0.6b": 1024, "pplx-embed-context-v1-4b": 2560}
MAX_URLS = 50
MAX_QUERIES = 5


class Call:
    """A platform command's connection and history: post JSON, read JSON, record the outcome."""

    def __init__(self, kind: str, client, *, log: bool):
        self.kind = kind
        self.client = client
        self.log = log
        self.started = time.monotonic()
        self.headers_meta = {}
        self.requests = 0

    def post(self, path: str, body: dict) -> dict:
        """POST ``body``; the answer as a JSON object (a body that is not one is an error)."""
        from pplx_cli.wire.bodies import read_object
        from pplx_cli.wire.bodies import header_meta

        response = self.client.post(path, body, stream=False)
        self.requests += 1
        self.headers_meta = header_meta(response.headers)
        return read_object(response, f"the answer of {path}")

    def record(self, *, prompt: str, answer: str, meta: dict, model: str, error=None, status: int = 0, warn=None):
        """Keep the exchange in the history (kind, prompt, what was printed, metadata); a
        history that cannot be written is one warning."""
        if not self.log:
            return
        from pplx_cli.store.config import new_cid
        from pplx_cli.store.history import History, HistoryError
        from pplx_cli.store.paths import history_path
        import os

        try:
            with History(history_path(os.environ)) as history:
                history.record(kind=self.kind, cid=new_cid(), api=self.kind, model=model, prompt=prompt, answer=answer,
                               meta=meta, duration=round(time.monotonic() - self.started, 3), exit_status=status,
                               error=error)
        except HistoryError as e:
            if warn:
                warn(f"history not recorded: {e}")


def recorded(call: Call, writer, work, *, prompt: str, model, warn):
    """Run ``work()`` (which writes through ``writer``), then record it whatever happened."""
    from pplx_cli.errors import DryRun

    status, error = 0, None
    try:
        work()
    except DryRun:
        call.log = False  # nothing was sent: nothing to record
        raise
    except BaseException as e:
        status, error = outcome(e)
        if isinstance(e, BrokenPipeError) and writer.delivered:
            status, error = 0, None
        raise
    finally:
        call.record(prompt=prompt, answer=writer.answer(), meta=writer.metadata(error), model=model(), error=error,
                    status=status, warn=warn)


# ---- search ----


def build_search_body(queries: list, o: dict) -> dict:
    """The ``POST /search`` body for the queries and the command's options."""
    if o.get("recency") and any(o.get(k) for k in ("after", "before", "updated_after", "updated_before")):
        raise UsageError("--recency cannot be combined with date bounds (--after, --before, --updated-*): the API refuses it")
    body = {"query": queries[0] if len(queries) == 1 else list(queries), "display_server_time": True}
    fields = {
        "max_results": o.get("max_results"), "search_type": o.get("search_type"), "search_mode": o.get("mode"),
        "search_recency_filter": o.get("recency"), "search_after_date_filter": o.get("after"),
        "search_before_date_filter": o.get("before"), "last_updated_after_filter": o.get("updated_after"),
        "last_updated_before_filter": o.get("updated_before"), "country": o.get("country"),
        "max_tokens": o.get("max_tokens"), "max_tokens_per_page": o.get("max_tokens_per_page"),
        "search_context_size": o.get("context_size"),
    }
    body.update((k, v) for k, v in fields.items() if v is not None)
    domains = list(o.get("domains") or ()) + ["-" + d for d in o.get("excluded") or ()]
    if domains:
        body["search_domain_filter"] = domains
    if o.get("languages"):
        body["search_language_filter"] = list(o["languages"])
    return body


def search_results(obj: dict, queries: list) -> list:
    """``[(query, rank, result)]`` from a search answer: one flat list for one query, one
    list per query for several. Results that are not objects are left out."""
    results = obj.get("results")
    if not isinstance(results, list):
        raise StreamError("the search answer has no results list")
    if len(queries) > 1 and all(isinstance(r, list) for r in results):
        groups = list(zip(queries, results))
    else:
        groups = [(queries[0] if len(queries) == 1 else None, results)]
    return [(query, rank, result) for query, group in groups
            for rank, result in enumerate((r for r in group if isinstance(r, dict)), 1)]


def one_line(value) -> str:
    """A title, URL or snippet on one line: whitespace runs (newlines included) become one space."""
    return " ".join(value.split()) if isinstance(value, str) else ""


def search_cost(o: dict) -> float:
    return SEARCH_PRICE["fast" if o.get("search_type") == "fast" else "web"]


# ---- context ----


def context_formats(formats, highlights) -> list:
    """The formats to ask for and print: those given (markdown when none), and highlights
    when a highlights query is given."""
    out = list(dict.fromkeys(formats or ("markdown",)))
    if highlights and "highlights" not in out:
        out.append("highlights")
    if "highlights" in out and not highlights:
        raise UsageError("--format highlights needs --highlights QUERY (what to pick the highlights for)")
    return out


def build_context_body(urls: list, formats: list, o: dict) -> dict:
    """The ``POST /v1/context`` body."""
    body = {"urls": list(urls), "formats": list(formats)}
    if o.get("highlights"):
        body["highlights"] = {"query": o["highlights"]}
    if o.get("max_tokens_per_url") is not None:
        body["max_tokens_per_url"] = o["max_tokens_per_url"]
    if o.get("max_age") is not None:
        body["max_age_seconds"] = o["max_age"]
    return body


def check_urls(urls: list) -> list:
    """1 to 50 http(s) URLs, else a usage error before anything is sent."""
    from urllib.parse import urlsplit

    if not urls:
        raise UsageError("no URL: give them as arguments or one per line on stdin")
    if len(urls) > MAX_URLS:
        raise UsageError(f"{len(urls)} URLs: the Context API takes at most {MAX_URLS} in one request")
    for url in urls:
        if not is_http_url(url):
            guess = f"https://{url}"
            if "://" not in url and not url.startswith("-") and is_http_url(guess) and "." in (urlsplit(guess).hostname or ""):
                raise UsageError(f"not an http(s) URL: {url!r}; did you mean {guess}?")
            raise UsageError(f"not an http(s) URL: {url!r}")
    return urls


def pair_results(urls: list, results: list) -> list:
    """For each URL asked for, its result (a dict) or None: paired by the result's ``url``
    as the same page however it is written (:func:`~pplx_cli.wire.urls.page_key`: http or
    https, the host in any case or as IDNA, a default port, percent-escapes, a trailing
    slash), so a short or reordered answer never puts a page's content under another URL;
    only an answer whose results name no URL at all is paired by position."""
    pages = [r for r in results if isinstance(r, dict)]
    named = {}
    for page in pages:
        if isinstance(page.get("url"), str):
            named.setdefault(page_key(page["url"]), page)
    if not named:
        return [pages[i] if i < len(pages) else None for i in range(len(urls))]
    return [named.get(page_key(url)) for url in urls]


def page_ok(result: dict) -> bool:
    status = result.get("status")
    return isinstance(status, dict) and status.get("type") in ("ok", "not_modified")


def page_failure(result: dict) -> str:
    """Why a page could not be fetched, in a few words."""
    status = result.get("status")
    if not isinstance(status, dict):
        return "no status"
    kind, message = status.get("type"), status.get("message")
    return ": ".join(str(x) for x in (kind, message) if isinstance(x, (str, int)) and x != "") or "failed"


def page_text(result: dict, formats: list) -> str:
    """A fetched page's content in the formats asked for, in that order, blank-line separated."""
    parts = []
    for name in formats:
        value = result.get(name)
        if isinstance(value, str):
            parts.append(value.rstrip("\n"))
        elif isinstance(value, list):
            items = [(one_line(v) if name == "links" else v.strip()) if isinstance(v, str) else
                     one_line(v.get("url") or v.get("text")) if isinstance(v, dict) else "" for v in value]
            parts.append(("\n" if name == "links" else "\n\n").join(i for i in items if i))
    return "\n\n".join(p for p in parts if p)


# ---- embeddings ----


def iter_batches(items: list, size_of, *, max_items: int, max_size: int):
    """Consecutive slices of ``items`` (as ``(start, slice)``) of at most ``max_items`` and, but
    for an item larger on its own, at most ``max_size`` in total."""
    start, batch, total = 0, [], 0
    for i, item in enumerate(items):
        size = size_of(item)
        if batch and (len(batch) >= max_items or total + size > max_size):
            yield start, batch
            start, batch, total = i, [], 0
        batch.append(item)
        total += size
    if batch:
        yield start, batch


def split_inputs(data: bytes, *, null: bool, contextual: bool):
    """Texts from stdin: one per line (or NUL-separated), or for --contextual documents
    separated by blank lines with one chunk a line. Blank lines at the end are ignored (the
    rule of every command that reads lines); a blank line between texts is a usage error
    naming it (each line is one text, and its index in the output is its line's)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"stdin is not valid UTF-8 (byte {e.start})") from None
    if null:
        items = text.split("\0")
        if items and items[-1] in ("", "\n"):
            items.pop()
        for n, item in enumerate(items, 1):
            if not item:
                raise UsageError(f"input {n} is empty (the API refuses empty texts)")
        return [[i] for i in items] if contextual else items
    lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
    while lines and not lines[-1].strip():  # blank lines at the end: ignored, as every command that reads lines does
        lines.pop()
    if not contextual:
        for n, line in enumerate(lines, 1):
            if not line.strip():
                raise UsageError(f"line {n} is empty (the API refuses empty texts)")
        return lines
    documents, current = [], []
    for line in lines:
        if line.strip():
            current.append(line)
        elif current:
            documents.append(current)
            current = []
    if current:
        documents.append(current)
    return documents
