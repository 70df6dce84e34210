"""render.py: Markdown on a terminal, block by block as the answer streams."""

import io
import os
import re
import select
import subprocess
import sys
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pplx_cli.output.render import MarkdownStream
from tests.conftest import ROOT

LINKS = {"1": "https://example.com/one", "2": "https://example.com/two", "web:0": "https://example.com/page"}
#: pplx's own escape sequences: SGR styles and OSC 8 hyperlinks (open with a URL, or close).
OWN = re.compile(r"\x1b\[[0-9;]*m|\x1b\]8;;[!-~]*\x1b\\")
SGR = re.compile(r"\x1b\[([0-9;]*)m")
OSC8 = re.compile(r"\x1b\]8;;([!-~]*)\x1b\\")
#: Characters that must not reach the terminal but as part of OWN (tab stays: code keeps its tabs).
CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

DOC = """\
# Heading one

Some *emphasis*, **strong**, `code` and ~~struck~~ text with a [link](https://example.org/x), citations [1][2]
and [web:0], and an unknown one [9]. This paragraph is long enough to be wrapped on a narrow terminal.

## A list

- first item
- second item
  - nested item
- third item

1. one
2. two

> a quote
> on two lines

```python
def answer():
    return 42  # a comment long enough that the line is wider than the sixty columns of the terminal
```

| name | value |
|:-----|------:|
| a    | 1     |
| bb   | 22    |

---

Last paragraph.
"""


class Recorder:
    """A binary stream that remembers each write and each flush."""

    def __init__(self):
        self.writes = []
        self.flushes = 0

    def write(self, data):
        assert isinstance(data, bytes)
        self.writes.append(data)

    def flush(self):
        self.flushes += 1

    def value(self):
        return b"".join(self.writes)


def render(*pieces, width=60, color=True, links=LINKS) -> bytes:
    out = io.BytesIO()
    stream = MarkdownStream(out, width=width, color=color, links=links)
    for piece in pieces:
        stream.feed(piece)
    stream.close()
    return out.getvalue()


def visible(data) -> str:
    """What a reader sees: the output without pplx's own escape sequences."""
    text = data.decode() if isinstance(data, bytes) else data
    return OWN.sub("", text)


def assert_only_own_escapes(data):
    text = data.decode()
    rest = OWN.sub("", text)
    assert "\x1b" not in rest, repr(rest)
    assert not CONTROL.search(rest.replace("\n", "")), repr(rest)


def split(text, cuts):
    bounds = sorted({min(c, len(text)) for c in cuts})
    return [text[i:j] for i, j in zip([0, *bounds], [*bounds, len(text)])]


# the whole document


def test_exact_output_without_colour():
    md = "# Title\n\nSome **bold** and `code` [1].\n\n- a\n- b\n\n```sh\necho hi\n```\n"
    out = render(md, color=False)
    assert out == (
        b"\x1b[1;4mTitle\x1b[0m\n"
        b"\n"
        b"Some \x1b[1mbold\x1b[0m and `code` \x1b]8;;https://example.com/one\x1b\\[1]\x1b]8;;\x1b\\.\n"
        b"\n"
        b"\x1b[1m\xe2\x80\xa2 \x1b[0ma\n"
        b"\x1b[1m\xe2\x80\xa2 \x1b[0mb\n"
        b"\n"
        b"\x1b[2m```sh\x1b[0m\n"
        b"echo hi\n"
        b"\x1b[2m```\x1b[0m\n"
    )


def test_document_renders_structure():
    out = render(DOC)
    seen = visible(out)
    assert seen.endswith("Last paragraph.\n") and not seen.endswith("\n\n")
    lines = seen.split("\n")
    assert "Heading one" in lines and "A list" in lines
    assert "• first item" in lines and "  ◦ nested item" in lines and "1. one" in lines
    assert "│ a quote on two lines" in lines
    assert "```python" in lines and "    return 42" in "\n".join(lines)
    assert any(line.startswith("╭") for line in lines) and "│ bb   │    22 │" in lines
    assert "─" * 60 in lines
    assert not any(line.startswith("#") for line in lines) and "**" not in seen and "~~" not in seen


