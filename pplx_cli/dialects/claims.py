"""An answer's claims: each sentence, list item or table cell, with the citation markers it
carries. Pure functions, no I/O.

What a marker means is :mod:`pplx_cli.dialects.citations`' to say (``sources``); here a
marker is only found and named by its key (``1``, ``web:1``), the form a
:class:`~pplx_cli.dialects.citations.Source` lists among its ``markers``.

The text is read as Markdown is written, line by line: fenced code is skipped (``a[1]`` in
code is not a marker); a table row is its cells, the separator row none; a list item (with
its indented continuation lines) is a unit of its own; a heading or a table cell counts
only when it cites (a cell is read after its row's first cell: ``GDP: 3.2%``); the other
lines make paragraphs. A paragraph or list item is cut into sentences after ``.``,
``!`` or ``?`` (and any closing quote and markers after it) where the next word does not
start in lower case, except after a common abbreviation or an initial. Every unit keeps its
place in the answer: ``answer[start:end]`` is the text as written, markers included.
"""

import re
from typing import NamedTuple

from pplx_cli.dialects.citations import MARKER, marker_keys
_FENCE = re.compile(r"\s{0,3}(```|~~~)")
_ITEM = re.compile(r"([ \t]*)(?:[-*+]|\d{1,9}[.)])[ \t]+")
_HEADING = re.compile(r"[ \t]{0,3}#{1,6}[ \t]+")
_QUOTE = re.compile(r"[ \t]{0,3}(?:>[ \t]?)+")
_TABLE_RULE = re.compile(r"[\s|:-]*-[\s|:-]*")
#: Where a sentence may end: its punctuation, closing quotes or brackets, markers, then blanks.
_END = re.compile(r"[.!?][\"'”’)\]*_]*(?:[ \t]*\[(?:web:)?\d+\])*(?=\s+(\S))")
#: Words a period does not end a sentence after.
ABBREVIATIONS = {"e.g", "i.e", "etc", "vs", "cf", "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "inc", "ltd", "co",
                 "corp", "no", "fig", "al", "approx", "est", "u.s", "u.k", "e.u", "jan", "feb", "mar", "apr", "jun", "jul",
                 "aug", "sep", "sept", "oct", "nov", "dec"}
_LINK = re.compile(r"!?\[([^\]\n]*)\]\([^)\s]*\)")
_QUOTED = re.compile(r"\n[ \t]{0,3}(?:>[ \t]?)+")
_INLINE = re.compile(r"\*\*|__|`+|(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w)")


class Unit(NamedTuple):
    """A sentence, list item or table cell: ``kind`` (``sentence``, ``item``, ``cell``,
    ``heading``), where it is in the answer (``start``, ``end``), its ``text`` as read (markers
    and inline Markdown taken out, blanks collapsed) and the ``markers`` it carries, in order,
    each once."""

    kind: str
    start: int
    end: int
    text: str
    markers: tuple


def plain(text: str) -> str:
    """A unit's text as read: markers, link targets and emphasis marks out, blanks collapsed."""
    text = MARKER.sub("", text)
    text = _QUOTED.sub("\n", text)  # a block quote's continuation lines
    text = _LINK.sub(lambda m: m.group(1), text)
    text = _INLINE.sub("", text)
    return " ".join(text.split())


def units(answer: str) -> list:
    """Every unit of ``answer`` that has a word, in order (see the module's docstring)."""
    out = []
    for kind, start, end, row in _blocks(answer):
        if kind == "cell":
            pieces = [_trim(answer, start, end)]
        else:
            pieces = list(sentences(answer, start, end))
        for s, e in pieces:
            text = plain(answer[s:e])
            markers = marker_keys(answer[s:e])
            if not any(c.isalnum() for c in text) or (kind in ("heading", "cell") and not markers):
                continue
            label = plain(answer[row[0]:row[1]]) if row and row != (s, e) else ""
            out.append(Unit("sentence" if kind == "paragraph" else kind, s, e, f"{label}: {text}" if label else text,
                            markers))
    return out


def sentences(text: str, start: int, end: int):
    """``(start, end)`` of each sentence of ``text[start:end]``, blanks trimmed."""
    at = start
    for m in _END.finditer(text, start, end):
        nxt = m.group(1)
        if nxt[0].islower() or _abbreviation(text, at, m.start()):
            continue
        yield _trim(text, at, m.end())
        at = m.end()
    if text[at:end].strip():
        yield _trim(text, at, end)


def _abbreviation(text: str, start: int, dot: int) -> bool:
    """Whether the word before the period at ``dot`` is an abbreviation or an initial."""
    if text[dot] != ".":
        return False
    word = re.search(r"[\w.]*$", text[start:dot]).group().lower()
    return word in ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def _trim(text: str, start: int, end: int):
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _blocks(answer: str):
    """``(kind, start, end, row)`` of each paragraph, list item, heading and table cell
    (``row``: where the cell's row's first cell is; None for the others)."""
    lines, at = [], 0
    for line in answer.split("\n"):
        lines.append((at, line))
        at += len(line) + 1
    fence = None
    block = None  # [kind, start, end, indent] of the paragraph or item being read
    for start, line in lines:
        if fence is not None or _FENCE.match(line):
            opened = _FENCE.match(line)
            if fence is None:
                fence = opened.group(1)
            elif opened and opened.group(1) == fence:
                fence = None
            yield from _close(block)
            block = None
            continue
        if not line.strip():
            yield from _close(block)
            block = None
            continue
        quote = _QUOTE.match(line)
        offset = quote.end() if quote else 0
        body = line[offset:]
        item = _ITEM.match(body)
        heading = _HEADING.match(body)
        if body.lstrip().startswith("|"):
            yield from _close(block)
            block = None
            yield from _cells(start + offset, body)
        elif heading:
            yield from _close(block)
            block = None
            yield "heading", start + offset + heading.end(), start + len(line), None
        elif item:
            yield from _close(block)
            block = ["item", start + offset + item.end(), start + len(line), len(item.group(1))]
        elif block is not None:
            block[2] = start + len(line)  # a continuation line (of a paragraph or an item)
        else:
            block = ["paragraph", start + offset, start + len(line), 0]
    yield from _close(block)


def _close(block):
    if block is not None:
        yield block[0], block[1], block[2], None


def _cells(start: int, row: str):
    """The cells of a table row (a separator row has none); ``\\|`` does not split a cell."""
    if _TABLE_RULE.fullmatch(row):
        return
    pipes = [m.start() for m in re.finditer(r"(?<!\\)\|", row)]
    if row[pipes[-1] + 1:].strip():  # a row without its closing pipe
        pipes.append(len(row))
    spans = [_trim(row, left + 1, right) for left, right in zip(pipes, pipes[1:])]
    first = (start + spans[0][0], start + spans[0][1]) if spans else None
    for left, right in spans:
        yield "cell", start + left, start + right, first
