"""When to try again: ``Retry-After`` (seconds or a date), ``retry-after-ms``,
``x-ratelimit-reset`` on a 429, and exponential backoff with jitter otherwise."""

import re
import time

#: The longest wait pplx takes from a server's header, in seconds.
MAX_RETRY_AFTER = 60.0


def parse_retry_after(value, now=None):
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), or None: a sign,
    text, an exponent or a date no calendar holds is no wait (read by :mod:`pplx_cli.numbers`)."""
    from pplx_cli.numbers import header

    if not value or not isinstance(value, str):
        return None
    seconds = header(value)
    if seconds is None:
        if not re.search(r"[A-Za-z]{3}", value):  # an HTTP date names its day and month
            return None
        import email.utils

        try:
            when = email.utils.parsedate_to_datetime(value.strip())
            seconds = when.timestamp() - (time.time() if now is None else now)
        except (TypeError, ValueError, OverflowError, AttributeError, IndexError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def retry_wait(headers, status: int, now=None):
    """Seconds to wait before retrying, from the response's headers, or None (back off).

    ``Retry-After`` (seconds or a date) or ``retry-after-ms``; on a 429 without them, until
    ``x-ratelimit-reset`` (epoch seconds). Capped at MAX_RETRY_AFTER.
    """
    wait = parse_retry_after(headers.get("Retry-After"), now)
    if wait is not None:
        return wait
    from pplx_cli.numbers import header

    ms = header(headers.get("retry-after-ms"))
    if ms is not None:
        return min(ms / 1000, MAX_RETRY_AFTER)
    reset = header(headers.get("x-ratelimit-reset"))
    if status == 429 and reset is not None:
        seconds = reset - (time.time() if now is None else now)
        if seconds > 0:
            return min(seconds, MAX_RETRY_AFTER)
    return None


def backoff(attempt: int) -> float:
    """Exponential backoff with jitter: about 1 s, 2 s, 4 s ... capped at 30 s."""
    import random

    return min(30.0, 2.0**attempt) * random.uniform(0.5, 1.0)