def test_prose_lists_quotes_and_tables_fit_the_width():
    for width in (30, 60, 100):
        seen = visible(render(DOC, width=width))
        code = False
        for line in seen.split("\n"):
            if line.startswith("```"):
                code = not code
                continue
            if not code:
                assert len(line) <= width, (width, line)


def test_output_ends_with_exactly_one_newline():
    assert render("no newline at the end").endswith(b"end\n")
    assert render("trailing blank lines\n\n\n\n").endswith(b"lines\n")
    assert render("```\nunclosed code\n\n\n").endswith(b"code\n")
    assert render("- item\n\n\n").endswith(b"item\n")
    assert render("") == b""
    assert render() == b""
    assert render("\n\n  \n") == b"\n"  # text, but nothing to show: still one newline


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, len(DOC))))
def test_property_document_in_any_pieces_gives_the_same_bytes(cuts):
    assert render(*split(DOC, cuts)) == render(DOC)


#: Pieces of Markdown syntax, to make texts that stress where blocks begin and end.
FRAGMENTS = [
    "# ", "## ", "- ", "* ", "+ ", "1. ", "2) ", "10. ", "> ", "```", "~~~", "```py", "    ", "  ", "\t",
    "|", "| a | b |", "|-|-|", "---", "===", "***", "[1]", "[web:0]", "[x]: /u", "[x]", "\n", "\n", "\n\n",
    "a", "word ", "**", "_", "`", "\r\n", "\r", "\x1b[31m", "&#x1b;", "&#x202e;", "<http://a.b>", "[t](/u)",
    "\\", "東京", "🙂",
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join), st.lists(st.integers(0, 200)))
def test_property_any_markdown_in_any_pieces_gives_the_same_bytes(text, cuts):
    whole = render(text)
    assert render(*split(text, cuts)) == whole
    assert render(*text) == whole  # one character at a time
    assert_only_own_escapes(whole)
    assert whole == b"" or whole.endswith(b"\n") and not whole.endswith(b"\n\n")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200), st.lists(st.integers(0, 200)))
def test_property_any_text_in_any_pieces_gives_the_same_bytes(text, cuts):
    whole = render(text, color=False)
    assert render(*split(text, cuts), color=False) == whole
    assert_only_own_escapes(whole)


# streaming: a block is written when it is complete


def test_paragraph_is_written_at_the_blank_line_after_it():
    out = Recorder()
    stream = MarkdownStream(out, width=60, color=True)
    stream.feed("para")
    stream.feed(" one\n")
    assert out.value() == b""  # the next line may still continue the paragraph
    stream.feed("\n")
    assert out.value() == b"para one\n" and out.flushes == 1
    stream.feed("para two")
    assert out.value() == b"para one\n"
    stream.close()
    assert out.value() == b"para one\n\npara two\n"


def test_heading_is_written_with_its_line():
    out = Recorder()
    stream = MarkdownStream(out, width=60, color=False)
    stream.feed("# Title")
    assert out.value() == b""
    stream.feed("\nText")
    assert visible(out.value()) == "Title\n"


def test_list_items_are_written_one_by_one():
    out = Recorder()
    stream = MarkdownStream(out, width=60, color=False)
    stream.feed("- one\n")
    assert out.value() == b""  # it may have more lines
    stream.feed("  more of one\n- two\n")
    assert visible(out.value()) == "• one more of one\n"
    stream.feed("\n- three\n")  # a blank line between items in the answer: one on screen too
    assert visible(out.value()) == "• one more of one\n• two\n"
    stream.feed("\nAfter.\n\n")
    assert visible(out.value()) == "• one more of one\n• two\n\n• three\n\nAfter.\n"


def test_code_block_is_written_at_its_closing_fence():
    out = Recorder()
    stream = MarkdownStream(out, width=60, color=False)
    stream.feed("```\nline 1\n\nline 2\n")
    assert out.value() == b""
    stream.feed("``")
    assert out.value() == b""
    stream.feed("`\n")
    assert visible(out.value()) == "```\nline 1\n\nline 2\n```\n"


