"""Whether a stream is a terminal, and how wide: what every command asks before it writes,
kept apart from :mod:`pplx_cli.output.terminal` (neutralising, the progress line, cell
widths) so that an answer to a pipe does not import that."""

import os


def isatty(stream) -> bool:
    """Whether ``stream`` is a terminal: False for None, a closed file, a detached buffer or
    anything without ``isatty`` (a test runner's buffer)."""
    try:
        return stream is not None and bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def wants_render(stream, env) -> bool:
    """Whether to render Markdown on ``stream``: it is a terminal and TERM is not ``dumb``.
    Colour is a separate decision (``wants_color``): NO_COLOR keeps rendering, without colour."""
    return isatty(stream) and env.get("TERM") != "dumb"


def wants_color(stream, env) -> bool:
    """Whether to use colour on ``stream``: a terminal, NO_COLOR unset or empty
    (https://no-color.org), and TERM not ``dumb``."""
    return isatty(stream) and not env.get("NO_COLOR") and env.get("TERM") != "dumb"


def width(stream, env=None, fallback: int = 80) -> int:
    """The terminal's columns: COLUMNS when it is a positive number, else the size of the
    terminal ``stream`` is on, else ``fallback``."""
    env = os.environ if env is None else env
    try:
        columns = int(env.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns > 0:
        return columns
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):  # not a file, closed, not a terminal
        columns = 0
    return columns if columns > 0 else fallback
