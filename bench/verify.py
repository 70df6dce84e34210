#!/usr/bin/env python3
"""pplx verify in parallel: python3 bench/verify.py [--runs N] [--latency SECONDS]

An answer of 30 claims over 20 sources (each claim cites one or two of them), checked with
``pplx verify --from FILE --no-log -j N`` against the local server (tests/server.py, in this
process) whose Context API answers after ``--latency`` seconds (default 0.25), the claims'
pages saying them. The figure is the number of Context API round trips the check took:
(wall time - the same check with no latency) / latency, medians of ``--runs`` runs, the
-j values taking turns. One request per claim, -j at a time, with nothing serialised, is
ceil(30 / j) round trips (issue 23: "about one Context API round trip per -j claims"); the
goal is at most half a round trip more.

Run it with the Python of the venv pplx is installed in (``pplx`` next to ``sys.executable``).
"""

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.server: the local server
sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import run_once  # noqa: E402

CLAIMS, SOURCES = 30, 20
JOBS = (1, 5, 10, 30)
SLACK = 0.5  # round trips: process start, the history, the report


def answer() -> tuple:
    """``(the exchange as pplx log --json prints it, the pages the server serves)``."""
    results = [{"id": n, "url": f"https://s{n}.example/page", "title": f"Source {n}", "snippet": "s"}
               for n in range(1, SOURCES + 1)]
    sentences, pages = [], {r["url"]: [] for r in results}
    for i in range(CLAIMS):
        cited = [i % SOURCES + 1] + ([(i + 7) % SOURCES + 1] if i % 3 == 0 else [])
        claim = f"Finding number {i + 1} measured {3 * i + 2}.{i % 10} percent growth in region {chr(65 + i % 26)}"
        sentences.append(claim + " " + "".join(f"[{n}]" for n in cited) + ".")
        for n in cited:
            pages[results[n - 1]["url"]].append(claim + ".")
    meta = {"api": "agent", "search_results": results}
    return ({"answer": " ".join(sentences), "meta": meta},
            {url: {"markdown": "\n\n".join(paragraphs)} for url, paragraphs in pages.items()})


def _no_delay(api):
    """The server's sockets without Nagle's algorithm: it writes a response's headers and its
    body in two sends, and on a kept-alive connection the body would wait for the client's
    delayed ACK (40 ms a request on Linux), a cost of the test server, not of pplx or the
    service (a one-at-a-time check paid it 30 times)."""
    import socket

    accept = api.httpd.get_request

    def get_request():
        sock, address = accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, address

    api.httpd.get_request = get_request


def pplx_executable() -> str:
    beside = Path(sys.executable).parent / "pplx"
    return str(beside) if beside.exists() else shutil.which("pplx")


def main(argv=None):
    from tests.server import FakeAPI

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.25)
    args = parser.parse_args(argv)
    exchange, pages = answer()
    with tempfile.TemporaryDirectory() as home, FakeAPI() as api:
        _no_delay(api)
        api.ratelimit["limit"] = 10**9  # no x-ratelimit-remaining: 0 pause however many runs
        api.context_pages = pages
        path = os.path.join(home, "answer.json")
        with open(path, "w") as f:
            json.dump(exchange, f)
        env = dict(os.environ, HOME=home, PPLX_BASE_URL=api.url, PPLX_API_KEY="pplx-bench-0123456789abcdef")
        env = {k: v for k, v in env.items() if not k.startswith("XDG_")}
        cmd = [pplx_executable(), "verify", "--from", path, "--no-log"]
        import subprocess

        check = subprocess.run(cmd + ["-j", "30"], capture_output=True, env=env)
        if not check.stdout.decode().endswith(f"{CLAIMS} claims · {CLAIMS} found\n"):
            raise SystemExit(f"pplx verify did not find every claim: {check.stdout.decode()[-300:]}")
        walls = {("base", 30): []} | {("latency", j): [] for j in JOBS}
        for _ in range(args.runs):
            for kind, jobs in walls:
                api.context_latency = 0 if kind == "base" else args.latency
                walls[kind, jobs].append(run_once(cmd + ["-j", str(jobs)], env).wall)
    base = statistics.median(walls["base", 30])
    print(f"pplx verify, {CLAIMS} claims over {SOURCES} sources, Context API latency {args.latency:g} s, "
          f"{args.runs} runs; with no latency: {base:.3f} s\n")
    print("| -j | wall s (median) | round trips | ceil(30 / j) | goal | met |")
    print("|---|---|---|---|---|---|")
    for jobs in JOBS:
        wall = statistics.median(walls["latency", jobs])
        trips = (wall - base) / args.latency
        ideal = math.ceil(CLAIMS / jobs)
        print(f"| {jobs} | {wall:.3f} | {trips:.2f} | {ideal} | <= {ideal + SLACK:g} | {'yes' if trips <= ideal + SLACK else 'NO'} |")


if __name__ == "__main__":
    main()
