"""Numbers from the network, read and shown one way.

A response may put anything where a number belongs: a string, a bool, null, NaN, an
integer too large for a float (``10**400``, which ``float()`` and ``f"{x:g}"`` refuse with
OverflowError), a negative count; a header may hold a date, text or a huge figure. Every
number pplx reads from a response or a header goes through :func:`number`, :func:`whole`
or :func:`header`, which answer None for anything that is not a usable quantity, and every
number it shows goes through :func:`dollars`, :func:`thousands` or :func:`plain`, which show
``-`` for None. Nothing here raises.
"""

import math
import re

#: The largest whole number kept (SQLite's INTEGER, and more than any real count).
MAX_WHOLE = 2**63 - 1
_DECIMAL = re.compile(r"\s*(\d{1,30})(\.\d{1,30})?\s*")


def number(value):
    """A finite float for an int or float (never a bool) that a float can hold; else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        result = float(value)
    except OverflowError:  # an int past a float's range
        return None
    return result if math.isfinite(result) else None


def nonnegative(value):
    """A cost or a price: a finite number from 0 up, else None (a negative cost is none)."""
    result = number(value)
    return result if result is not None and result >= 0 else None


def whole(value):
    """A whole number from 0 to MAX_WHOLE (an int, or a float with no fraction); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            return None
        value = int(value)
    return value if isinstance(value, int) and 0 <= value <= MAX_WHOLE else None


def header(value):
    """A header's value as a non-negative finite number (``"12"``, ``"0.5"``); a date, text, a
    sign, an exponent or more than 30 digits is None."""
    m = _DECIMAL.fullmatch(value) if isinstance(value, str) else None
    if not m:
        return None
    return number(float(m.group(1) + (m.group(2) or "")))


def header_whole(value):
    """A header's value as a whole number (``x-ratelimit-remaining``), else None."""
    result = header(value)
    return int(result) if result is not None and result == int(result) and result <= MAX_WHOLE else None


def dollars(value) -> str:
    """A cost for a person: ``$0.0012``; one too small for four decimals is ``<$0.0001``;
    not a number, or a negative one: ``-``."""
    if type(value) is float and 0.00005 <= value < 1e9:  # the usual cost, at once (a table of years of days)
        return f"${value:.4f}"
    cost = nonnegative(value)
    if cost is None:
        return "-"
    if abs(cost) >= 1e9:  # no real cost: a figure of hundreds of digits would swamp the line
        return f"${cost:.3g}"
    return "<$0.0001" if 0 < cost < 0.00005 else f"${cost:.4f}"


def thousands(value) -> str:
    """A count for a person, ``12,345``; not a whole number: ``-``."""
    if type(value) is int and 0 <= value <= MAX_WHOLE:  # the usual count, at once
        return f"{value:,}"
    count = whole(value)
    return "-" if count is None else f"{count:,}"


def plain(value) -> str:
    """A number in its shortest form (``2.5``, ``0.0625``); not a number: ``-``."""
    result = number(value)
    return "-" if result is None else f"{result:g}"
