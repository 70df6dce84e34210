#!/usr/bin/env python3
"""The history at size: python3 bench/history.py [--runs N] [--exchanges N]

Builds (once, cached under bench/.cache) a history of 100,000 exchanges written by pplx's
own :class:`~pplx_cli.store.history.History` (prompts of 40-200 characters, answers of 1-2 KB
with the search word in every one, metadata as the service sends it, two years of days, a
few models, some batch lines), then times whole processes of the ``pplx`` beside this
Python: ``pplx log search WORD``, ``pplx log cost`` and the other log commands, the commands
taking turns, medians of CPU (user + system, read by ``wait4``) and wall time. Each
command's output is checked before it is timed. Goal (issue 20, "fast where people wait"):
at most 100 ms of CPU per command.

And what the history costs a batch: ``pplx batch -j 16`` of 1,000 prompts against the local
server (tests/server.py, in a process of its own, its rate limit out of reach), each run
into a new history, beside the same batch with ``--no-log``: CPU per line, and the
difference, which is what recording a line costs.

Run it with the Python of the venv pplx is installed in (``pplx`` next to ``sys.executable``).
"""

import argparse
import calendar
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/ for measure.py, not the working tree: pplx_cli is imported from where the pplx that
# is timed was installed from (a venv of another commit, to measure before and after)
sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import alternating  # noqa: E402

CACHE = ROOT / "bench" / ".cache"
WORD = "zeppelin"
MODELS = (("sonar", 50), ("sonar-pro", 25), ("sonar-reasoning-pro", 10), ("openai/gpt-5.1", 10), ("anthropic/claude-sonnet-4-5", 5))
DAYS = 730
GOAL_MS = 100.0
#: Bumped when what build() writes changes: a cached history of another version is not used.
VERSION = 2


def _vocabulary(rng) -> tuple:
    """Pseudo-words with a Zipf-like frequency: a few common, many rare (as FTS sees text)."""
    letters = "etaoinshrdlcumwfgypbvkjxqz"
    words = ["".join(rng.choices(letters, weights=range(26, 0, -1), k=rng.randint(2, 11))) for _ in range(20_000)]
    return words, [1 / (rank + 1) for rank in range(len(words))]


def _sentences(rng, words, weights, n) -> list:
    out = []
    for _ in range(n):
        chosen = rng.choices(words, weights=weights, k=rng.randint(8, 24))
        out.append(" ".join(chosen).capitalize() + rng.choice((".", ".", ".", " [1].", " [2].")))
    return out


def _meta(rng, model, prompt_tokens, completion_tokens, cost) -> dict:
    results = [{"title": f"Source {i}", "url": f"https://example.org/{rng.randrange(10**6)}/{i}", "date": "2025-01-02"}
               for i in range(1, rng.randint(3, 7))]
    return {"id": f"resp_{rng.getrandbits(64):016x}", "model": model, "created": 1763900000,
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens, "search_context_size": "low",
                      "cost": {"request_cost": 0.005, "total_cost": cost}},
            "citations": [r["url"] for r in results], "search_results": results}