def test_table_and_quote_are_written_at_the_blank_line_after_them():
    out = Recorder()
    stream = MarkdownStream(out, width=60, color=False)
    stream.feed("> quoted\n")
    assert out.value() == b""
    stream.feed("\n| a |\n|---|\n| 1 |\n")
    assert visible(out.value()) == "│ quoted\n"
    stream.feed("\n")
    assert "│ 1 │" in visible(out.value())


def test_long_code_block_streams_without_reparsing_each_line():
    out = Recorder()
    stream = MarkdownStream(out, width=60, color=True)
    stream.feed("```python\n")
    for i in range(3000):
        stream.feed(f"x = {i}\n")
    assert out.value() == b""
    stream.feed("```\n")
    assert visible(out.value()).count("\n") == 3002


def test_crlf_split_across_pieces_is_a_line_end():
    assert render("a\r", "\n\r\nb\r\n") == render("a\n\nb\n") == b"a\n\nb\n"
    assert render("a\rb") == b"a\\rb\n"


# code


def test_code_is_not_rewrapped_nor_cropped():
    long = "x = " + " + ".join(str(i) for i in range(40))
    for color in (True, False):
        seen = visible(render(f"```python\n{long}\n\tindented with a tab\n```\n", width=40, color=color))
        assert f"\n{long}\n" in seen
        assert "\n\tindented with a tab\n" in seen


def test_code_is_highlighted_with_colour_only():
    code = "```python\ndef f():\n    return 1\n```\n"
    assert SGR.search(render(code, color=True).split(b"\n", 1)[1].decode())  # past the fence line
    plain = render(code, color=False).decode()
    assert "def f():\n    return 1\n" in plain


def test_code_keeps_markers_and_markdown_literal():
    seen = visible(render("```\n**not bold** [1] # not a heading\n```\n"))
    assert "**not bold** [1] # not a heading" in seen
    assert b"\x1b]8" not in render("```\n[1]\n```\n\n`[1]`\n")


def test_indented_code_keeps_its_indent():
    assert visible(render("Text.\n\n    code  line\n    second\n\nMore.\n", color=False)) == (
        "Text.\n\n    code  line\n    second\n\nMore.\n"
    )


def test_code_in_a_list_item_is_not_rewrapped():
    long = "curl -sS https://example.com/a/very/long/path/that/does/not/fit/in/forty/columns"
    seen = visible(render(f"1. Run:\n\n   ```sh\n   {long}\n   ```\n", width=40, color=False))
    assert f"   {long}\n" in seen


# citations


def test_known_marker_is_a_hyperlink_and_unknown_is_not():
    out = render("See [1], [web:0] and [7].\n").decode()
    assert OSC8.findall(out) == ["https://example.com/one", "", "https://example.com/page", ""]
    assert visible(out) == "See [1], [web:0] and [7].\n"


def test_hyperlink_wraps_exactly_the_marker():
    out = render("Fact [2].\n", color=False).decode()
    assert out == "Fact \x1b]8;;https://example.com/two\x1b\\[2]\x1b]8;;\x1b\\.\n"


def test_no_links_no_hyperlinks():
    assert b"\x1b]8" not in render("See [1].\n", links=None)
    assert render("See [1].\n", links=None, color=False) == b"See [1].\n"


def test_set_links_applies_to_blocks_rendered_after_it():
    out = io.BytesIO()
    stream = MarkdownStream(out, width=60, color=False)
    stream.feed("Before [1].\n\n")
    stream.set_links({"1": "https://late.example"})
    stream.feed("After [1].\n")
    stream.close()
    assert OSC8.findall(out.getvalue().decode()) == ["https://late.example", ""]


def test_marker_url_with_escapes_cannot_break_out():
    out = render("See [1].\n", links={"1": "http://x/\x1b]8;;http://evil\x07\x1b\\"})
    assert_only_own_escapes(out)
    assert OSC8.findall(out.decode())[0] == "http://x/%1B]8;;http://evil%07%1B\\"


# nothing from the network reaches the terminal as a control sequence

