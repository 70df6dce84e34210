"""Markdown rendered on a terminal as the answer streams.

Imported only when rendering (it pulls in rich, markdown-it-py and pygments, tens of
milliseconds): nothing else in pplx imports it. markdown-it-py parses (CommonMark, with GFM
tables and strikethrough; raw HTML is shown as text); rich lays text out (word wrap by
terminal cells, tables) and pygments highlights code, with the terminal's own 16 colours
(rich's ``ansi_dark`` theme) so it follows the user's palette.

How the stream is cut into blocks. Only complete lines are parsed; the unfinished last line
waits. The pending lines are parsed and cut into units: a top-level block (paragraph,
heading, fenced or indented code, block quote, table, rule), except that a top-level list is
cut into its items, so a long list streams item by item. Every unit but the last is complete,
since a later block has begun (Markdown closes blocks for good, line by line). The last one
is complete when nothing can extend it: a heading or a rule at once, a fenced block at its
closing fence, a paragraph, block quote or table once a blank line follows it. A list item
and an indented code block can go on after a blank line, so they wait for the next block (or
``close``). Each complete unit is parsed again on its own text, rendered, written and
flushed, so the output never depends on how the text was split into pieces.

What is given up for that: a reference definition (``[x]: url``) applies only to the block
right after it; an item of a top-level ordered list shows the number the answer gave it
(HTML would count on from the first), aligned by its own width, not the widest in the list.
Between blocks is one blank line; between items of one list a blank line only where the
answer has one. A long code block is not parsed again line by line: only a line that could
close it makes the stream look again.

Everything from the network is neutralised (``terminal.neutralise``) before it is parsed, its
text and URLs again after (entities such as ``&#x202e;`` are decoded by the parser), and once
more as each piece is written, so the only escape sequences in the output are pplx's own SGR
styles and OSC 8 hyperlinks.
"""

import io
import re
from functools import lru_cache
from itertools import groupby

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode
from rich.color import ColorSystem
from rich.console import Console

from pplx_cli.output.render_blocks import _Renderer
from pplx_cli.output.terminal import neutralise, osc8


#: How deep the parser nests blocks (markdown-it's default is 20: ten levels of list).
MAX_NESTING = 40


def build_parser() -> MarkdownIt:
    """The Markdown parser: CommonMark, GFM tables and strikethrough, raw HTML as text."""
    # nesting past maxNesting makes markdown-it drop the rest of the text: 40 levels is more
    # than any answer nests (the default is 20: ten levels of list); what is dropped all the
    # same is printed as plain text at the end (MarkdownStream._emit)
    return MarkdownIt("commonmark", {"html": False, "maxNesting": MAX_NESTING}).enable(["table", "strikethrough"])


@lru_cache(maxsize=None)
def _closing_fence(markup: str):
    # a fence's closing line, as markdown-it reads one at the top level: up to 3 spaces, at
    # least as many of the same character as opened it, then only blanks
    return re.compile(rf" {{0,3}}{re.escape(markup[:1])}{{{len(markup)},}}[ \t]*\Z")


class _Unit:
    """A top-level block, or one item of a top-level list, in the pending lines."""

    __slots__ = ("kind", "start", "end", "markup", "list")

    def __init__(self, kind, start, end, markup="", list_=None):
        self.kind, self.start, self.end, self.markup, self.list = kind, start, end, markup, list_


def iter_units(tokens):
    """The units of a parsed text, in order (see the module docstring)."""
    current_list = None
    for position, token in enumerate(tokens):
        if token.map is None:
            continue
        if token.level == 0 and token.nesting >= 0:
            if token.type in ("bullet_list_open", "ordered_list_open"):
                current_list = position
            else:
                yield _Unit(token.type.removesuffix("_open"), token.map[0], token.map[1], token.markup)
        elif token.level == 1 and token.type == "list_item_open" and current_list is not None:
            yield _Unit("item", token.map[0], token.map[1], token.markup, current_list)


#: The start of a line that may begin a block (a heading, quote, fence, rule, setext underline,
#: list item, HTML), which could end or change a paragraph or a table before it.
_BLOCK_START = re.compile(r" {0,3}(?:[#>`~<*+=_-]|\d{1,9}[.)])")
_QUOTED = re.compile(r" {0,3}>")


