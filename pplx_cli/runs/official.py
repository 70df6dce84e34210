"""The calls of Perplexity's CLI's verbs: ``search web`` (one Search API request for every
wording of the question, the results merged), ``content snippets`` and ``content fetch``
(one Context API request), and the key check of ``auth``.

:func:`deliver` runs one verb the way every one of them ends: the answer shaped into that
CLI's object, saved under ``--output-dir`` when asked, cut for ``--stdout-preview``, printed
as one JSON object on stdout (through :mod:`pplx_cli.output.stdio`: redacted, flushed), and
recorded in the history with its kind (``search`` or ``fetch``) like ``pplx search`` and
``pplx fetch``. Every failure leaves here as an :class:`~pplx_cli.errors.OfficialError`;
nothing here writes to stderr.
"""

from pplx_cli.dialects.official import as_official, domain_of, dumps, merge_hits, preview, result_groups
from pplx_cli.errors import OfficialError, StreamError
from pplx_cli.runs.platform import CONTEXT_PATH, SEARCH_PATH, SEARCH_PRICE, page_failure, page_ok, pair_results

#: How the passages of one page are joined in a snippet's ``text``: an elision, marked ``…``
#: as in that CLI's snippets (the exact separator is not documented).
ELISION = "\n…\n"


class Printed:
    """What the history needs of a verb's output (as :func:`~pplx_cli.runs.platform.recorded`
    asks of a writer): the JSON printed, and the metadata."""

    def __init__(self, meta: dict):
        self.meta = dict(meta)
        self.text = ""
        self.delivered = False

    def answer(self) -> str:
        """The JSON printed ("" when nothing was)."""
        return self.text

    def metadata(self, error=None) -> dict:
        """The metadata recorded, with ``error`` when the verb failed."""
        return dict(self.meta, error=error) if error is not None else dict(self.meta)


def deliver(call, send, *, meta: dict, prompt: str, model: str, folder: str, save_dir=None, preview_chars=None):
    """Run one verb: ``send(call)`` gives ``(the CLI's object, the history's metadata)``; then
    save, preview, print and record (see the module docstring)."""
    from pplx_cli.output.stdio import out
    from pplx_cli.runs.platform import recorded

    printed = Printed(meta)

    def work():
        try:
            obj, answer_meta = send(call)
            printed.meta.update(answer_meta)
            shown = obj
            if save_dir:
                shown = dict(obj, saved_to=save(obj, save_dir, folder))
                if preview_chars:
                    shown, cut = preview(shown, preview_chars)
                    if cut:
                        shown["truncated"] = True
            text = dumps(shown)
            out(text)
        except BrokenPipeError:
            raise
        except Exception as e:  # every failure in that CLI's terms, the history's record included
            raise as_official(e) from None
        printed.text, printed.delivered = text, True

    recorded(call, printed, work, prompt=prompt, model=lambda: model, warn=None)


def save(obj: dict, directory: str, folder: str) -> str:
    """Write ``obj`` as JSON to a new file under ``directory/folder`` (made when missing); its
    absolute path. Only ever after the request succeeded."""
    import os
    import secrets
    from pathlib import Path

    where = Path(os.path.expanduser(directory)) / folder
    text = dumps(obj)
    try:
        where.mkdir(parents=True, exist_ok=True)
        path = where / f"{secrets.token_hex(8)}.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        raise OfficialError("IO_ERROR", f"cannot save the result under {where}: {e.strerror or e}",
                            hint="give a directory you can write with --output-dir or PPLX_OUTPUT_DIR") from None
    return str(path.resolve())


# ---- the verbs ----


def search_sender(queries: list, body: dict, limit: int):
    """``send`` for ``search web``: the wordings in one request, their hits merged."""

    def send(call):
        answer = call.post(SEARCH_PATH, body)
        hits = merge_hits(result_groups(answer, len(queries)), limit)
        meta = {"id": _text(answer.get("id")), "server_time": _text(answer.get("server_time")), "queries": list(queries),
                "requests": call.requests, "results": len(hits),
                "usage": {"cost": {"total_cost": SEARCH_PRICE["web"], "estimated": True}}, **call.headers_meta}
        return {"hits": hits, "total": len(hits)}, meta

    return send


