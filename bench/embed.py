"""``pplx embed`` of 100,000 short lines beside the official SDK doing the same batching
(``bench/peers/sdk_embed.py``: 196 requests of at most 512 texts, the same JSON Lines): CPU
time (user + system of the whole process, from ``wait4``) and wall time, the two commands
taking turns, medians.

Goal (issue 20, "fast where people wait"): pplx's CPU time <= 0.65x the SDK's.
"""

import hashlib
import os
import statistics
import subprocess
import tempfile

from bench.measure import alternating

LINES = 100_000
GOAL = 0.65


def _digest(cmd, env, stdin_path) -> tuple:
    """(lines, sha256) of what ``cmd`` prints for the input: the check before timing."""
    with open(stdin_path, "rb") as stdin:
        out = subprocess.run(cmd, stdin=stdin, capture_output=True, env=env, timeout=900).stdout
    return out.count(b"\n"), hashlib.sha256(out).hexdigest()


def embed_cpu_rows(cmds: dict, env, runs: int) -> list:
    """The 100,000-line row for ``cmds`` (``{"pplx": [...], "SDK": [...]}``, each reading
    lines on stdin and writing JSON Lines): ``[(cells, goal, met)]``. Both outputs must be
    the same bytes before anything is timed."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("".join(f"short line number {i}\n" for i in range(LINES)))
        lines = f.name
    try:
        printed = {name: _digest(cmd, env, lines) for name, cmd in cmds.items()}
        if printed["pplx"][0] != LINES:
            raise SystemExit(f"pplx embed printed {printed['pplx'][0]} lines for {LINES:,}")
        for name, got in printed.items():
            if got != printed["pplx"]:
                raise SystemExit(f"{name} printed other bytes than pplx for {LINES:,} lines")
        measured = alternating(cmds, env, runs, lines)
    finally:
        os.unlink(lines)
    cpu = {name: statistics.median(r.cpu for r in rs) for name, rs in measured.items()}
    wall = {name: statistics.median(r.wall for r in rs) for name, rs in measured.items()}
    requests = -(-LINES // 512)
    cells = [f"pplx embed, {LINES:,} short lines, {requests} requests: CPU s (wall s)",
             f"{cpu['pplx']:.2f} ({wall['pplx']:.2f})"]
    cells += [f"{cpu[n]:.2f} ({wall[n]:.2f}) ({cpu['pplx'] / cpu[n]:.2f}x CPU)" for n in cmds if n != "pplx"]
    met = "SDK" not in cpu or cpu["pplx"] <= GOAL * cpu["SDK"]
    return [(cells, f"CPU <= {GOAL}x SDK", met)]
