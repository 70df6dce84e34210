"""Timing whole processes: wall time, CPU time (user + system, children included) and peak
memory of one run, read from the kernel's accounting of the finished process (``wait4``)."""

import os
import subprocess
import time
from typing import NamedTuple


class Run(NamedTuple):
    wall: float  # seconds
    cpu: float  # user + system seconds
    rss: float  # peak resident set size, MB (the largest single process)


def run_once(cmd, env, stdin_path=None, stdout=subprocess.DEVNULL) -> Run:
    """Run ``cmd`` to its end (stdin from ``stdin_path`` or /dev/null) and measure it."""
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    try:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=stdin, stdout=stdout, stderr=subprocess.DEVNULL, env=env)
        _, _, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = 0  # reaped here: keep Popen from waiting again
    finally:
        if stdin_path:
            stdin.close()
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def alternating(cmds: dict, env, runs: int, stdin_path=None, before=None) -> dict:
    """Each command ``runs`` times, taking turns (A B A B ...) so a noisy neighbour slows them
    alike: ``{name: [Run, ...]}``. ``before(name)`` is called before each run."""
    out = {name: [] for name in cmds}
    for _ in range(runs):
        for name, cmd in cmds.items():
            if before is not None:
                before(name)
            out[name].append(run_once(cmd, env, stdin_path))
    return out