def snippets_sender(query: str, urls: list, body: dict):
    """``send`` for ``content snippets``: one result per URL, in the order given."""

    def send(call):
        answer = call.post(CONTEXT_PATH, body)
        results = [snippet(url, page) for url, page in zip(urls, _pages(answer, urls))]
        failed = sum(1 for result in results if "error" in result)
        return {"results": results}, _context_meta(call, answer, query=query, pages=len(results) - failed, failed=failed)

    return send


def fetch_sender(url: str, body: dict, html: bool):
    """``send`` for ``content fetch``: the page, or why it could not be fetched."""

    def send(call):
        answer = call.post(CONTEXT_PATH, body)
        obj = fetched(url, _pages(answer, [url])[0], html)
        failed = 1 if "error" in obj else 0
        return obj, _context_meta(call, answer, pages=1 - failed, failed=failed)

    return send


def check_key(client):
    """One cheap request the key must pass: ``GET /v1/models`` (no charge; a refused key is an
    AuthError, as every request's is)."""
    from pplx_cli.wire.bodies import read_limited

    read_limited(client.get("/v1/models"))


# ---- shapes ----


def snippet(url: str, page) -> dict:
    """One URL's snippet: ``{"url", "text", "tokens_count"?}``, or ``{"url", "error"}``."""
    from pplx_cli.numbers import whole

    if page is None:
        return {"url": url, "error": "no result for this URL in the answer"}
    if not page_ok(page):
        return {"url": url, "error": page_failure(page)}
    passages = page.get("highlights")
    if isinstance(passages, list):
        text = ELISION.join(p.strip() for p in passages if isinstance(p, str) and p.strip())
    else:
        text = passages if isinstance(passages, str) else ""
    out = {"url": url, "text": text}
    count = whole(page.get("tokens_count"))  # not in the Context API's documented fields: kept when it is there
    if count is not None:
        out["tokens_count"] = count
    return out


def fetched(url: str, page, html: bool) -> dict:
    """One page as ``content fetch`` prints it: ``url``, what the page's metadata says
    (``title``, ``description``, ``authors``, ``published_date``), ``domain``, ``content``
    (Markdown), ``is_paywall``, ``cached``, ``raw_html`` with ``--html``; ``error`` (and empty
    content) when it could not be fetched."""
    obj = {"url": url}
    if page is None or not page_ok(page):
        why = page_failure(page) if page is not None else "no result for this URL in the answer"
        return dict(obj, domain=domain_of(url), content="", is_paywall=False, error=why)
    metadata = page.get("metadata") if isinstance(page.get("metadata"), dict) else {}
    author = metadata.get("authors", metadata.get("author"))
    fields = {"title": metadata.get("title", page.get("title")), "description": metadata.get("description"),
              "authors": [author] if isinstance(author, str) else
              [a for a in author if isinstance(a, str)] or None if isinstance(author, list) else None,
              "published_date": metadata.get("published_date")}
    obj.update((name, value) for name, value in fields.items() if isinstance(value, (str, list)))
    paywall = metadata.get("is_paywall", page.get("is_paywall"))  # not documented by the Context API: false unless said
    obj.update(domain=domain_of(url), content=_text(page.get("markdown")) or "", is_paywall=paywall is True)
    if metadata.get("origin") in ("cached", "live"):
        obj["cached"] = metadata["origin"] == "cached"
    if html:
        obj["raw_html"] = _text(page.get("html")) or ""
    return obj


def _pages(answer: dict, urls: list) -> list:
    results = answer.get("results")
    if not isinstance(results, list):
        raise StreamError("the Context API's answer has no results list")
    return pair_results(urls, results)  # by each result's url: never content under the wrong URL


def _context_meta(call, answer: dict, **counts) -> dict:
    return {"id": _text(answer.get("id")), **counts, "requests": call.requests, **call.headers_meta}


def _text(value):
    return value if isinstance(value, str) else None
