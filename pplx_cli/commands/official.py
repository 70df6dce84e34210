"""``pplx search web`` and ``pplx content snippets|fetch``: Perplexity's own CLI's verbs, with
its flags and its JSON (see :mod:`pplx_cli.commands.contract`), on pplx's client, retries,
key and history. ``pplx search web`` is reached through ``pplx search`` (cli.py sends a
``search`` whose first argument is ``web`` here)."""

import click

from pplx_cli.commands.contract import ContractCommand, ContractGroup, official_call, save_options
from pplx_cli.commands.options import CONTEXT
from pplx_cli.errors import OfficialError

RECENCY = ("hour", "day", "week", "month", "year")
#: Wordings of one question in one Search API request (the Search API's documented limit is
#: not known to pplx; its local server takes 5, as pplx search does).
MAX_WORDINGS = 5


def _date(ctx, param, value):
    if value is None:
        return None
    from pplx_cli.dialects.official import check_date

    try:
        return check_date(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


def _country(ctx, param, value):
    if value is not None and not (len(value) == 2 and value.isascii() and value.isalpha()):
        raise click.BadParameter(f"{value!r} is not a two-letter country code (ISO 3166-1, e.g. US, DE)")
    return value.upper() if value else None


@click.command("web", cls=ContractCommand, context_settings=CONTEXT,
               missing_hint="pplx search web QUERY [QUERY]...; to search for the word \"web\" with pplx's own search: "
                            "pplx search -- web")
@click.argument("queries", nargs=-1, required=True, metavar="QUERY [QUERY]...")
@click.option("-n", "--limit", type=click.IntRange(min=1), default=10, show_default=True, metavar="N", help="Most hits in all.")
@click.option("--country", callback=_country, metavar="CC", help="Results for this country (ISO 3166-1 alpha-2).")
@click.option("--domains", multiple=True, metavar="A,B", help="Only these domains (comma-separated).")
@click.option("--excluded-domains", multiple=True, metavar="A,B", help="Never these domains (comma-separated).")
@click.option("--recency-filter", type=click.Choice(RECENCY), help="Only pages published within this window.")
@click.option("--published-after-date", callback=_date, metavar="MM/DD/YYYY", help="Only pages published after this date.")
@click.option("--published-before-date", callback=_date, metavar="MM/DD/YYYY", help="Only pages published before this date.")
@click.option("--search-context-size", type=click.Choice(["low", "medium", "high"]), help="How much page text to read.")
@click.option("--max-tokens", type=click.IntRange(min=1), metavar="N", help="Most tokens of page text in all.")
@click.option("--max-tokens-per-page", type=click.IntRange(min=1), metavar="N", help="Most tokens of text per page.")
@save_options
def web(queries, limit, save_dir, preview_chars, **o):
    """Search the web, as Perplexity's CLI does: one JSON object of ranked hits.

    Extra QUERY arguments are rewordings of the same question, sent in one request and
    merged into one ranked list (a page found by several wordings once, at its best rank).
    Success: {"hits": [{"url", "title", "domain", "snippet", "date", "last_updated"}],
    "total"} on stdout; failure: one {"error": {...}} on stderr, exit 1 (see pplx-content(1)).

    \b
    Examples:
      pplx search web "kubernetes pod OOMKilled causes" -n 5
      pplx search web "rust async runtimes" "tokio vs async-std" --domains docs.rs,github.com
      pplx search web "openai news" --published-after-date 03/01/2026 --output-dir out --stdout-preview=200
    """
    from pplx_cli.dialects.official import MAX_PER_QUERY, RECENCY_WITH_DATES, split_list
    from pplx_cli.runs.official import deliver, search_sender
    from pplx_cli.runs.platform import build_search_body

    queries = [" ".join(q.split()) for q in queries]
    if not all(queries):
        raise OfficialError("ARGUMENT_ERROR", "an empty query")
    if len(queries) > MAX_WORDINGS:
        raise OfficialError("ARGUMENT_ERROR", f"at most {MAX_WORDINGS} wordings of one question",
                            hint="a different question is a search of its own")
    if o["recency_filter"] and (o["published_after_date"] or o["published_before_date"]):
        raise OfficialError("BAD_REQUEST", RECENCY_WITH_DATES, hint="give --recency-filter or the date bounds, not both")
    body = build_search_body(queries, {
        "max_results": min(limit, MAX_PER_QUERY), "country": o["country"], "domains": split_list(o["domains"]),
        "excluded": split_list(o["excluded_domains"]), "recency": o["recency_filter"],
        "after": o["published_after_date"], "before": o["published_before_date"], "context_size": o["search_context_size"],
        "max_tokens": o["max_tokens"], "max_tokens_per_page": o["max_tokens_per_page"]})
    call = official_call("search")
    deliver(call, search_sender(queries, body, limit), meta={"kind": "search", "command": "search web"},
            prompt="\n".join(queries), model="search", folder="web", save_dir=save_dir, preview_chars=preview_chars)
    _note_on_terminal()


def _note_on_terminal():
    """On a terminal, say once what 'pplx search web' is (a script never sees it)."""
    import sys

    try:
        terminal = sys.stderr.isatty()
    except (AttributeError, OSError, ValueError):
        terminal = False
    if terminal:
        from pplx_cli.output.messages import note

        note("'pplx search web' is Perplexity's CLI form (JSON, see pplx help content); "
             "to search for the word \"web\" itself: pplx search -- web ...")


@click.group(cls=ContractGroup, context_settings=CONTEXT)
def content():
    """Page snippets or one page, as Perplexity's CLI gives them (JSON).

    The verbs of Perplexity's own CLI, with its flags and its output: one JSON object on
    stdout, or one {"error": {"code", "message", "command", "hint"}} on stderr and exit 1
    (pplx help content).
    """


@content.command(cls=ContractCommand, context_settings=CONTEXT)
@click.argument("query")
@click.argument("urls", nargs=-1, required=True, metavar="URL [URL]...")
@click.option("--max-tokens", type=click.IntRange(1, 16384), default=4096, show_default=True, metavar="N",
              help="Most tokens of snippets in all.")
@click.option("--max-tokens-per-page", type=click.IntRange(1, 4096), metavar="N",
              help="Most tokens of snippets per page. [default: 1024, or --max-tokens if less]")
@save_options
def snippets(query, urls, max_tokens, max_tokens_per_page, save_dir, preview_chars):
    """The passages of 1 to 50 pages relevant to QUERY (the Context API's highlights).

    One result per URL, in the order given: {"results": [{"url", "text", "tokens_count"?}]};
    a page that cannot be read has "error" instead of "text", and the command still succeeds.

    \b
    Examples:
      pplx content snippets "how does a bloom filter decide membership" https://en.wikipedia.org/wiki/Bloom_filter
      pplx content snippets "pricing" https://example.com/a https://example.com/b --max-tokens-per-page 256
    """
    from pplx_cli.runs.official import deliver, snippets_sender
    from pplx_cli.runs.platform import build_context_body, check_urls

    query = " ".join(query.split())
    if not query:
        raise OfficialError("ARGUMENT_ERROR", "an empty query")
    urls = check_urls(list(urls))
    per_page = max_tokens_per_page or min(1024, max_tokens)
    if per_page > max_tokens:
        raise OfficialError("ARGUMENT_ERROR", f"--max-tokens-per-page ({per_page}) is more than --max-tokens ({max_tokens})")
    # the Context API has no budget for all pages: each page gets its share of --max-tokens
    budget = min(per_page, max(1, max_tokens // len(urls)))
    body = build_context_body(urls, ["highlights"], {"highlights": query, "max_tokens_per_url": budget})
    call = official_call("fetch")
    deliver(call, snippets_sender(query, urls, body), meta={"kind": "fetch", "command": "content snippets"},
            prompt="\n".join(urls), model="context", folder="snippets", save_dir=save_dir, preview_chars=preview_chars)


@content.command(cls=ContractCommand, context_settings=CONTEXT)
@click.argument("url")
@click.option("--no-cache", is_flag=True, help="Fetch the page live, not a stored copy.")
@click.option("--html", is_flag=True, help="Add the page's HTML as raw_html.")
@save_options
def fetch(url, no_cache, html, save_dir, preview_chars):
    """One page's content (the Context API), as Markdown in one JSON object.

    {"url", "title", "description", "authors", "published_date", "domain", "content",
    "is_paywall", "cached", "raw_html"?}; a page that cannot be fetched has "error" (and empty
    content), and the command still succeeds: check error and is_paywall before trusting it.

    \b
    Examples:
      pplx content fetch https://example.com/article
      pplx content fetch https://example.com/article --no-cache --html --output-dir out --stdout-preview
    """
    from pplx_cli.runs.official import deliver, fetch_sender
    from pplx_cli.runs.platform import build_context_body, check_urls

    [url] = check_urls([url])
    body = build_context_body([url], ["markdown", "html"] if html else ["markdown"], {"max_age": 0 if no_cache else None})
    call = official_call("fetch")
    deliver(call, fetch_sender(url, body, html), meta={"kind": "fetch", "command": "content fetch"},
            prompt=url, model="context", folder="fetch", save_dir=save_dir, preview_chars=preview_chars)
