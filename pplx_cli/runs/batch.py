"""Many questions at once: the input read and checked, one rate limiter shared by every
worker, and the lines run in a pool of threads, each as one ``ask`` exchange.

Threads, not processes or an event loop: a line spends its time waiting on the network,
the GIL is released there, and threads share one ``requests`` session (one connection
pool) and one :class:`RateLimiter` at no cost. Nothing here knows click or ``sys.stdout``.
"""

import json
import math
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
    except RecursionError:
        return Invalid(number, number, "", "nested too deeply to read")
    if not isinstance(obj, dict):
        return Invalid(number, number, "", "a JSON line must be an object with a prompt")
    rid = obj.pop("id", None)
    rid = number if rid is None else rid
    if not isinstance(rid, (str, int)) or isinstance(rid, bool) or str(rid) == "":
        return Invalid(number, number, "", "id must be a string or a number")
    prompt = obj.pop("prompt", None)
    if not isinstance(prompt, str):
        return Invalid(number, rid, "", "no prompt (a JSON line needs \"prompt\", a non-empty string)")
    if not prompt.strip():
        return Invalid(number, rid, "", "an empty prompt")
    return Line(number, rid, prompt, obj)


class RateLimiter:
    """One limit for every worker. ``acquire`` before each request: it waits out a pause and
    keeps requests ``interval`` apart. ``observe`` each response: a 429, or
    ``x-ratelimit-remaining: 0``, pauses everyone until the reset time; from then on requests
    are paced just under the account's limit, so the workers resume without a burst. A pause
    longer than :data:`LONG_PAUSE` is told to ``say`` once, however many workers it stops."""

    def __init__(self, rate: float = None, clock=time.monotonic, say=None):
        self.interval = 1.0 / rate if rate else 0.0
        self.clock = clock
        self.say = say
        self.next_at = 0.0
        self.paused_until = 0.0
        self.pause_said = False
        self.lock = threading.Lock()
        self.stopped = threading.Event()

    def acquire(self):
        """Wait for this request's turn; :class:`NotSent` once the batch is stopping."""
        with self.lock:
            now = self.clock()
            start = max(now, self.next_at, self.paused_until)
            self.next_at = start + self.interval
        if self.stopped.is_set() or (start > now and self.stopped.wait(start - now)):
            from pplx_cli.errors import NotSent

            raise NotSent()

    def stop(self):
        """Requests not yet sent are not sent (a waiting worker gives up at once)."""
        self.stopped.set()

    def sleep(self, seconds: float):
        """Wait ``seconds`` (a retry's back-off), or less once the batch is stopping: the
        ``acquire`` that follows then gives up."""
        self.stopped.wait(seconds)

    def observe(self, status: int, headers):
        """Pause or pace after a response. Its headers are read as :mod:`pplx_cli.numbers`
        reads any: a remaining or limit that is not a whole number is as good as absent."""
        from pplx_cli.numbers import header_whole
        from pplx_cli.wire.retrying import retry_wait

        remaining = header_whole(headers.get("x-ratelimit-remaining"))
        if status != 429 and remaining != 0:
            return
        wait = retry_wait(headers, 429)  # at most MAX_RETRY_AFTER
        wait = 1.0 if wait is None else wait
        limit = header_whole(headers.get("x-ratelimit-limit"))
        with self.lock:
            now = self.clock()
            if now >= self.paused_until:  # a new pause, not one more worker told of this one
                self.pause_said = False
            self.paused_until = max(self.paused_until, now + wait)
            if limit:
                self.interval = max(self.interval, 1.05 / limit)  # the limit is per second
            left = self.paused_until - now
            tell = left > LONG_PAUSE and not self.pause_said
            self.pause_said = self.pause_said or tell
        if tell and self.say:
            self.say(f"rate limited: every request waits {math.ceil(left)}s")


#: Seconds of a pause worth a note: a shorter one passes unremarked.
LONG_PAUSE = 3.0


class Signals:
    """The signals that stop a batch (SIGINT, SIGTERM, SIGHUP), as the exceptions they stand
    for (KeyboardInterrupt, :class:`~pplx_cli.errors.Terminated`, its Hangup): a handler
    ``note``s each, and :func:`run` acts on them between records, never in the middle of one
    (an exception raised wherever a signal lands could drop a record that had finished)."""

    def __init__(self):
        self.received = []

    def note(self, exc: BaseException):
        self.received.append(exc)


class Abandoned(BaseException):
    """A second signal: the requests still in flight are abandoned. ``signal`` is the
    exception that signal stands for (it gives the exit status)."""

    def __init__(self, signal: BaseException):
        super().__init__(signal)
        self.signal = signal


class Progress(NamedTuple):
    total: int
    done: int
    failed: int
    in_flight: int
    cost: float
    elapsed: float

    def line(self) -> str:
        from pplx_cli.numbers import dollars

        rate = self.done / self.elapsed if self.elapsed > 0 else 0.0
        left = f" · ~{(self.total - self.done) / rate:.0f}s left" if rate > 0 and self.done < self.total else ""
        return (f"{self.done}/{self.total} done · {self.failed} failed · {self.in_flight} in flight · "
                f"{rate:.1f}/s · {dollars(self.cost)}{left}")


def run(lines: list, work, *, jobs: int, on_record, on_done=None, on_progress=None, on_stop=None, stop_after=None,
        ordered=True, signals: Signals = None):
    """Run ``work(line) -> record`` (None: not sent) for each line in a pool of ``jobs``
    threads. ``on_done(record)`` is told of each record as it completes; ``on_record(record)``
    in input order unless ``ordered`` is false, as soon as it and every earlier one are done
    (both from this thread).

    A signal (noted in ``signals``, or a KeyboardInterrupt or Terminated raised here) stops
    sending (``on_stop(in_flight)`` is told: it should make the workers that have not sent
    yet give up), lets the requests in flight finish and hands on their records, then raises
    that signal's exception; a second one hands on what is finished and raises
    :class:`Abandoned` (the caller abandons the rest). A record for which
    ``stop_after(record)`` is true stops sending the same way, with nothing raised.
    Returns the records handed on."""
    return _Pool(lines, work, jobs, on_record, on_done, on_progress, on_stop, stop_after, ordered,
                 signals if signals is not None else Signals()).run()


