"""``pplx search``: ranked web results from the Search API, no answer."""

import re
import sys

import click

from pplx_cli.commands import platform_call, platform_writer
from pplx_cli.errors import StreamError, UsageError
from pplx_cli.output.messages import warn
from pplx_cli.commands.options import CONTEXT, connection_options, meta_options, search_filter_options


def _check_language(ctx, param, value):
    for code in value:
        if not re.fullmatch(r"[A-Za-z]{2}", code):
            raise click.BadParameter(f"{code!r} is not a two-letter language code (ISO 639-1, e.g. en, de)")
    if len(value) > 20:
        raise click.BadParameter("at most 20 languages")
    return tuple(code.lower() for code in value)


def _check_queries(ctx, param, value):
    for query in value:
        if not query.strip():
            raise click.BadParameter("an empty query")
    return value


@click.command(context_settings=CONTEXT)
@click.argument("words", nargs=-1, metavar="[QUERY]...")
@click.option("-Q", "--query", "queries", multiple=True, callback=_check_queries, metavar="Q",
              help="A query of its own (repeatable, up to 5 in one request).")
@click.option("--max-results", type=click.IntRange(1, 20), metavar="N", help="Results per query, 1 to 20. [default: 10]")
@click.option("--search-type", type=click.Choice(["web", "fast"]), help="fast: cheaper and quicker, fewer results.")
@search_filter_options
@click.option("--language", "languages", multiple=True, callback=_check_language, metavar="CODE",
              help="Only results in this language (ISO 639-1; repeatable).")
@click.option("--mode", type=click.Choice(["web", "academic", "sec"]), help="Which index: the web, academic papers, SEC filings.")
@click.option("--max-tokens", type=click.IntRange(min=1), metavar="N", help="Most tokens of page content in all. [default: 10000]")
@click.option("--max-tokens-per-page", type=click.IntRange(min=1), metavar="N", help="Most tokens of content per page. [default: 4096]")
@click.option("--urls", "urls_only", is_flag=True, help="Print only the URLs, one a line (only valid http(s) URLs; for pplx fetch).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines, one result per line, with query and rank.")
@meta_options
@click.option("--no-log", is_flag=True, help="Do not record this search in the history.")
@connection_options
def search(words, queries, urls_only, as_json, no_log, **p):
    """Search the web (the Search API): ranked results, no answer.

    QUERY words are one query; -Q adds queries of their own (sent in one request). With
    '-', or no QUERY and stdin not a terminal, the query is read from stdin. Each result is
    a block: '[n] Title', its URL, its date when known, and its snippet (wrapped to a
    terminal, one line when piped), blocks separated by a blank line.

    'pplx search web QUERY...' is Perplexity's own CLI's form instead, with its flags and
    its JSON (pplx help content); 'pplx search -- web ...' searches for the word web here.

    \b
    Examples:
      pplx search "rust async runtime comparison"
      pplx search --urls --max-results 5 "sqlite wal mode" | pplx fetch
      pplx search -Q "fusion startups" -Q "fusion funding 2026" --json | jq -r .title
      pplx search --recency week --domain arxiv.org "mixture of experts"
    """
    from pplx_cli.runs.platform import SEARCH_PATH, build_search_body, search_cost

    query_list = list(queries)
    if words and list(words) != ["-"]:  # QUERY words: stdin is not read (a while-read loop keeps its input)
        query_list.insert(0, " ".join(" ".join(words).split()))
    elif words or not query_list:
        query_list.insert(0, " ".join(_stdin_query(words).split()))
    if not all(query_list):
        raise UsageError("no query: give it as arguments, with -Q, or on stdin (see pplx search --help)")
    if len(query_list) > 5:
        raise UsageError("at most 5 queries in one search")
    if urls_only and as_json:
        raise UsageError("--urls and --json contradict each other")
    if p.get("meta_path") and p.get("no_meta"):
        raise UsageError("--meta FILE and --no-meta contradict each other")
    body = build_search_body(query_list, p)
    call, settings = platform_call("search", p, no_log=no_log)
    writer = platform_writer(p, settings)
    cost = search_cost(p)

    def pieces(obj):
        from pplx_cli.dialects.pieces import META, TEXT, Piece

        results = _results(obj, query_list)
        meta = {"kind": "search", "id": obj.get("id"), "server_time": obj.get("server_time"), "queries": query_list,
                "requests": call.requests, "results": len(results),
                "usage": {"cost": {"total_cost": cost, "estimated": True}}, **call.headers_meta}
        yield Piece(META, meta)
        text = _format(results, len(query_list) > 1, urls_only, as_json, writer)
        if not text:
            raise StreamError("no results")  # exit 1, as grep finding nothing
        yield Piece(TEXT, text)

    from pplx_cli.runs.platform import recorded

    # the request is sent before anything is written: an error before the answer writes no metadata, as for ask
    recorded(call, writer, lambda: writer.render(pieces(call.post(SEARCH_PATH, body)), require_text=False), prompt="\n".join(query_list),
             model=lambda: "search" if p.get("search_type") != "fast" else "search (fast)", warn=warn)


def _stdin_query(words) -> str:
    """The query on stdin ('-', or no QUERY and stdin not a terminal); a terminal is never read."""
    piped = sys.stdin is not None and not sys.stdin.isatty()
    if not piped:
        if words:
            raise UsageError("'-' reads the query from stdin, but stdin is a terminal")
        return ""
    from pplx_cli.commands.prompt import read_stdin

    return read_stdin("query")


def _results(obj, queries):
    from pplx_cli.runs.platform import search_results

    return search_results(obj, queries)


def _format(results, several, urls_only, as_json, writer) -> str:
    """The results as the output mode wants them."""
    from pplx_cli import jsonsafe
    from pplx_cli.runs.platform import one_line

    if as_json:
        return "".join(jsonsafe.dumps({**result, "query": query, "rank": rank}, ensure_ascii=False) + "\n"
                       for query, rank, result in results)
    if urls_only:
        from pplx_cli.runs.platform import is_http_url

        urls = [one_line(result.get("url")) for _, _, result in results if one_line(result.get("url"))]
        for url in urls:  # a "URL" such as --base-url=... must never reach a command line as an option
            if not is_http_url(url):
                writer.warn(f"left out a result whose URL is not an http(s) URL: {url[:100]!r}")
        return "".join(url + "\n" for url in urls if is_http_url(url))
    width = _width(writer)
    blocks, last_query = [], object()
    for query, rank, result in results:
        if several and query != last_query:
            blocks.append(f"==> {one_line(query)} <==")
            last_query = query
        lines = [f"[{rank}] {one_line(result.get('title')) or '(no title)'}", one_line(result.get("url"))]
        date = one_line(result.get("date")) or (f"updated {one_line(result.get('last_updated'))}"
                                                if one_line(result.get("last_updated")) else "")
        if date:
            lines.append(date)
        snippet = one_line(result.get("snippet"))
        if snippet:
            lines += _wrap(snippet, width)
        blocks.append("\n".join(line for line in lines if line))
    return "\n\n".join(blocks) + "\n" if blocks else ""


def _width(writer):
    """The terminal's width when stdout is one (snippets are wrapped to it), else None."""
    if not writer.out_terminal:
        return None
    import os
    import sys

    from pplx_cli.output.tty import width

    return width(sys.stdout, os.environ)


def _wrap(text, width):
    if not width:
        return [text]
    import textwrap

    return textwrap.wrap(text, width=max(width, 20), break_long_words=False, break_on_hyphens=False) or [text]
