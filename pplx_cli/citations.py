"""Citation markers and the numbered sources they point to. Pure functions, no I/O.

A marker is ``[n]`` or ``[web:n]``. On chat completions ``n`` is the position in
``citations`` (1-based); on the Agent API it is a search result's ``id``, or for a fetched
page (a fetch-only answer) its 0-based position, cited as ``[web:n]``.
"""

import re

#: A marker, with the blanks before it (so "word [1]." becomes "word.").
MARKER = re.compile(r"[ \t]*\[(?:web:)?\d+\]")
#: What may be the start of a marker at the end of a delta: held back until the next one.
PARTIAL = re.compile(r"[ \t]*(?:\[(?:w(?:e(?:b(?::\d*)?)?)?|\d+)?)?\Z")
FENCE = "```"


class CitationStripper:
    """Remove citation markers from text that arrives in pieces (a marker may be split
    across them), leaving fenced code blocks untouched (``a[1]`` in code is not a marker)."""

    def __init__(self):
        self.held = ""
        self.line = ""  # the current line as released so far, to see code fences
        self.in_code = False

    def feed(self, text: str) -> str:
        """The text that can be written now."""
        buf = self.held + text
        cut = PARTIAL.search(buf).start()
        self.held = buf[cut:]
        return self._release(buf[:cut])

    def flush(self) -> str:
        """What is still held back, at the end of the answer (an unfinished marker is text)."""
        held, self.held = self.held, ""
        return self._release(held, final=True)

    def _release(self, text: str, final: bool = False) -> str:
        out = []
        lines = text.split("\n")
        for i, segment in enumerate(lines):
            ends_line = i < len(lines) - 1
            self.line += segment
            # a fence line, and every line inside a fence, is code; judged on the line so far, so
            # that however the text was split the same markers go
            out.append(segment if self.in_code or self.line.lstrip().startswith(FENCE) else MARKER.sub("", segment))
            if ends_line:
                if self.line.lstrip().startswith(FENCE):
                    self.in_code = not self.in_code
                self.line = ""
        return "\n".join(out)


def strip_citations(text: str) -> str:
    """``text`` without citation markers (outside fenced code)."""
    stripper = CitationStripper()
    return stripper.feed(text) + stripper.flush()


def source_entries(meta: dict) -> list:
    """``(label, title, url)`` for each source of a response, under the number its markers
    use; entries of the wrong shape are left out."""
    results = [r for r in _list(meta.get("search_results")) if isinstance(r, dict)]
    fetched = [p for p in _list(meta.get("fetch_url_results")) if isinstance(p, dict)]
    entries = []
    if meta.get("api") == "agent" or any("id" in r for r in results):
        for position, result in enumerate(results, 1):
            number = result.get("id")
            # an id is what a marker cites: a number or a string, never a bool, list or object
            if isinstance(number, str):
                number = " ".join(number.split()) or position
            elif not isinstance(number, int) or isinstance(number, bool):
                number = position
            entries.append((number, result.get("title"), result.get("url")))
        entries += [(f"web:{i}", page.get("title"), page.get("url")) for i, page in enumerate(fetched)]
    else:
        titles = {}
        for result in results:
            url, title = result.get("url"), result.get("title")
            if isinstance(url, str) and url and title:
                titles.setdefault(url, title)
        entries = [(n, titles.get(url) if isinstance(url, str) else None, url)
                   for n, url in enumerate(_list(meta.get("citations")), 1)]
    out = []
    for number, title, url in entries:
        if isinstance(url, str) and url:
            out.append((str(number), " ".join(title.split()) if isinstance(title, str) else "", url))
    return out


def source_lines(meta: dict) -> list:
    """The ``[n] Title <url>`` lines of a response's sources, each under the number its markers use."""
    return [f"[{label}] {title} <{url}>" if title else f"[{label}] {url}" for label, title, url in source_entries(meta)]


def source_links(meta: dict) -> dict:
    """Marker label (``"1"``, ``"web:0"``) -> URL, for hyperlinks."""
    return {label: url for label, _, url in source_entries(meta)}


def _list(value) -> list:
    return value if isinstance(value, list) else []
