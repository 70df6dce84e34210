"""The blocks of one Markdown unit laid out for a terminal: paragraphs wrapped by terminal
cells, headings, lists, block quotes, code highlighted by pygments, tables by rich, citation
markers linked to their sources. :class:`~pplx_cli.output.render.MarkdownStream` cuts the stream into units
and hands each one's syntax tree here. Imported only when rendering, like render.py.
"""

import re

from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound
from rich import box
from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.syntax import ANSI_DARK, ANSISyntaxTheme
from rich.table import Table
from rich.text import Text

from pplx_cli.output.terminal import neutralise, neutralise_line

#: A citation marker in answer text: [1], [web:0].
MARKER = re.compile(r"\[((?:web:)?\d+)\]")
BULLETS = ("•", "◦", "▪")

_S = Style.parse
STYLES = {
    "h1": _S("bold underline magenta"),
    "h2": _S("bold magenta"),
    "h3": _S("bold italic magenta"),
    "h4": _S("bold italic"),
    "h5": _S("bold italic"),
    "h6": _S("bold italic"),
    "em": _S("italic"),
    "strong": _S("bold"),
    "s": _S("strike"),
    "code": _S("cyan"),
    "link": _S("underline blue"),
    "cite": _S("blue"),
    "url": _S("dim"),
    "bullet": _S("bold"),
    "quote": _S("dim"),
    "fence": _S("dim"),
    "rule": _S("dim"),
    "table.border": _S("dim"),
    "table.header": _S("bold"),
}
NULL = Style.null()
_THEME = ANSISyntaxTheme(ANSI_DARK)
_ALIGN = re.compile(r"text-align:\s*(left|center|right)")


def _longest_word(text) -> int:
    """The terminal columns of the longest word of a cell (where it may not be broken)."""
    return max((cell_len(word) for word in text.plain.split()), default=1)


