"""Where people wait (issue 20): every figure of its table, pplx and its reference in the same
run, taking turns, CPU time (user + system of the whole process, from ``wait4``) beside wall
time, medians. Run by ``python3 bench/run.py --only speed [--runs N]``.

A row's goal is judged on CPU time where the figure is a whole process (CPU is steadier than
wall time on a shared machine); on wall time where only the clock can tell (when the reader
sees stdout end, when the request reaches the server).
"""

import os
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.measure import alternating, run_once

ROOT = Path(__file__).resolve().parent.parent
AGENT = "/v1/responses"


def _med(xs):
    import statistics

    return statistics.median(xs) if xs else float("nan")


def _cpu_wall(runs):
    """(median CPU ms, median wall ms) of a list of measure.Run."""
    return _med([r.cpu for r in runs]) * 1000, _med([r.wall for r in runs]) * 1000


def _ratio(a, b):
    return a / b if b else float("nan")


def process_row(label, ours, theirs, ref_name, goal, *, per=1, unit="ms"):
    """A row from two lists of measure.Run: CPU (wall) each, and the ratio of each; met on CPU."""
    (c1, w1), (c2, w2) = _cpu_wall(ours), _cpu_wall(theirs)
    c1, w1, c2, w2 = c1 / per, w1 / per, c2 / per, w2 / per
    cells = [label, f"{c1:.2f} ({w1:.1f})", f"{ref_name}: {c2:.2f} ({w2:.1f})",
             f"{_ratio(c1, c2):.2f}x ({_ratio(w1, w2):.2f}x)"]
    return cells, f"<= {goal}x (CPU)", _ratio(c1, c2) <= goal