def _keeps_open(kind: str, line: str) -> bool:
    """Whether ``line``, after the open last unit of ``kind``, surely leaves it open and as it
    was: a quote goes on while its lines start with '>', a paragraph or a table while a line
    is neither blank nor a block's start (a paragraph also without a '|': a table's header can
    interrupt it). When unsure, False: the stream is parsed again."""
    if kind == "blockquote":
        return bool(_QUOTED.match(line))
    if not line.strip() or _BLOCK_START.match(line) or line.startswith("    ") or line.startswith("\t"):
        return False
    return kind == "table" or "|" not in line


def _complete(unit, lines) -> bool:
    """Whether the last unit of the pending lines can no longer grow."""
    if unit.kind in ("heading", "hr"):
        return True
    if unit.kind in ("paragraph", "blockquote", "table", "fence") and unit.end < len(lines):
        return True  # the parser ended it before the last line: a blank line follows
    if unit.kind == "fence":
        return unit.end - unit.start >= 2 and bool(_closing_fence(unit.markup).match(lines[unit.end - 1]))
    return False


class MarkdownStream:
    """Render Markdown that arrives in pieces onto a terminal, block by block.

    ``out`` is a binary stream; each block is written as UTF-8 and flushed as soon as it is
    complete (see the module docstring for when that is). ``width`` is the terminal's
    columns: prose, lists, quotes and tables are wrapped to it, code is not wrapped (a long
    line is left to the terminal). ``color`` False (NO_COLOR) keeps the structure and bold,
    italic, underline, but writes no colour. ``links`` maps a citation marker's label ("1",
    "web:0") to its URL: a marker with a known label becomes an OSC 8 hyperlink, keeping its
    text. ``close`` renders what is left; the output then ends with exactly one newline
    (nothing at all if no text was fed).
    """

    def __init__(self, out, *, width: int, color: bool, links: dict | None = None):
        self.out = out
        self.width = max(int(width), 1)
        self.color = color
        self.links = dict(links or {})
        self.parser = build_parser()
        self.console = Console(
            file=io.StringIO(), width=self.width, height=25, force_terminal=True, color_system="standard",
            legacy_windows=False, emoji=False, markup=False, highlight=False, soft_wrap=False,
        )
        self.partial = []  # raw text after the last newline, in the pieces it came in
        self.pending = ""  # complete lines, neutralised, not yet rendered (as of the last parse)
        self.held = []  # complete lines since the last parse, which cannot have changed what it found
        self.separator = "\n"  # what goes between the last unit written and the next
        self.fed = False
        self.wrote = False
        self.closed = False
        self.open_fence = None  # the closing-line pattern while the last unit is an unclosed fence
        self.open_block = None  # paragraph, blockquote or table: the last unit, still open

    def set_links(self, links: dict) -> None:
        """Citation labels -> URLs, for the blocks rendered from now on."""
        self.links = dict(links or {})

    def feed(self, text: str) -> None:
        """Take answer text as it arrives, in pieces of any size; write the blocks it completes."""
        if self.closed:
            raise ValueError("feed after close")
        if not text:
            return
        self.fed = True
        cut = text.rfind("\n")
        if cut < 0:
            self.partial.append(text)  # a list: a long line in many pieces is joined once
            return
        self.partial.append(text[: cut + 1])
        complete = neutralise("".join(self.partial))
        self.partial = [text[cut + 1:]] if cut + 1 < len(text) else []
        # whole lines: a CRLF is never split, so this is what neutralising the whole text gives
        self.held.append(complete)
        # Parsing again only where a line could change what the last parse found keeps a long
        # block linear: inside a code block only a closing fence can; inside a paragraph,
        # quote or table only a line that could end it (a blank line, a block's start)
        if self.open_fence is not None:
            if any(map(self.open_fence.match, complete.split("\n"))):
                self._emit(final=False)
        elif self.open_block is None or not all(_keeps_open(self.open_block, line) for line in complete[:-1].split("\n")):
            self._emit(final=False)

    def close(self) -> None:
        """Render what is pending, the last block included. Safe to call more than once."""
        if self.closed:
            return
        self.closed = True
        self.held.append(neutralise("".join(self.partial)))
        self.partial = []
        self._emit(final=True)
        if self.fed and not self.wrote:
            self._write("\n")

    def _write(self, data: str):
        self.out.write(data.encode("utf-8", "replace"))
        self.out.flush()

    def _emit(self, final: bool):
        if self.held:
            self.pending += "".join(self.held)
            self.held = []
        lines = self.pending.split("\n")
        if self.pending.endswith("\n"):
            lines.pop()
        units = list(iter_units(self.parser.parse(self.pending)))
        ready = len(units) if final else max(len(units) - 1, 0)
        self.open_fence = self.open_block = None
        if not final and units:
            if _complete(units[-1], lines):
                ready = len(units)
            elif units[-1].kind == "fence":
                self.open_fence = _closing_fence(units[-1].markup)
            elif units[-1].kind in ("paragraph", "blockquote", "table"):
                self.open_block = units[-1].kind
        if not ready:
            if final:
                self._leftover(lines, 0, [])
            return
        out = []
        begin = 0
        for i in range(ready):
            unit = units[i]
            # a unit's text runs from the end of the one before it: blank lines and reference
            # definitions between blocks belong to the block after them
            text = "".join(line + "\n" for line in lines[begin : unit.end])
            begin = unit.end
            rendered = self.render_unit(text)
            if rendered:
                if self.wrote or out:
                    out.append(self.separator)
                out.append(rendered)
            following = units[i + 1] if i + 1 < len(units) else None
            if unit.kind == "item" and following is not None and following.list == unit.list:
                # items of one list: a blank line between them only where the answer has one
                self.separator = "\n" if following.start and not lines[following.start - 1].strip() else ""
            else:
                self.separator = "\n"
        if final:
            return self._leftover(lines, begin, out)
        self.pending = "".join(line + "\n" for line in lines[begin:])
        if out:
            self.wrote = True
            self._write("".join(out))

    def _leftover(self, lines, begin, out):
        """At the end: write what was rendered, then any line no block took (markdown-it stops
        at a nesting too deep for it) as it is, already neutralised: nothing is lost."""
        rest = list(lines[begin:])
        while rest and not rest[-1].strip():
            rest.pop()
        if any(line.strip() for line in rest):
            if self.wrote or out:
                out.append(self.separator)
            out.append("".join(line.rstrip() + "\n" for line in rest).lstrip("\n"))
        self.pending = ""
        if out:
            self.wrote = True
            self._write("".join(out))

    def render_unit(self, text: str) -> str:
        """One unit's Markdown as terminal text: lines each ending in a newline, or ''. A unit
        nested as deep as the parser goes is shown as it is: the parser drops what is deeper."""
        tokens = self.parser.parse(text)
        if any(token.level >= MAX_NESTING - 1 for token in tokens):
            return "".join(line.rstrip() + "\n" for line in text.strip("\n").split("\n"))
        root = SyntaxTreeNode(tokens)
        renderer = _Renderer(self.console, self.color, self.links, text.split("\n"))
        lines = renderer.blocks(root.children, self.width, depth=0)
        while lines and not lines[-1]:
            lines.pop()
        while lines and not lines[0]:
            lines.pop(0)
        return "".join(self._encode_line(line) + "\n" for line in lines)

    def _encode_line(self, line) -> str:
        parts = []
        for link, segments in groupby(line, key=lambda segment: segment.style.link if segment.style else None):
            chunk = "".join(self._encode_segment(segment) for segment in segments)
            parts.append(osc8(link, chunk) if link else chunk)
        return "".join(parts)

    def _encode_segment(self, segment) -> str:
        if segment.control:
            return ""
        text = neutralise(segment.text)  # the last guard: whatever reached a segment is shown, not obeyed
        style = segment.style
        if not style or not text:
            return text
        if style.link:
            style = style.update_link(None)
        if not self.color:
            style = style.without_color
        return style.render(text, color_system=ColorSystem.STANDARD)
