"""Many questions at once: the input read and checked, one rate limiter shared by every
worker, and the lines run in a pool of threads, each as one ``ask`` exchange.

Threads, not processes or an event loop: a line spends its time waiting on the network,
the GIL is released there, and threads share one ``requests`` session (one connection
pool) and one :class:`RateLimiter` at no cost. Nothing here knows click or ``sys.stdout``.
"""

import json
import threading
import time
from typing import NamedTuple



class Line(NamedTuple):
    """One input line: its number (1-based), id, prompt and its own options (long names)."""

    number: int
    id: object  # as given (a string or a number); the line number for a plain line
    prompt: str
    options: dict


class Invalid(NamedTuple):
    number: int
    id: object
    prompt: str
    message: str


def read_lines(text: str) -> list:
    """The input's lines as :class:`Line` or :class:`Invalid`; blank lines are skipped.

    A line is a plain prompt, or a JSON object with ``prompt``, an optional ``id`` and any
    request option by its long name. Ids must be unique (a re-run skips them by id)."""
    out, seen = [], {}
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            out.append(_json_line(number, line))
        else:
            out.append(Line(number, number, line.strip(), {}))
        item = out[-1]
        if str(item.id) in seen:
            out[-1] = Invalid(number, item.id, item.prompt, f"id {item.id!r} is also line {seen[str(item.id)]}'s")
        else:
            seen[str(item.id)] = number
    return out


def _json_line(number: int, line: str):
    try:
        obj = json.loads(line)
    except ValueError as e:
        return Invalid(number, number, "", f"not JSON ({e.msg})")
    if not isinstance(obj, dict):
        return Invalid(number, number, "", "a JSON line must be an object with a prompt")
    rid = obj.pop("id", number)
    if not isinstance(rid, (str, int)) or isinstance(rid, bool) or str(rid) == "":
        return Invalid(number, number, "", "id must be a string or a number")
    prompt = obj.pop("prompt", None)
    if not isinstance(prompt, str) or not prompt.strip():
        return Invalid(number, rid, "", "no prompt (a JSON line needs a non-empty \"prompt\")")
    return Line(number, rid, prompt, obj)


def done_ids(text: str) -> set:
    """The ids an earlier run recorded with status 0 (an output file's JSON Lines; lines that
    do not parse, such as one cut by a killed run, are not done)."""
    out = set()
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("status") == 0 and isinstance(record.get("id"), (str, int)):
            out.add(str(record["id"]))
    return out


class RateLimiter:
    """One limit for every worker. ``acquire`` before each request: it waits out a pause and
    keeps requests ``interval`` apart. ``observe`` each response: a 429, or
    ``x-ratelimit-remaining: 0``, pauses everyone until the reset time; from then on requests
    are paced just under the account's limit, so the workers resume without a burst."""

    def __init__(self, rate: float = None, clock=time.monotonic, sleep=time.sleep):
        self.interval = 1.0 / rate if rate else 0.0
        self.clock = clock
        self.sleep = sleep
        self.next_at = 0.0
        self.paused_until = 0.0
        self.pauses = 0
        self.lock = threading.Lock()

    def acquire(self):
        with self.lock:
            now = self.clock()
            start = max(now, self.next_at, self.paused_until)
            self.next_at = start + self.interval
        if start > now:
            self.sleep(start - now)

    def observe(self, status: int, headers):
        from pplx_cli.client import retry_wait

        remaining = _header_number(headers, "x-ratelimit-remaining")
        if status != 429 and remaining != 0:
            return
        wait = retry_wait(headers, 429)
        limit = _header_number(headers, "x-ratelimit-limit")
        with self.lock:
            self.paused_until = max(self.paused_until, self.clock() + (1.0 if wait is None else wait))
            if limit and limit > 0:
                self.interval = max(self.interval, 1.05 / limit)  # the limit is per second
            if status == 429:
                self.pauses += 1

    def pause_left(self) -> float:
        return max(0.0, self.paused_until - self.clock())


def _header_number(headers, name):
    try:
        return float(headers.get(name))
    except (TypeError, ValueError):
        return None


class Abandoned(KeyboardInterrupt):
    """A second Ctrl-C: the requests still in flight are abandoned."""


class Progress(NamedTuple):
    total: int
    done: int
    failed: int
    in_flight: int
    cost: float
    elapsed: float

    def line(self) -> str:
        rate = self.done / self.elapsed if self.elapsed > 0 else 0.0
        left = f" · ~{(self.total - self.done) / rate:.0f}s left" if rate > 0 and self.done < self.total else ""
        return (f"{self.done}/{self.total} done · {self.failed} failed · {self.in_flight} in flight · "
                f"{rate:.1f}/s · ${self.cost:.4f}{left}")


def run(lines: list, work, *, jobs: int, on_record, on_progress=None, on_stop=None, ordered=True):
    """Run ``work(line) -> record`` for each line in a pool of ``jobs`` threads; call
    ``on_record(record)`` (from this thread) for each, in input order unless ``ordered`` is
    false, as soon as it and every earlier one are done.

    Ctrl-C stops sending (``on_stop(in_flight)`` is told), lets the requests in flight finish
    and hands on their records, then raises KeyboardInterrupt; a second Ctrl-C raises at once
    :class:`Abandoned` at once (the caller abandons the rest). Returns the records handed on."""
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    started = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="pplx-batch")
    queue = iter(enumerate(lines))
    futures, finished, handed = {}, {}, []
    next_index, stopping, failed, cost = 0, False, 0, 0.0

    def submit():
        while not stopping and len(futures) < jobs:
            try:
                index, line = next(queue)
            except StopIteration:
                return
            futures[pool.submit(work, line)] = index

    try:
        submit()
        while futures:
            try:
                done, _ = wait(list(futures), timeout=0.25, return_when=FIRST_COMPLETED)
                for future in done:
                    index = futures.pop(future)
                    record = future.result()
                    failed += record["status"] != 0
                    cost += _cost(record)
                    if ordered:
                        finished[index] = record
                        while next_index in finished:
                            handed.append(finished.pop(next_index))
                            on_record(handed[-1])
                            next_index += 1
                    else:
                        handed.append(record)
                        on_record(record)
                submit()
                if on_progress:
                    on_progress(Progress(len(lines), len(handed), failed, len(futures), cost, time.monotonic() - started))
            except KeyboardInterrupt:
                if stopping:
                    raise Abandoned from None
                stopping = True
                if on_stop:
                    on_stop(len(futures))
        for index in sorted(finished):  # interrupted: what finished after a gap is handed on too
            handed.append(finished[index])
            on_record(finished[index])
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    if stopping:
        raise KeyboardInterrupt
    return handed


def _cost(record) -> float:
    usage = (record.get("meta") or {}).get("usage")
    cost = usage.get("cost") if isinstance(usage, dict) else None
    total = cost.get("total_cost") if isinstance(cost, dict) else None
    return total if isinstance(total, (int, float)) and not isinstance(total, bool) and total == total else 0.0