HOSTILE = """\
# Title \x1b]0;pwned\x07 and \x9b2J

Text \x1b[2J\x1b[H cleared? \u202eevil\u202c and \r overwritten &#x202e; &#x1b; &#x9b; &#27;

- item \x1b[31mred
- [link \x1b[5m](http://x/\x1b[0m "t\x1b") <http://a.b/\x1b>

```py\x1b[1m
print("\x1b[2J")\x07
```

| a\x1b[7m | b |
|---|---|
| \x1b]8;;http://evil\x1b\\\\x | \u2066 |

> quote \x1b[8m hidden
"""


@pytest.mark.parametrize("color", [True, False])
def test_raw_escapes_never_reach_the_terminal(color):
    out = render(HOSTILE, color=color)
    assert_only_own_escapes(out)
    seen = visible(out)
    for shown in ("\\x1b[2J\\x1b[H", "\\u202eevil\\u202c", "\\r", "\\x1b[31mred", "\\x1b]0;pwned\\x07", "\\x9b2J"):
        assert shown in seen
    # every hyperlink target is printable ASCII with no ESC or BEL in it
    for url in OSC8.findall(out.decode()):
        assert "\x1b" not in url and "\x07" not in url


def test_entities_decoded_by_the_parser_are_neutralised_too():
    seen = visible(render("a &#x202e; b &#x2066; c\n"))
    assert seen == "a \\u202e b \\u2066 c\n"


# colour


def colour_codes(data: bytes):
    codes = []
    for params in SGR.findall(data.decode()):
        for code in params.split(";"):
            if code and (30 <= int(code) <= 49 or 90 <= int(code) <= 107):
                codes.append(code)
    return codes


def test_colour_false_writes_no_colour_but_keeps_structure():
    out = render(DOC, color=False)
    assert colour_codes(out) == []
    assert SGR.search(out.decode())  # bold, italic, underline, dim stay
    assert colour_codes(render(DOC, color=True))  # and the test can fail
    # the same text in the same places, colour or not (inline code aside: it keeps its backticks)
    doc = DOC.replace("`code` and ", "")
    assert visible(render(doc, color=False)) == visible(render(doc, color=True))


def test_colour_false_inline_code_keeps_its_backticks():
    assert visible(render("Use `ls -l` here.\n", color=False)) == "Use `ls -l` here.\n"
    assert visible(render("Use `ls -l` here.\n", color=True)) == "Use ls -l here.\n"


# a real terminal

PTY_SCRIPT = r"""
import os, sys
from pplx_cli.output.render import MarkdownStream
from pplx_cli.output.tty import wants_color, wants_render, width

out = sys.stdout.buffer
assert wants_render(out, os.environ), "stdout is not a terminal"
stream = MarkdownStream(out, width=width(out), color=wants_color(out, os.environ), links={"1": "https://example.com/one"})
text = (
    "# Heading on a real terminal\n\n"
    "A paragraph long enough that a terminal of sixty columns must wrap it: "
    "it goes on, and on, and on, with a citation [1] and an escape \x1b[2J that must not clear the screen.\n\n"
    "- the first item of the list, also long enough to be wrapped at sixty columns wide\n"
    "- the second item\n"
)
for i in range(0, len(text), 7):
    stream.feed(text[i:i + 7])
stream.close()
"""


def test_on_a_real_pseudo_terminal():
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 60, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    env.update(TERM="xterm-256color", PYTHONPATH=str(ROOT))
    try:
        proc = subprocess.Popen([sys.executable, "-c", PTY_SCRIPT], stdin=slave, stdout=slave, stderr=slave, env=env)
    finally:
        os.close(slave)
    data = b""
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 30)
            if not ready:
                pytest.fail(f"no output from the pty: {data!r}")
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child has gone and the slave is closed
                break
            if not chunk:
                break
            data += chunk
    finally:
        os.close(master)
        proc.wait(timeout=30)
    assert proc.returncode == 0, data
    text = data.decode().replace("\r\n", "\n")  # the terminal's ONLCR
    assert_only_own_escapes(text.encode())
    seen = visible(text)
    lines = seen.split("\n")
    assert "Heading on a real terminal" in lines
    assert "\\x1b[2J" in seen
    assert any(line.startswith("• the first item") for line in lines)
    assert all(len(line) <= 60 for line in lines), lines
    assert max(len(line) for line in lines) > 50  # the width used was the terminal's, not a narrow default
    assert OSC8.findall(text)[0] == "https://example.com/one"
    assert SGR.search(text)  # colour on a terminal without NO_COLOR
    assert seen.endswith("• the second item\n")