def _until_stdout_ends(cmd, env):
    """Seconds from spawning ``cmd`` to the end of its stdout (what ``$(...)`` or a pipe waits for)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env)
    fd = proc.stdout.fileno()
    while True:
        select.select([fd], [], [])
        if not os.read(fd, 1 << 16):
            ended = time.perf_counter() - started
            break
    proc.stdout.close()
    proc.wait()
    return ended


def stream_rows(b, runs):
    """The 3000-delta stream: whole process, stdout's end, start to request, memory."""
    from bench.streams import agent_events, agent_stream, answer_text, deltas

    pplx, loop = b.agent_peers["pplx"], b.agent_peers["requests loop"]
    long_stream = agent_stream(3000)
    rows = []
    short_stream = agent_stream(20)
    floor = [b.python, str(ROOT / "bench" / "peers" / "click_loop.py"), b.api.url]
    nolog = pplx + ["--no-log"]
    cmds = {"pplx": pplx, "loop": loop, "floor": floor, "no-log": nolog, "no-log 20": nolog, "loop 20": loop}
    res = alternating(cmds, b.env, runs,
                      before=lambda name: b.serve(short_stream if name.endswith("20") else long_stream, path=AGENT))
    rows.append(process_row("3000-delta Agent API stream, whole process, CPU ms (wall ms)", res["pplx"], res["loop"],
                            "requests loop", 0.95))
    rows.append(process_row("... the same, --no-log (no history write)", res["no-log"], res["loop"], "requests loop", 0.95))
    cells, _, _ = process_row("... the floor: the same loop as a minimal click command", res["floor"], res["loop"],
                              "requests loop", 0.95)
    rows.append((cells, "report: what click and requests alone cost", True))
    # per event: what 2980 more events cost the whole process, CPU (no history: the event path alone)
    per = {name: (_cpu_wall(res[name])[0] - _cpu_wall(res[name + " 20"])[0]) / 2980 * 1000 for name in ("no-log", "loop")}
    rows.append((["event path (bytes -> lines -> events -> pieces -> writer), CPU us per event: "
                  "(3000 deltas - 20 deltas) / 2980, --no-log", f"{per['no-log']:.1f}", f"requests loop: {per['loop']:.1f}",
                  f"{_ratio(per['no-log'], per['loop']):.2f}x"], "<= 1.0x (CPU)", per["no-log"] <= per["loop"]))

    ends = {"pplx": [], "loop": []}
    for _ in range(runs):
        for name, cmd in (("pplx", pplx), ("loop", loop)):
            b.serve(long_stream, path=AGENT)
            ends[name].append(_until_stdout_ends(cmd, b.env) * 1000)
    e1, e2 = _med(ends["pplx"]), _med(ends["loop"])
    rows.append((["stdout closed (what a pipe waits for), wall ms", f"{e1:.1f}", f"requests loop: {e2:.1f}",
                  f"{_ratio(e1, e2):.2f}x"], "<= 1.05x (wall)", _ratio(e1, e2) <= 1.05))

    b.serve_bodies(answer_text(20))
    path, body = b.sent_request(b.ask_cmd)
    import json

    minimal = [b.python, str(ROOT / "bench" / "peers" / "minimal_post.py"), b.api.url + path, json.dumps(body)]
    floor = [b.python, str(ROOT / "bench" / "peers" / "click_post.py"), b.api.url + path, json.dumps(body)]
    times = b.to_request({"pplx": b.ask_cmd, "minimal": minimal, "floor": floor}, runs=runs * 3)
    t1, t2, t3 = times["pplx"] * 1000, times["minimal"] * 1000, times["floor"] * 1000
    rows.append((["process start -> request at the server (pplx ask q), wall ms", f"{t1:.1f}",
                  f"minimal requests.post: {t2:.1f}", f"{_ratio(t1, t2):.2f}x"], "<= 1.1x (wall)", _ratio(t1, t2) <= 1.1))
    rows.append((["... the floor: the same post as a minimal click command, wall ms", f"{t3:.1f}",
                  f"minimal requests.post: {t2:.1f}", f"{_ratio(t3, t2):.2f}x"], "report: what click and requests alone cost", True))

    long6, small = agent_stream(6000), agent_stream(20)
    rss = {"pplx": [], "loop": [], "small": []}
    for _ in range(max(3, runs // 2)):
        rss["pplx"].append(b.peak_rss(pplx, long6, path=AGENT))
        rss["loop"].append(b.peak_rss(loop, long6, path=AGENT))
        rss["small"].append(b.peak_rss(pplx, small, path=AGENT))
    m, lo, sm = _med(rss["pplx"]), _med(rss["loop"]), _med(rss["small"])
    rows.append((["peak memory, 6000 deltas, MB", f"{m:.1f}", f"requests loop: {lo:.1f}; pplx, 20 deltas: {sm:.1f}",
                  f"{_ratio(m, lo):.2f}x; {_ratio(m, sm):.2f}x"], "<= 1.1x loop, <= 1.05x 20 deltas",
                 _ratio(m, lo) <= 1.1 and _ratio(m, sm) <= 1.05))

    # one 50 MB answer: 500 deltas of 100 KB (the closing events carry the whole text again, as the service's do)
    piece = (" ".join(deltas(20)) * 1000)[:100_000]
    head, ds, tail = agent_events([piece] * 500)
    size = 500 * len(piece) / 1e6
    big = head + ds + tail
    peaks = [b.peak_rss(pplx, big, path=AGENT) for _ in range(3)]
    p = _med(peaks)
    rows.append(([f"peak memory, one {size:.0f} MB answer (stream, history on), MB", f"{p:.0f}", f"the answer: {size:.0f}",
                  f"{p / size:.1f}x"], "<= 6x", p <= 6 * size))
    return rows


def help_row(b, runs):
    """``pplx --help`` against ``python -c 'import click'``."""
    res = alternating({"pplx": [b.pplx, "--help"], "click": [b.python, "-c", "import click"]}, b.env, runs * 3)
    return process_row("pplx --help, CPU ms (wall ms)", res["pplx"], res["click"], "python -c 'import click'", 1.1)


def batch_row(b, runs, n=1000):
    """``pplx batch -j 16`` of ``n`` prompts, history on, against the SDK in 16 threads: CPU per request."""
    if not b.sdk:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("".join(f"question {i}\n" for i in range(n)))
        prompts = f.name
    hist = tempfile.mkdtemp(prefix="pplx-bench-hist-")
    env = dict(b.env, PPLX_HISTORY=os.path.join(hist, "history.db"))
    cmds = {"pplx": [b.pplx, "batch", "-j", "16", "-q"],
            "sdk": [b.python, str(ROOT / "bench" / "peers" / "sdk_batch.py"), b.api.url, "16"],
            "floor": [b.python, str(ROOT / "bench" / "peers" / "requests_batch.py"), b.api.url, "16"]}
    saved, b.api.ratelimit = b.api.ratelimit, {"limit": 10**9, "used": 0, "reset": None}  # no pause: CPU is measured
    res = {name: [] for name in cmds}
    for _ in range(runs):
        for name, cmd in cmds.items():
            b.api.routes.pop(AGENT, None)
            res[name].append(run_once(cmd, env, stdin_path=prompts))
    b.api.ratelimit = saved
    os.unlink(prompts)
    import shutil

    shutil.rmtree(hist, ignore_errors=True)
    row = process_row(f"batch -j 16, {n} prompts, history on: CPU ms per request (wall ms)", res["pplx"], res["sdk"],
                      "the SDK in 16 threads", 0.8, per=n)
    cells, _, _ = process_row("... the floor: one requests session in 16 threads, posting and printing only",
                              res["floor"], res["sdk"], "the SDK in 16 threads", 0.8, per=n)
    return [row, (cells, "report: the least requests can do", True)]


def speed_figures(b, runs):
    """Issue 20's table: rows of (cells, goal, met)."""
    b.pplx = str(Path(sys.executable).parent / "pplx")
    b.python = sys.executable
    b.ask_cmd = [b.pplx, "ask", "q"]
    b.sdk = "SDK" in b.peers
    rows = stream_rows(b, runs)
    rows.append(help_row(b, runs))
    rows += batch_row(b, runs) or []
    # the history's rows (log search, log cost, 100,000 exchanges) are bench/history.py's, and
    # embed of 100,000 lines is --only embed's: each builds its own inputs
    return ["figure", "pplx", "reference", "pplx ratio"], rows
