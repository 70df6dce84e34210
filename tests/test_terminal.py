"""terminal.py: control characters made visible, terminal and colour decisions, width, OSC 8."""

import io
import os
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pplx_cli.output.terminal import StreamNeutraliser, neutralise, neutralise_line, osc8
from pplx_cli.output.tty import wants_color, wants_render, width

#: What must never reach a terminal from the network.
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
UNSAFE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
BIDI = [chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]]


# neutralise: each class of character


def test_escape_and_del_become_visible():
    assert neutralise("a\x1b[31mred\x1b[0m") == "a\\x1b[31mred\\x1b[0m"
    assert neutralise("\x1b]0;title\x07") == "\\x1b]0;title\\x07"
    assert neutralise("x\x7fy") == "x\\x7fy"


def test_every_c0_but_newline_and_tab():
    for code in range(0x20):
        char = chr(code)
        if char in "\n\t":
            assert neutralise(f"a{char}b") == f"a{char}b"
        elif char == "\r":
            assert neutralise("a\rb") == "a\\rb"
        else:
            assert neutralise(f"a{char}b") == f"a\\x{code:02x}b"
    assert neutralise("\x00\x07\x08\x0b\x0c") == "\\x00\\x07\\x08\\x0b\\x0c"


def test_every_c1():
    for code in range(0x80, 0xA0):
        assert neutralise(chr(code)) == f"\\x{code:02x}"
    # the 8-bit CSI and OSC that some terminals still obey
    assert neutralise("\x9b31m\x9d0;t\x9c") == "\\x9b31m\\x9d0;t\\x9c"


def test_bidi_overrides_and_isolates():
    assert neutralise("abc\u202edcba") == "abc\\u202edcba"
    assert [neutralise(c) for c in BIDI] == [
        "\\u202a", "\\u202b", "\\u202c", "\\u202d", "\\u202e", "\\u2066", "\\u2067", "\\u2068", "\\u2069",
    ]
    # the marks next to them are not overrides: left as they are
    assert neutralise("\u200e\u200f\u2029") == "\u200e\u200f\u2029"


def test_crlf_is_a_newline_and_a_lone_cr_is_shown():
    assert neutralise("one\r\ntwo\r\n") == "one\ntwo\n"
    assert neutralise("secret\rpublic") == "secret\\rpublic"
    assert neutralise("a\r\r\nb\n\r") == "a\\r\nb\n\\r"


def test_printable_unicode_unchanged():
    text = "Grüße, 東京, Ελληνικά, עברית, 🙂👍🏽, \u00a0nbsp, tab\tand\nnewline, a\\x1b literal"
    assert neutralise(text) == text


def test_neutralise_line_escapes_newline_and_tab_too():
    assert neutralise_line("Title\n[2] forged <http://evil>") == "Title\\n[2] forged <http://evil>"
    assert neutralise_line("a\tb\r\nc\rd\x1b") == "a\\tb\\nc\\rd\\x1b"
    assert neutralise_line("Grüße 東京 🙂") == "Grüße 東京 🙂"


def test_stream_neutraliser_keeps_a_split_crlf_whole():
    stream = StreamNeutraliser()
    assert stream.feed("a\r") == "a"
    assert stream.feed("\nb\r") == "\nb"
    assert stream.feed("c") == "\\rc"
    assert stream.feed("d\r") == "d"
    assert stream.flush() == "\\r"
    assert stream.flush() == ""


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_property_nothing_unsafe_survives(text):
    out = neutralise(text)
    assert not UNSAFE.search(out)
    line = neutralise_line(text)
    assert not UNSAFE_LINE.search(line)
    assert "\n" not in line


@settings(max_examples=500, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters=BIDI)))
def test_property_printable_text_round_trips(text):
    assert neutralise(text) == text
    assert neutralise_line(text) == text


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from("ab\r\n\x1b\t")), st.lists(st.integers(0, 40)))
def test_property_streaming_equals_whole(text, cuts):
    stream = StreamNeutraliser()
    bounds = sorted({min(c, len(text)) for c in cuts})
    pieces = [text[i:j] for i, j in zip([0, *bounds], [*bounds, len(text)])]
    assert "".join(stream.feed(p) for p in pieces) + stream.flush() == neutralise(text)


