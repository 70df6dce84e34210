"""When to try again: ``Retry-After`` (seconds or a date), ``retry-after-ms``,
``x-ratelimit-reset`` on a 429, and exponential backoff with jitter otherwise."""

import re
import time

#: The longest wait pplx takes from a server's header, in seconds.
MAX_RETRY_AFTER = 60.0


def parse_retry_after(value, now=None):
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        seconds = float(value)
    else:
        import email.utils

        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def retry_wait(headers, status: int, now=None):
    """Seconds to wait before retrying, from the response's headers, or None (back off).

    ``Retry-After`` (seconds or a date) or ``retry-after-ms``; on a 429 without them, until
    ``x-ratelimit-reset`` (epoch seconds). Capped at MAX_RETRY_AFTER.
    """
    wait = parse_retry_after(headers.get("Retry-After"), now)
    if wait is not None:
        return wait
    ms = (headers.get("retry-after-ms") or "").strip()
    if re.fullmatch(r"\d+(\.\d+)?", ms):
        return min(float(ms) / 1000, MAX_RETRY_AFTER)
    reset = (headers.get("x-ratelimit-reset") or "").strip()
    if status == 429 and re.fullmatch(r"\d+(\.\d+)?", reset):
        seconds = float(reset) - (time.time() if now is None else now)
        if seconds > 0:
            return min(seconds, MAX_RETRY_AFTER)
    return None


def backoff(attempt: int) -> float:
    """Exponential backoff with jitter: about 1 s, 2 s, 4 s ... capped at 30 s."""
    import random

    return min(30.0, 2.0**attempt) * random.uniform(0.5, 1.0)
