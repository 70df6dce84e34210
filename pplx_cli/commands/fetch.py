"""``pplx fetch``: pages' content from the Context API."""

import sys

import click

from pplx_cli.commands import platform_call, platform_writer
from pplx_cli.errors import StreamError, UsageError
from pplx_cli.output.messages import warn
from pplx_cli.commands.options import CONTEXT, connection_options, meta_options

FORMATS = ("markdown", "html", "links", "highlights")


@click.command(context_settings=CONTEXT)
@click.argument("urls", nargs=-1, metavar="[URL]...")
@click.option("--format", "formats", multiple=True, type=click.Choice(FORMATS),
              help="What to get of each page (repeatable, printed in that order). [default: markdown]")
@click.option("--highlights", metavar="QUERY", help="Pick the passages relevant to QUERY (adds --format highlights).")
@click.option("--max-tokens-per-url", type=click.IntRange(min=1), metavar="N", help="Most tokens of content per page.")
@click.option("--max-age", type=click.IntRange(min=0), metavar="SECONDS",
              help="Accept a stored copy at most this old; 0: always fetch live. [default: 172800, two days]")
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines, one page per line (url, status, title, metadata, and a key per format).")
@meta_options
@click.option("--no-log", is_flag=True, help="Do not record this fetch in the history.")
@connection_options
def fetch(urls, formats, as_json, no_log, **p):
    """Fetch pages' content (the Context API), as Markdown by default.

    1 to 50 URLs, as arguments or one per line on stdin ('-' or none; more: xargs -n 50 pplx fetch --). One URL: its content. Several:
    each preceded by a '==> URL <==' line, as head(1) does. A page that cannot be fetched
    is one warning naming it and why; the others are still printed, and the exit status
    is 1 if any failed.

    \b
    Examples:
      pplx fetch https://example.com/post > post.md
      pplx search --urls "sqlite wal" | pplx fetch --format links
      pplx fetch --highlights "pricing" https://example.com/a https://example.com/b
      pplx fetch --json --max-age 0 https://example.com | jq -r .metadata.title
    """
    from pplx_cli.runs.platform import CONTEXT_PATH, build_context_body, check_urls, context_formats, pair_results, recorded

    urls = check_urls(list(urls) if urls and list(urls) != ["-"] else _stdin_urls())
    if p.get("meta_path") and p.get("no_meta"):
        raise UsageError("--meta FILE and --no-meta contradict each other")
    shown = context_formats(formats, p.get("highlights"))
    body = build_context_body(urls, shown, p)
    call, settings = platform_call("fetch", p, no_log=no_log)
    writer = platform_writer(p, settings)

    def pieces(obj):
        from pplx_cli.dialects.pieces import META, Piece

        results = obj.get("results")
        if not isinstance(results, list):
            raise StreamError("the Context API's answer has no results list")
        pages = pair_results(urls, results)  # by each result's url: never content under the wrong URL
        failed = [(url, page) for url, page in zip(urls, pages) if page is None or not _ok(page)]
        yield Piece(META, {"kind": "fetch", "id": obj.get("id") if isinstance(obj.get("id"), str) else None,
                           "pages": len(pages) - len(failed), "failed": len(failed), **call.headers_meta})
        for url, page in failed:
            writer.warn(f"{url}: {_failure(page) if page is not None else 'no result for it in the answer'}")
        yield from _output(urls, pages, shown, as_json, writer)
        if failed:
            raise StreamError(f"{len(failed)} of {len(urls)} page{'s' if len(urls) != 1 else ''} could not be fetched")

    recorded(call, writer, lambda: writer.render(pieces(call.post(CONTEXT_PATH, body)), require_text=False), prompt="\n".join(urls),
             model=lambda: "context", warn=warn)


def _ok(page):
    from pplx_cli.runs.platform import page_ok

    return page_ok(page)


def _failure(page):
    from pplx_cli.runs.platform import page_failure

    return page_failure(page)


def _output(urls, pages, shown, as_json, writer):
    from pplx_cli import jsonsafe
    from pplx_cli.dialects.pieces import TEXT, Piece
    from pplx_cli.runs.platform import page_text

    several = len(urls) > 1
    first = True
    for url, page in zip(urls, pages):
        if page is None:  # no result for this URL: said in a warning, counted as failed
            continue
        if as_json:
            metadata = page.get("metadata")
            title = metadata.get("title") if isinstance(metadata, dict) else None  # where the Context API puts it
            record = {"url": page.get("url") or url, "status": page.get("status"),
                      "title": title if isinstance(title, str) else page.get("title"), "metadata": metadata}
            record.update((name, page.get(name)) for name in shown)
            yield Piece(TEXT, jsonsafe.dumps(record, ensure_ascii=False) + "\n")
            continue
        if not _ok(page):
            continue
        text = page_text(page, shown)
        head = ("" if first else "\n") + f"==> {url} <==\n" if several else ""
        first = False
        yield Piece(TEXT, head + text + ("\n" if text and not text.endswith("\n") else ""))


def _stdin_urls():
    """URLs one per line on stdin (blank lines skipped); a terminal is never read."""
    if sys.stdin is None or sys.stdin.isatty():
        return []
    try:
        text = sys.stdin.buffer.read().decode("utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"stdin is not valid UTF-8 (byte {e.start})") from None
    return [line.strip() for line in text.splitlines() if line.strip()]