# terminal decisions


class FakeTTY(io.BytesIO):
    def __init__(self, tty=True):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


class Broken:
    def isatty(self):
        raise ValueError("I/O operation on closed file")


def test_wants_render():
    assert wants_render(FakeTTY(), {"TERM": "xterm-256color"})
    assert wants_render(FakeTTY(), {})
    assert wants_render(FakeTTY(), {"NO_COLOR": "1"})  # colour is a separate decision
    assert not wants_render(FakeTTY(), {"TERM": "dumb"})
    assert not wants_render(FakeTTY(tty=False), {"TERM": "xterm"})
    assert not wants_render(io.BytesIO(), {})
    assert not wants_render(Broken(), {})
    assert not wants_render(object(), {})
    closed = io.BytesIO()
    closed.close()
    with pytest.raises(ValueError):
        closed.isatty()
    assert not wants_render(closed, {})
    assert not wants_color(closed, {})


def test_wants_color():
    assert wants_color(FakeTTY(), {"TERM": "xterm"})
    assert wants_color(FakeTTY(), {"NO_COLOR": ""})  # set but empty: colour (no-color.org)
    assert not wants_color(FakeTTY(), {"NO_COLOR": "1"})
    assert not wants_color(FakeTTY(), {"NO_COLOR": "0"})  # any non-empty value
    assert not wants_color(FakeTTY(), {"TERM": "dumb"})
    assert not wants_color(FakeTTY(tty=False), {})
    assert not wants_color(Broken(), {})


def test_width_from_columns_then_terminal_then_fallback():
    assert width(FakeTTY(), {"COLUMNS": "120"}) == 120
    assert width(io.BytesIO(), {}) == 80  # no fileno
    assert width(io.BytesIO(), {"COLUMNS": "0"}) == 80
    assert width(io.BytesIO(), {"COLUMNS": "wide"}) == 80
    assert width(io.BytesIO(), {}, fallback=72) == 72


def test_width_of_a_real_terminal():
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    try:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 61, 0, 0))
        with os.fdopen(slave, "wb", closefd=False) as stream:
            assert width(stream, {}) == 61
            assert width(stream, {"COLUMNS": "99"}) == 99
    finally:
        os.close(master)
        os.close(slave)


def test_width_with_a_file_that_is_not_a_terminal(tmp_path):
    with open(tmp_path / "f", "wb") as stream:
        assert width(stream, {}) == 80


# OSC 8


def test_osc8_exact():
    assert osc8("https://example.com/a?b=c;d", "[1]") == "\x1b]8;;https://example.com/a?b=c;d\x1b\\[1]\x1b]8;;\x1b\\"


def test_osc8_url_cannot_smuggle_escapes():
    link = osc8("http://x/\x1b]8;;http://evil\x07\x1b\\\x9c y", "t")
    assert link == "\x1b]8;;http://x/%1B]8;;http://evil%07%1B\\%C2%9C%20y\x1b\\t\x1b]8;;\x1b\\"
    # exactly the four ESCs of the two sequences, no BEL
    assert link.count("\x1b") == 4 and "\x07" not in link


def test_osc8_non_ascii_url_is_percent_encoded():
    assert osc8("https://de.wikipedia.org/wiki/Grüße", "x") == (
        "\x1b]8;;https://de.wikipedia.org/wiki/Gr%C3%BC%C3%9Fe\x1b\\x\x1b]8;;\x1b\\"
    )


def test_osc8_empty_url_is_text_alone():
    assert osc8("", "[1]") == "[1]"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_property_osc8_url_never_breaks_out(url):
    link = osc8(url, "t")
    if not url:
        assert link == "t"
        return
    match = re.fullmatch("\x1b\\]8;;([!-~]+)\x1b\\\\t\x1b\\]8;;\x1b\\\\", link)
    assert match, repr(link)


@pytest.mark.parametrize("module", ["pplx_cli.output.terminal"])
def test_terminal_is_stdlib_only(module):
    import subprocess
    import sys

    code = f"import sys, {module}; print(sorted(m for m in sys.modules if m.split('.')[0] in ('rich', 'markdown_it', 'pygments', 'click', 'requests')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
