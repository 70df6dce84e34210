"""Citation markers and the numbered sources they point to. Pure functions, no I/O.

A marker is ``[n]`` or ``[web:n]``; :func:`sources` decides what each one means.
"""

import re
from typing import NamedTuple

#: A marker, with the blanks before it (so "word [1]." becomes "word.").
MARKER = re.compile(r"[ \t]*\[(?:web:)?\d+\]")
#: What may be the start of a marker at the end of a delta: held back until the next one.
PARTIAL = re.compile(r"[ \t]*(?:\[(?:w(?:e(?:b(?::\d*)?)?)?|\d+)?)?\Z")
#: A marker and its key, the form a Source lists among its ``markers``: ``[3]`` -> ``3``, ``[web:3]`` -> ``web:3``.
MARKER_KEY = re.compile(r"\[((?:web:)?\d+)\]")
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


def marker_keys(text: str) -> tuple:
    """The keys of the markers in ``text`` (``1``, ``web:1``), in order, each once."""
    return tuple(dict.fromkeys(m.group(1) for m in MARKER_KEY.finditer(text)))


def strip_citations(text: str) -> str:
    """``text`` without citation markers (outside fenced code)."""
    stripper = CitationStripper()
    return stripper.feed(text) + stripper.flush()


class Source(NamedTuple):
    """One source of an answer: the ``label`` it is listed under (``1``, ``web:0``,
    ``page 1``), the ``markers`` of the text that cite it (``1``, ``web:1``; none for a page
    the text cannot cite), its title (one line, maybe empty) and URL."""

    label: str
    markers: tuple
    title: str
    url: str


def sources(meta: dict) -> list:
    """The sources of a response and what each marker of its text means: the one function
    that decides it, for ``--sources``, terminal hyperlinks, the history and ``verify``.

    Chat completions: ``[n]`` is ``citations[n-1]``. The Agent API (recorded traffic):
    ``[n]`` and ``[web:n]`` both mean the search result whose ``id`` is n (ids are not
    positions: they continue across the searches of a run). Fetched pages are cited only by
    an answer that has no search results, as ``[web:n]``, n their 0-based position; beside
    search results they are listed after them as ``[page 1]``, ``[page 2]``..., labels no
    marker of the text can be mistaken for. People search results are search results (the
    same shape, ids in the same sequence: inferred, unconfirmed). The URLs finance results
    cite come last, as ``[finance 1]``, ``[finance 2]``...: no marker is known to cite them
    (their shape is a third party's reading). Entries of the wrong shape, or without a URL,
    are left out."""
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
            entries.append((str(number), (str(number), f"web:{number}"), result.get("title"), result.get("url")))
        cited = not results
        for i, page in enumerate(fetched):
            label = f"web:{i}" if cited else f"page {i + 1}"
            entries.append((label, (label,) if cited else (), page.get("title"), page.get("url")))
        entries += _finance_entries(meta, {entry[3] for entry in entries if isinstance(entry[3], str)})
    else:
        titles = {}
        for result in results:
            url, title = result.get("url"), result.get("title")
            if isinstance(url, str) and url and title:
                titles.setdefault(url, title)
        entries = [(str(n), (str(n),), titles.get(url) if isinstance(url, str) else None, url)
                   for n, url in enumerate(_list(meta.get("citations")), 1)]
    return [Source(label, markers, " ".join(title.split()) if isinstance(title, str) else "", url)
            for label, markers, title, url in entries if isinstance(url, str) and url]


def _finance_entries(meta: dict, seen: set) -> list:
    """``[finance n]`` entries: each URL the finance results cite (a string, or ``{url, title}``), once."""
    entries = []
    for result in _list(meta.get("finance_results")):
        for cited in _list(result.get("sources")) if isinstance(result, dict) else ():
            url, title = (cited, None) if isinstance(cited, str) else (cited.get("url"), cited.get("title")) \
                if isinstance(cited, dict) else (None, None)
            if isinstance(url, str) and url and url not in seen:
                seen.add(url)
                label = f"finance {len(entries) + 1}"
                entries.append((label, (), title, url))
    return entries


def source_lines(meta: dict) -> list:
    """The ``[label] Title <url>`` lines of a response's sources (see :func:`sources`)."""
    return [f"[{s.label}] {s.title} <{s.url}>" if s.title else f"[{s.label}] {s.url}" for s in sources(meta)]


def image_lines(meta: dict) -> list:
    """``[image n] Title <page> image <image url>``: the images an image search found, in order."""
    lines = []
    for image in _list(meta.get("images")):
        url = image.get("image_url") if isinstance(image, dict) else image if isinstance(image, str) else None
        if not isinstance(url, str) or not url:
            continue
        page, title = (image.get("origin_url"), image.get("title")) if isinstance(image, dict) else (None, None)
        head = f"[image {len(lines) + 1}]" + (f" {' '.join(title.split())}" if isinstance(title, str) and title.strip() else "")
        lines.append(head + (f" <{page}>" if isinstance(page, str) and page else "") + f" image <{url}>")
    return lines


def file_lines(meta: dict) -> list:
    """``[file n] name (N bytes)``: the files the run shared (saved with -O), in order."""
    lines = []
    for shared in _list(meta.get("files")):
        if not isinstance(shared, dict):
            continue
        name = shared.get("filename") if isinstance(shared.get("filename"), str) else shared.get("id")
        name = " ".join(name.split()) if isinstance(name, str) and name.strip() else "(no name)"
        size = shared.get("bytes")
        error = shared.get("error")
        detail = f" (not shared: {' '.join(error.split())})" if isinstance(error, str) and error \
            else f" ({size:,} bytes)" if type(size) is int else ""
        lines.append(f"[file {len(lines) + 1}] {name}{detail}")
    return lines


def listing_lines(meta: dict) -> list:
    """What --sources lists after the answer: the sources, then images, then files shared."""
    return source_lines(meta) + image_lines(meta) + file_lines(meta)


def source_links(meta: dict) -> dict:
    """Marker (``"1"``, ``"web:1"``) -> the URL it cites, for hyperlinks (see :func:`sources`):
    only http(s) URLs become links (a ``file:`` or ``javascript:`` one is listed, never opened)."""
    links = {}
    for source in sources(meta):
        if source.url.lower().startswith(("https://", "http://")):
            for marker in source.markers:
                links.setdefault(marker, source.url)
    return links


def sources_by_marker(meta: dict) -> dict:
    """Marker key (``"1"``, ``"web:1"``) -> the :class:`Source` it cites (see :func:`sources`;
    a key two entries claim is the first's, as for ``--sources`` and hyperlinks)."""
    cited = {}
    for source in sources(meta):
        for marker in source.markers:
            cited.setdefault(marker, source)
    return cited


def _list(value) -> list:
    return value if isinstance(value, list) else []