def build(path: Path, exchanges: int):
    """Write ``exchanges`` exchanges to a new history at ``path`` with pplx's History, in one
    transaction (a build of minutes, not hours); the full-text index is kept by its triggers."""
    from pplx_cli.store.history import History

    rng = random.Random(20)
    words, weights = _vocabulary(rng)
    sentences = _sentences(rng, words, weights, 4000)
    start = calendar.timegm((2024, 11, 1, 0, 0, 0))
    step = DAYS * 86400 / exchanges
    models, model_weights = zip(*MODELS)
    with History(str(path)) as history:
        history.db.execute("BEGIN")
        for n in range(exchanges):
            answer, size = [], rng.randint(1000, 2000)
            while sum(map(len, answer)) < size:
                answer.append(rng.choice(sentences))
            answer.insert(rng.randrange(len(answer)), f"The {WORD} is one.")
            prompt = " ".join(rng.choices(words, weights=weights, k=rng.randint(6, 30)))[:200].capitalize() + "?"
            model = rng.choices(models, weights=model_weights)[0]
            prompt_tokens, completion_tokens = rng.randint(8, 60), rng.randint(200, 600)
            cost = round(0.005 + prompt_tokens * 1e-6 + completion_tokens * 1.5e-5, 6)
            when = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start + n * step)) + f".{rng.randrange(10**6):06d}Z"
            batch = f"b-{n // 200:08x}" if n % 1000 < 200 else None  # a fifth of the lines from batches of 200
            history.record(time=when, cid=f"{rng.getrandbits(64):016x}", api="agent", model=model, prompt=prompt,
                           options={"model": model, "store": True, "api": "auto"}, answer=" ".join(answer),
                           meta=_meta(rng, model, prompt_tokens, completion_tokens, cost),
                           duration=round(rng.uniform(1, 9), 3), exit_status=0 if n % 97 else 1,
                           error=None if n % 97 else "HTTP 500: bad gateway", batch=batch)
        history.db.execute("COMMIT")
        history.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def cached_history(exchanges: int) -> Path:
    """The cached history of ``exchanges`` exchanges at this pplx's schema, built if missing.

    Named by schema version: a pplx that migrates it in place does not spoil another's."""
    from pplx_cli.store.schema import SCHEMA_VERSION

    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"history-{exchanges}-schema{SCHEMA_VERSION}-v{VERSION}.db"
    if not path.exists():
        print(f"building {path.relative_to(ROOT)} (once) ...", file=sys.stderr)
        started = time.monotonic()
        partial = path.with_suffix(".partial")
        for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
            leftover.unlink(missing_ok=True)
        build(partial, exchanges)
        os.replace(partial, path)  # only a whole build is cached
        print(f"built in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return path


#: The goal of a figure that is only reported.
REPORT = None


def commands(pplx: str) -> list:
    """``(label, argv, goal in ms of CPU or REPORT)`` of each command timed."""
    model = MODELS[-1][0]  # a model of few exchanges: one in 20
    since = "2026-10-01"  # the last month of the two years
    return [
        (f"pplx log search {WORD}", [pplx, "log", "search", WORD], GOAL_MS),
        ("pplx log cost", [pplx, "log", "cost"], GOAL_MS),
        ("pplx log cost, an exchange added since the last", [pplx, "log", "cost"], GOAL_MS),
        ("pplx log (list)", [pplx, "log"], GOAL_MS),
        ("pplx log show", [pplx, "log", "show", "--no-meta"], GOAL_MS),
        (f"pplx log search {WORD} --model {model}", [pplx, "log", "search", WORD, "--model", model], GOAL_MS),
        (f"pplx log search {WORD} --since {since}", [pplx, "log", "search", WORD, "--since", since], GOAL_MS),
        (f"pplx log cost --since {since}", [pplx, "log", "cost", "--since", since], GOAL_MS),
        (f"pplx log cost --model {model}", [pplx, "log", "cost", "--model", model], GOAL_MS),
        (f"pplx log --model {model}", [pplx, "log", "--model", model], GOAL_MS),
        # no word matches: log search looks for a substring in every prompt and answer
        ("pplx log search qqqq (no match: the substring search)", [pplx, "log", "search", "qqqq"], REPORT),
        ("pplx --version (start-up, for scale)", [pplx, "--version"], REPORT),
    ]


def check(label, cmd, env):
    """Run ``cmd`` once (a warm-up too: the file in the page cache, changed days summed) and
    stop the benchmark if it did not give what it should."""
    out = subprocess.run(cmd, env=env, capture_output=True, timeout=600)
    expected = 1 if "no match" in label else 0
    if out.returncode != expected or out.stderr:
        sys.exit(f"{label}: exit {out.returncode}: {out.stderr[-500:]!r}")
    if "search" in label and not expected:
        ids = [int(line.split()[0]) for line in out.stdout.decode().splitlines()]
        if len(ids) != 20 or ids != sorted(ids, reverse=True):
            sys.exit(f"{label}: expected the 20 newest matches, newest first, got ids {ids}")


class Added:
    """Before each run of the figure that wants one, an exchange added to the history's last
    day (as an ask would add it): that run's ``log cost`` sums the day again. ``undo`` removes
    them, and the cached history is as it was (its next reader sums that day again)."""

    def __init__(self, path, label):
        from pplx_cli.store.history import History

        self.history, self.label, self.ids = History(str(path)), label, []
        self.last = self.history.get()

    def __call__(self, name):
        if name == self.label:
            self.ids.append(self.history.record(time=self.last["time"], cid="bench", model=self.last["model"],
                                                prompt="added", answer=f"A new {WORD}.", meta={}, exit_status=0))

    def undo(self):
        with self.history:  # not History.remove: no VACUUM of 500 MB
            self.history.db.executemany("DELETE FROM exchanges WHERE id = ?", [(i,) for i in self.ids])


def figures(pplx: str, env: dict, path: Path, runs: int) -> list:
    """``(label, CPU ms, wall ms, goal)`` of each command, medians of ``runs`` taking turns."""
    cmds = commands(pplx)
    for label, cmd, _ in cmds:
        check(label, cmd, env)
    added = Added(path, cmds[2][0])
    try:
        measured = alternating({label: cmd for label, cmd, _ in cmds}, env, runs, before=added)
    finally:
        added.undo()
    return [(label, statistics.median(r.cpu for r in measured[label]) * 1000,
             statistics.median(r.wall for r in measured[label]) * 1000, goal) for label, _, goal in cmds]


#: The local server, in a process of its own (run from the working tree, for tests/): its
#: address on stdout, served until its stdin closes.
SERVER = """
import sys
from tests.server import FakeAPI
api = FakeAPI()
api.rate_limit = 100_000  # a window no batch here reaches: x-ratelimit-remaining never 0, no pause
with api:
    print(api.url, flush=True)
    sys.stdin.read()
"""
LINES = 1000


def batch_figures(pplx: str, env: dict, runs: int) -> list:
    """``(label, CPU ms per line, wall s, goal)`` of ``pplx batch -j 16`` of LINES prompts,
    recorded in a new history each run and with --no-log."""
    work = Path(tempfile.mkdtemp(prefix="pplx-bench-batch-"))
    prompts = work / "prompts.txt"
    prompts.write_text("".join(f"question {i} about a {WORD}\n" for i in range(LINES)))
    history = work / "history.db"
    server = subprocess.Popen([sys.executable, "-c", SERVER], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        env = dict(env, PPLX_BASE_URL=server.stdout.readline().strip(), PPLX_API_KEY="pplx-bench", PPLX_HISTORY=str(history))
        cmds = {"history": [pplx, "batch", "-j", "16", "-q", str(prompts)],
                "--no-log": [pplx, "batch", "-j", "16", "-q", "--no-log", str(prompts)]}

        def fresh(name):
            for leftover in (history, Path(f"{history}-wal"), Path(f"{history}-shm")):
                leftover.unlink(missing_ok=True)

        for name, cmd in cmds.items():
            fresh(name)
            out = subprocess.run(cmd, env=env, capture_output=True, timeout=600)
            done = [json.loads(line)["status"] for line in out.stdout.splitlines()]
            recorded = _rows(history) if name == "history" else 0
            if out.returncode or done != [0] * LINES or recorded != (LINES if name == "history" else 0):
                sys.exit(f"batch {name}: exit {out.returncode}, {len(done)} records, {recorded} recorded: {out.stderr[-500:]!r}")
        measured = alternating(cmds, env, runs, before=fresh)
    finally:
        server.stdin.close()
        server.wait(30)
    cpu = {name: statistics.median(r.cpu for r in measured[name]) * 1000 / LINES for name in cmds}
    wall = {name: statistics.median(r.wall for r in measured[name]) for name in cmds}
    return [(f"pplx batch -j 16, {LINES:,} prompts, recorded: CPU per line, ms (wall s)", cpu["history"], wall["history"]),
            (f"pplx batch -j 16, {LINES:,} prompts, --no-log: CPU per line, ms (wall s)", cpu["--no-log"], wall["--no-log"]),
            ("recording a line in the history: CPU, ms (the difference)", cpu["history"] - cpu["--no-log"], None)]


def _rows(path) -> int:
    import sqlite3

    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT COUNT(*) FROM exchanges").fetchone()[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per command (medians taken)")
    parser.add_argument("--exchanges", type=int, default=100_000, help="exchanges in the history")
    parser.add_argument("--only", choices=("log", "batch"), help="only the log commands, or only the batch")
    args = parser.parse_args()
    pplx = str(Path(sys.executable).parent / "pplx")
    if not os.path.exists(pplx):
        sys.exit(f"no pplx beside {sys.executable}: run this with the Python of the venv pplx is installed in")
    home = tempfile.mkdtemp(prefix="pplx-bench-home-")
    # bytecode written and used, as an installed pplx has it (a PYTHONDONTWRITEBYTECODE
    # left in the environment would compile every module of every run again)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PPLX_", "XDG_")) and k != "PYTHONDONTWRITEBYTECODE"}
    env["HOME"] = home
    version = subprocess.run([pplx, "--version"], capture_output=True, text=True).stdout.strip()
    import sqlite3

    print(f"machine: {os.uname().machine}, {os.cpu_count()} cores, Python {sys.version.split()[0]}, SQLite "
          f"{sqlite3.sqlite_version}; {version} ({pplx}); {args.runs} runs per command, taking turns, medians\n")
    met = True
    if args.only in (None, "log"):
        path = cached_history(args.exchanges)
        rows = figures(pplx, dict(env, PPLX_HISTORY=str(path)), path, args.runs)
        print(f"The log commands on a history of {args.exchanges:,} exchanges ({path.stat().st_size / 1e6:.0f} MB):\n")
        print("| figure | CPU, ms (user + sys) | wall, ms | goal | met |")
        print("|---|---|---|---|---|")
        for label, cpu, wall, goal in rows:
            ok = goal is REPORT or cpu <= goal
            met = met and ok
            print(f"| {label} | {cpu:.0f} | {wall:.0f} | {'report' if goal is REPORT else f'<= {goal:.0f} ms CPU'} | "
                  f"{'yes' if ok else 'NO'} |")
        print()
    if args.only in (None, "batch"):
        print("What the history costs a batch (the local server; a new history each run):\n")
        print("| figure | pplx | goal | met |")
        print("|---|---|---|---|")
        for label, cpu, wall in batch_figures(pplx, env, args.runs):
            print(f"| {label} | {cpu:.2f}{f' ({wall:.2f})' if wall is not None else ''} | report | yes |")
        print()
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