class _Pool:
    """The state of one :func:`run`: what is in flight, what finished, what was handed on."""

    def __init__(self, lines, work, jobs, on_record, on_done, on_progress, on_stop, stop_after, ordered, signals):
        self.lines, self.work, self.jobs, self.ordered, self.signals = lines, work, jobs, ordered, signals
        self.on_record, self.on_done, self.on_progress = on_record, on_done, on_progress
        self.on_stop, self.stop_after = on_stop, stop_after
        self.queue = iter(enumerate(lines))
        self.futures, self.finished, self.handed, self.skipped = {}, {}, [], set()
        self.next = 0
        self.stopping = False
        self.seen_signals = self.failed = self.done = 0
        self.cost = 0.0
        self.pool = None

    def run(self) -> list:
        from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

        from pplx_cli.errors import Terminated

        started = time.monotonic()
        self.pool = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="pplx-batch")
        try:
            self.submit()
            while self.futures:
                try:
                    done, _ = wait(list(self.futures), timeout=0.25, return_when=FIRST_COMPLETED)
                    for future in done:
                        self.collect(future)
                    self.hand_on()
                    self.submit()
                    if self.on_progress and not self.stopping:
                        self.on_progress(Progress(len(self.lines), self.done, self.failed, len(self.futures), self.cost,
                                                  time.monotonic() - started))
                except (KeyboardInterrupt, Terminated) as e:  # no handler noted it: raised here
                    self.signals.note(e)
                self.heed_signals()
            self.hand_on(flush=True)  # stopped: what finished after a gap is handed on too
        finally:
            self.pool.shutdown(wait=False, cancel_futures=True)
        if self.signals.received:
            raise self.signals.received[0]
        return self.handed

    def submit(self):
        while not self.stopping and len(self.futures) < self.jobs:
            try:
                index, line = next(self.queue)
            except StopIteration:
                return
            self.futures[self.pool.submit(self.work, line)] = index

    def hand_on(self, flush=False):
        while self.next in self.finished or self.next in self.skipped or (flush and self.finished):
            if self.next in self.skipped:
                self.next += 1
                continue
            index = self.next if self.next in self.finished else min(self.finished)
            self.handed.append(self.finished.pop(index))
            self.on_record(self.handed[-1])
            self.next = index + 1

    def stop(self):
        if not self.stopping:
            self.stopping = True
            if self.on_stop:
                self.on_stop(len(self.futures))

    def collect(self, future):
        index = self.futures.pop(future)
        record = future.result()
        if record is None:  # not sent (stopped): no record, a re-run sends it
            self.skipped.add(index)
            return
        self.done += 1
        self.failed += record["status"] != 0
        self.cost += _cost(record)
        if self.on_done:
            self.on_done(record)
        if self.ordered:
            self.finished[index] = record
        else:
            self.handed.append(record)
            self.on_record(record)
        if self.stop_after and self.stop_after(record):
            self.stop()

    def heed_signals(self):
        """Act on the signals noted since the last look: the first stops, a second abandons."""
        if len(self.signals.received) == self.seen_signals:
            return
        self.seen_signals = len(self.signals.received)
        if self.seen_signals > 1:
            self.hand_on(flush=True)
            raise Abandoned(self.signals.received[-1])
        self.stop()


def _cost(record) -> float:
    """A record's cost in dollars; 0 for one the service gave as no usable number."""
    from pplx_cli.numbers import number

    usage = (record.get("meta") or {}).get("usage")
    cost = usage.get("cost") if isinstance(usage, dict) else None
    total = number(cost.get("total_cost")) if isinstance(cost, dict) else None
    return total if total is not None and total > 0 else 0.0


class InOrder:
    """Lines handed to ``write`` in the order of ``keys`` while they arrive in any: a line
    whose turn it is is written at once, with those that were waiting on it; the others wait
    in a temporary file on disk, never in memory (remote results may be far larger than
    memory should hold). A context manager: the temporary file goes at the end."""

    def __init__(self, keys: list, write):
        self.keys = keys
        self.turn = {key: i for i, key in enumerate(keys)}
        self.write = write
        self.next = 0
        self.waiting = {}  # turn -> (offset, size) in the spool
        self.spool = None

    def has(self, key) -> bool:
        """Whether ``key``'s line has been added."""
        turn = self.turn[key]
        return turn < self.next or turn in self.waiting

    def add(self, key, line: str):
        """``key``'s line: written now if its turn has come, else kept until it does."""
        turn = self.turn[key]
        if turn != self.next:
            import tempfile

            if self.spool is None:
                self.spool = tempfile.TemporaryFile()
            data = line.encode("utf-8", "surrogatepass")
            self.spool.seek(0, 2)
            self.waiting[turn] = (self.spool.tell(), len(data))
            self.spool.write(data)
            return
        self.write(line)
        self.next += 1
        while self.next in self.waiting:
            offset, size = self.waiting.pop(self.next)
            self.spool.seek(offset)
            self.write(self.spool.read(size).decode("utf-8", "surrogatepass"))
            self.next += 1

    def missing(self) -> list:
        """The keys whose lines have not been added, in order."""
        return [key for turn, key in enumerate(self.keys) if turn >= self.next and turn not in self.waiting]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.spool is not None:
            self.spool.close()