class _Renderer:
    """Markdown syntax tree -> lines of rich Segments, for one unit."""

    def __init__(self, console, color, links, source):
        self.console = console
        self.color = color
        self.links = links
        self.source = source  # the unit's lines, to see whether a fence was closed

    # blocks

    def blocks(self, nodes, width, *, depth, loose=True) -> list:
        lines = []
        for node in nodes:
            block = self.block(node, width, depth)
            if not block:
                continue
            if lines and loose:
                lines.append([])
            lines.extend(block)
        return lines

    def block(self, node, width, depth) -> list:
        kind = node.type
        if kind == "paragraph":
            return self.wrap(self.inline(node), width)
        if kind == "heading":
            return self.wrap(self.inline(node, STYLES.get(node.tag, STYLES["h6"])), width)
        if kind in ("bullet_list", "ordered_list"):
            return self.list(node, width, depth)
        if kind == "blockquote":
            inner = self.blocks(node.children, max(width - 2, 1), depth=depth)
            bar = Segment("│ ", STYLES["quote"])
            return [[bar, *line] if line else [Segment("│", STYLES["quote"])] for line in inner]
        if kind == "fence":
            return self.fence(node)
        if kind == "code_block":
            return [[Segment("    " + line)] if line else [] for line in self.code_lines(node.content)]
        if kind == "hr":
            return [[Segment("─" * width, STYLES["rule"])]]
        if kind == "table":
            return self.table(node, width)
        if node.children:
            return self.blocks(node.children, width, depth=depth)
        return [[Segment(line)] for line in neutralise(node.content).split("\n")] if node.content else []

    def list(self, node, width, depth) -> list:
        items = node.children
        if node.type == "ordered_list":
            start = int(node.attrs.get("start", 1))
            delimiter = node.markup or "."
            labels = [f"{start + i}{delimiter}" for i in range(len(items))]
            size = max(len(label) for label in labels) if labels else 0
            markers = [label.rjust(size) + " " for label in labels]
        else:
            markers = [BULLETS[depth % len(BULLETS)] + " "] * len(items)
        # a loose list (its items apart by blank lines) shows its blocks apart too
        loose = any(child.type == "paragraph" and not child.hidden for item in items for child in item.children)
        lines = []
        for item, marker in zip(items, markers):
            indent = cell_len(marker)
            body = self.blocks(item.children, max(width - indent, 1), depth=depth + 1, loose=loose) or [[]]
            if lines and loose:
                lines.append([])
            lines.append([Segment(marker, STYLES["bullet"]), *body[0]])
            lines.extend([Segment(" " * indent), *line] if line else [] for line in body[1:])
        return lines

    def code_lines(self, code) -> list:
        code = neutralise(code)
        return (code[:-1] if code.endswith("\n") else code).split("\n")

    def fence(self, node) -> list:
        info = node.info.strip()
        fence_style = STYLES["fence"]
        lines = [[Segment(node.markup + neutralise_line(info), fence_style)]]
        language = info.split()[0] if info else ""
        code = self.code_lines(node.content)
        if self.color and language and code != [""]:
            lines.extend(self.highlight(code, language))
        else:
            lines.extend([[Segment(line)] if line else [] for line in code])
        first, last = node.map or (0, 0)
        closing = self.source[last - 1].lstrip(" \t>") if last - first >= 2 and last <= len(self.source) else ""
        if closing.startswith(node.markup) and not closing.strip(node.markup[:1] + " \t"):
            lines.append([Segment(node.markup, fence_style)])
        return lines

    def highlight(self, code, language) -> list:
        try:
            lexer = get_lexer_by_name(neutralise_line(language), stripnl=False, ensurenl=True)
        except ClassNotFound:
            return [[Segment(line)] if line else [] for line in code]
        lines = [[]]
        for token_type, value in lexer.get_tokens("\n".join(code) + "\n"):
            style = _THEME.get_style_for_token(token_type)
            parts = value.split("\n")
            for i, part in enumerate(parts):
                if i:
                    lines.append([])
                if part:
                    lines[-1].append(Segment(neutralise(part), style or None))
        if not lines[-1]:
            lines.pop()  # the newline the lexer was given
        return lines

    def table(self, node, width) -> list:
        head = [row for section in node.children if section.type == "thead" for row in section.children]
        body = [row for section in node.children if section.type == "tbody" for row in section.children]
        table = Table(
            box=box.ROUNDED, border_style=STYLES["table.border"], header_style=STYLES["table.header"],
            show_header=bool(head), expand=False,
        )
        header = head[0].children if head else []
        titles = [self.cell(cell) for cell in header]
        rows = [[self.cell(cell) for cell in row.children[: len(header)]] for row in body]
        # a column is as narrow as its longest word; a table that cannot fit so is shown a
        # row at a time ("Header: value" lines), never with its cells cut to "…"
        needed = sum(max((_longest_word(t) for t in [title, *(row[i] for row in rows if i < len(row))]), default=1) + 3
                     for i, title in enumerate(titles)) + 1
        if needed > width:
            return self.records(titles, rows, width)
        for cell, title in zip(header, titles):
            match = _ALIGN.search(str(cell.attrs.get("style", "")))
            table.add_column(title, justify=match.group(1) if match else "left", overflow="fold")
        for row in rows:
            table.add_row(*row)
        options = self.console.options.update(width=width)
        return self.console.render_lines(table, options, pad=False)

    def records(self, titles, rows, width) -> list:
        """A table too wide for the terminal, a row at a time: each cell on its own line after
        its column's header, rows apart by a blank line."""
        lines = []
        for row in rows:
            if lines:
                lines.append([])
            for title, cell in zip(titles, row):
                text = Text(end="")
                text.append_text(title.copy())
                text.stylize(STYLES["table.header"])
                text.append(": ")
                text.append_text(cell)
                lines += self.wrap(text, width)
        return lines

    def cell(self, node) -> Text:
        return self.inline(node) if node.children else Text()

    def wrap(self, text, width) -> list:
        lines = []
        for line in text.wrap(self.console, width, justify="default", overflow="fold"):
            line.rstrip()
            lines.append(list(line.render(self.console)) if line.plain else [])
        return lines

    # inline

    def inline(self, node, style=NULL) -> Text:
        """The inline content of a paragraph, heading or cell as styled text."""
        text = Text(end="")
        children = node.children
        if len(children) == 1 and children[0].type == "inline":
            children = children[0].children
        self.spans(children, text, style, in_link=False)
        return text

    def spans(self, nodes, text, style, *, in_link):
        run = []  # adjacent text nodes, joined so a marker split across them is still seen
        for node in [*nodes, None]:
            if node is not None and node.type in ("text", "text_special"):
                run.append(node.content)
                continue
            if run:
                self.words(neutralise("".join(run)), text, style, in_link=in_link)
                run = []
            if node is None:
                break
            kind = node.type
            if kind == "softbreak":
                text.append(" ", style)
            elif kind == "hardbreak":
                text.append("\n", style)
            elif kind in ("em", "strong", "s"):
                self.spans(node.children, text, style + STYLES[kind], in_link=in_link)
            elif kind == "code_inline":
                content = neutralise(node.content)
                if self.color:
                    text.append(content, style + STYLES["code"])
                else:  # no colour to tell code from prose: keep its backticks
                    text.append(f"{node.markup}{content}{node.markup}", style)
            elif kind == "link":
                href = node.attrs.get("href", "")
                start = len(text)
                self.spans(node.children, text, style + STYLES["link"] + Style(link=href), in_link=True)
                if node.markup != "autolink" and text.plain[start:] != href:
                    text.append(f" ({neutralise_line(href)})", style + STYLES["url"])
            elif kind == "image":
                src = node.attrs.get("src", "")
                text.append("[image: ", style + Style(link=src))
                self.spans(node.children, text, style + Style(link=src), in_link=True)
                text.append("]", style + Style(link=src))
            elif node.children:
                self.spans(node.children, text, style, in_link=in_link)
            elif node.content:
                text.append(neutralise(node.content), style)

    def words(self, content, text, style, *, in_link):
        """Plain text, with citation markers whose label is known made hyperlinks."""
        if in_link or not self.links:
            text.append(content, style)
            return
        position = 0
        for match in MARKER.finditer(content):
            url = self.links.get(match.group(1))
            if not url:
                continue
            text.append(content[position : match.start()], style)
            text.append(match.group(), style + STYLES["cite"] + Style(link=url))
            position = match.end()
        text.append(content[position:], style)