# import cost: only render.py (and the render_blocks.py it imports) pull in the rendering libraries


def test_nothing_else_imports_the_rendering_libraries():
    code = textwrap.dedent(
        """
        import pkgutil, importlib, sys
        import pplx_cli
        for info in pkgutil.walk_packages(pplx_cli.__path__, "pplx_cli."):
            if info.name not in ("pplx_cli.output.render", "pplx_cli.output.render_blocks", "pplx_cli.__main__"):
                importlib.import_module(info.name)
        print(sorted({m.split(".")[0] for m in sys.modules} & {"rich", "markdown_it", "pygments", "mdurl"}))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# ---- linear in the length of a block ----


def _render_time(text):
    import time

    stream = MarkdownStream(io.BytesIO(), width=80, color=False)
    started = time.process_time()
    for line in text.splitlines(keepends=True):  # a line a delta, as a stream of short deltas comes
        stream.feed(line)
    stream.close()
    return time.process_time() - started


def test_a_long_table_paragraph_or_quote_renders_in_linear_time():
    """Each new line of a long open block used to parse the whole block again (quadratic: a
    1,000-row table took 14 s). Now a line that cannot end the block is only held: 5,000 rows
    in one table, and 2,000 lines of one paragraph or one quote (quadratic, each would take a
    minute or more), render within a few times what as many short paragraphs take."""
    def plain(n):
        return _render_time("".join(f"para {i}\n\n" for i in range(n)))

    table = _render_time("| a | b |\n|---|---|\n" + "".join(f"| {i} | row {i} |\n" for i in range(5_000)) + "\nafter\n")
    assert table < 4 * plain(5_000)
    short = plain(2_000)
    assert _render_time("".join(f"word{i} and more words here\n" for i in range(2_000)) + "\nafter\n") < 4 * short
    assert _render_time("".join(f"> quoted line {i}\n" for i in range(2_000)) + "\nafter\n") < 4 * short


# ---- nothing is lost, however the answer nests or however wide its table ----


def test_deep_nesting_loses_nothing():
    nested = "Intro.\n\n" + "".join("  " * i + f"- item {i}\n" for i in range(10)) + "\nAFTER one.\n\n## Two\n\nAFTER two.\n"
    seen = visible(render(nested, width=80, color=False).decode())
    for word in ["Intro.", *(f"item {i}" for i in range(10)), "AFTER one.", "Two", "AFTER two."]:
        assert word in seen, word
    deep = visible(render(">" * 45 + " deeper quote\n\nafter\n", width=80, color=False).decode())
    assert "deeper quote" in deep and "after" in deep


def test_a_table_too_wide_for_the_terminal_is_shown_a_row_at_a_time():
    table = ("| Year | " + " | ".join(f"M{i}" for i in range(12)) + " |\n|" + "---|" * 13 + "\n"
             "| Calendar 2024 | " + " | ".join(str(1000 + i) for i in range(12)) + " |\n")
    seen = visible(render(table, width=80, color=False).decode())
    assert "…" not in seen
    assert seen.splitlines()[:3] == ["Year: Calendar 2024", "M0: 1000", "M1: 1001"]
    narrow = visible(render("| a | b |\n|---|---|\n| 1 | 2 |\n", width=80, color=False).decode())
    assert "│ a │ b │" in narrow  # one that fits is a table


def test_an_emoji_with_its_presentation_selector_is_two_columns():
    from pplx_cli.output.terminal import cells, fit

    assert cells("\u2764\ufe0f") == 2 and cells("\u2764") == 1 and cells("日本") == 4
    assert cells(fit("\u2764\ufe0f" * 60, 80)) <= 80
