#!/usr/bin/env python3
"""pplx against its peers, side by side, in one run: python3 bench/run.py [--runs N] [--only chat|agent|embed|batch]

Creates bench/.venv (pplx installed as a user would, requests, and the official SDK when
it can be installed), starts a threaded HTTP server on 127.0.0.1 that serves pre-built
Perplexity streams, and measures pplx, the requests loop from Perplexity's streaming guide,
the SDK, and curl | sed | jq on the same streams: chat completions (``/chat/completions``)
and the Agent API (``/v1/responses``), each in its own table. It prints medians and pplx's
ratio to each peer, and whether each goal of the speed issues is met. Machines are noisy:
compare ratios, not absolute times.
"""

import argparse
import json
import os
import re
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "bench" / ".venv"
BIN = VENV / "bin"
CHAT = "/chat/completions"
AGENT = "/v1/responses"


# ---- the bench venv ----------------------------------------------------------------------


def ensure_venv(argv, source=ROOT):
    """Outside the bench venv: create or refresh it, then re-run this script inside it.

    pplx is installed from ``source``: the working tree unless ``--pplx`` names another
    (a ``git archive`` of a commit, say, while the working tree is mid-change).
    """
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    if not (BIN / "python").exists():
        print(f"creating {VENV.relative_to(ROOT)} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    # a regular (not editable) install of the source tree: what a user runs
    subprocess.run([*pip, "--force-reinstall", "--no-deps", str(source)], check=True)
    subprocess.run([*pip, str(source)], check=True)  # and its dependencies, as a user gets them
    if subprocess.run([str(BIN / "python"), "-c", "import perplexity"], capture_output=True).returncode:
        if subprocess.run([*pip, "perplexityai"], capture_output=True).returncode:
            print("note: the official SDK (perplexityai) could not be installed; its columns are skipped", file=sys.stderr)
    os.execv(str(BIN / "python"), [str(BIN / "python"), __file__, *argv])


# ---- measuring ---------------------------------------------------------------------------


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def p95(xs):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]


class Bench:
    def __init__(self, api, runs):
        self.api = api
        self.runs = runs
        self.home = tempfile.mkdtemp(prefix="pplx-bench-home-")
        self.env = dict(os.environ, PPLX_API_KEY="pplx-bench", HOME=self.home, PPLX_BASE_URL=api.url)
        self.env.pop("XDG_CONFIG_HOME", None)
        self.env.pop("XDG_CACHE_HOME", None)
        py = str(BIN / "python")
        self.peers = {
            "pplx": [str(BIN / "pplx"), "stream", "q", "--api", "chat", "--no-meta"],
            "guide loop": [py, str(ROOT / "bench" / "peers" / "guide_loop.py"), api.url],
        }
        if subprocess.run([py, "-c", "import perplexity"], capture_output=True).returncode == 0:
            self.peers["SDK"] = [py, str(ROOT / "bench" / "peers" / "sdk_stream.py"), api.url]
        if shutil.which("curl") and shutil.which("jq") and shutil.which("sed"):
            self.peers["curl+sed+jq"] = ["bash", "-c", (
                f"curl -sN -X POST {api.url}{CHAT} -H 'Authorization: Bearer pplx-bench' "
                "-H 'Content-Type: application/json' "
                "-d '{\"model\":\"sonar\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"}],\"stream\":true}' "
                "| sed -un 's/^data: //p' | jq --unbuffered -rj '.choices[0].delta.content // empty'; echo")]
        else:
            print("note: curl, sed or jq is missing; the curl peer is skipped", file=sys.stderr)
        self.agent_peers = {
            "pplx": [str(BIN / "pplx"), "stream", "q", "--api", "agent", "--no-meta"],
            "requests loop": [py, str(ROOT / "bench" / "peers" / "guide_agent_loop.py"), api.url],
        }
        if "SDK" in self.peers:
            self.agent_peers["SDK responses"] = [py, str(ROOT / "bench" / "peers" / "sdk_responses.py"), api.url]

    def serve(self, events, framing="chunked", delay=0.0, path=CHAT):
        from tests.server import Reply

        reply = Reply(parts=events, framing=framing, delay=delay)
        self.api.routes[path] = [reply]
        return reply

    def check(self, name, cmd, events, expected, path=CHAT):
        """One run with stdout captured: a peer that prints the wrong text is not timed."""
        self.serve(events, path=path)
        out = subprocess.run(cmd, capture_output=True, env=self.env, stdin=subprocess.DEVNULL, timeout=300).stdout
        if out.decode("utf-8", "replace").strip() != expected.strip():
            raise SystemExit(f"{name} printed the wrong answer: {out[:200]!r}")

    def walls(self, cmds, events, runs=None, path=CHAT):
        """Median wall time of each whole command, stdout to /dev/null.

        The commands take turns, run by run, so that a noisy neighbour slows them alike.
        """
        times = {name: [] for name in cmds}
        for _ in range(runs or self.runs):
            for name, cmd in cmds.items():
                self.serve(events, path=path)
                started = time.perf_counter()
                # no timeout: with one, Popen.wait polls in sleeps of up to 50 ms, which
                # rounds every measurement up to the next 50 ms
                subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.env,
                               stdin=subprocess.DEVNULL)
                times[name].append(time.perf_counter() - started)
        return {name: median(ts) for name, ts in times.items()}

    def latency(self, cmd, framing, n=40, period=0.03, path=CHAT):
        """Server send time of each event -> the moment its token is read from the client's stdout pipe."""
        from bench.streams import marked_agent_stream, marked_stream

        if path == AGENT:
            events, tokens = marked_agent_stream(n)
            first = 1  # token i is in part i + 1: part 0 holds the events before the first delta
        else:
            events, tokens = marked_stream(n)
            first = 0
        lat = []
        for _ in range(max(1, self.runs // 2)):
            reply = self.serve(events, framing=framing, delay=period, path=path)
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=self.env, stdin=subprocess.DEVNULL)
            fd = proc.stdout.fileno()
            buf = b""
            seen = {}
            pattern = re.compile(rb"t(\d{4})\b")
            while True:
                ready, _, _ = select.select([fd], [], [], 10)
                if not ready:
                    break
                data = os.read(fd, 65536)
                now = time.monotonic()
                if not data:
                    break
                buf += data
                for m in pattern.finditer(buf):
                    seen.setdefault(int(m.group(1)), now)
            proc.wait(30)
            # the first event pays for start-up and connection set-up: measure steady delivery
            lat += [(seen[i] - reply.sent_at[first + i]) * 1000 for i in range(1, len(tokens))
                    if i in seen and first + i < len(reply.sent_at)]
        return median(lat), p95(lat)

    def peak_rss(self, cmd, events=None, path=CHAT):
        """Peak resident set size of the command, in MB."""
        if events is not None:
            self.serve(events, path=path)
        # measured by a small wrapper process: a child forked from this (large) process
        # would count the pages it shared with it before exec
        wrapper = ("import os, subprocess, sys\n"
                   "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
                   "print(os.wait4(p.pid, 0)[2].ru_maxrss)")
        out = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, env=self.env,
                             stdin=subprocess.DEVNULL, timeout=600).stdout
        return int(out) / 1024

    def serve_bodies(self, text):
        """Non-streamed answers on both APIs, for the commands that ``ask``."""
        from bench.streams import agent_body, chat_body
        from tests.server import json_reply

        self.api.routes[CHAT] = [json_reply(chat_body(text))]
        self.api.routes[AGENT] = [json_reply(agent_body(text))]

    def sent_request(self, cmd):
        """Run ``cmd`` once; the path and JSON body of the request it sent."""
        before = len(self.api.requests)
        out = subprocess.run(cmd, capture_output=True, env=self.env, stdin=subprocess.DEVNULL, timeout=60)
        if len(self.api.requests) == before:
            raise SystemExit(f"{cmd} sent no request: {out.stderr[-300:]!r}")
        if out.returncode:  # the request is what is timed; say so, but go on
            print(f"note: {' '.join(cmd[1:3])}... exited {out.returncode}: {out.stderr[-300:]!r}", file=sys.stderr)
        request = self.api.requests[-1]
        return request["path"], request["body"]

    def to_request(self, cmds, runs=None):
        """Median time from spawning each command to its request line reaching the server.

        The server's handler records ``time.monotonic()`` as it starts to parse each request
        (see ``timed``); the commands take turns, run by run.
        """
        times = {name: [] for name in cmds}
        for _ in range(runs or self.runs):
            for name, cmd in cmds.items():
                before = len(self.api.arrivals)
                started = time.monotonic()
                subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.env,
                               stdin=subprocess.DEVNULL)
                if len(self.api.arrivals) > before:
                    times[name].append(self.api.arrivals[before] - started)
        return {name: median(ts) for name, ts in times.items()}


def timed(api):
    """Make the server record, in ``api.arrivals``, the monotonic time each request line arrives.

    And keep quiet about clients that reset a kept-alive connection on exit (a client that
    stops at the final event exits with the body's last chunk unread).
    """
    api.arrivals = []
    base = api.httpd.RequestHandlerClass
    handle_error = api.httpd.handle_error

    def quiet_handle_error(request, client_address):
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            handle_error(request, client_address)

    api.httpd.handle_error = quiet_handle_error

    class TimedHandler(base):
        def parse_request(self):
            # called as soon as the request line has been read, before the headers
            self.server.api.arrivals.append(time.monotonic())
            return super().parse_request()

    api.httpd.RequestHandlerClass = TimedHandler
    return api


def fmt_ratio(a, b):
    return f"{a / b:.2f}x" if b and b == b and a == a else "-"


def wall_row(label, walls):
    """A table row: pplx's median, then each peer's with pplx's ratio to it."""
    return [label, f"{walls['pplx']:.3f}"] + [
        f"{t:.3f} ({fmt_ratio(walls['pplx'], t)})" for name, t in walls.items() if name != "pplx"]


def chat_figures(b, runs):
    """The chat completions figures (``--api chat``): rows of (cells, goal, met)."""
    from bench.streams import answer_text, concise_stream, full_stream

    results = []
    peers = b.peers
    long_full = full_stream(3000)
    small_full = full_stream(20)
    for name, cmd in peers.items():
        b.check(name, cmd, small_full, answer_text(20))
    b.check("pplx", peers["pplx"], long_full, answer_text(3000))

    # delivery latency
    lat = {}
    for framing in ("chunked", "close"):
        for name, cmd in peers.items():
            lat[name, framing] = b.latency(cmd, framing)
    for framing in ("chunked", "close"):
        results.append(latency_row(f"delivery latency, {framing} (ms, median / p95)", peers, lat, framing))

    # long stream
    walls = b.walls(peers, long_full)
    row = wall_row("long stream, 3000 chunks full mode (s)", walls)
    met = walls["pplx"] <= 0.6 * walls["guide loop"] and ("SDK" not in walls or walls["pplx"] <= 0.25 * walls["SDK"])
    results.append((row, "<= 0.6x guide loop, <= 0.25x SDK", met))

    # small answer
    smalls = b.walls(peers, small_full)
    row = wall_row("small answer, 20 chunks (s)", smalls)
    met = "SDK" not in smalls or smalls["pplx"] <= 0.5 * smalls["SDK"]
    results.append((row, "<= 0.5x SDK", met))

    # start-up
    starts = b.walls({"click": [str(BIN / "python"), "-c", "import click"], "--version": [str(BIN / "pplx"), "--version"],
                      "--help": [str(BIN / "pplx"), "--help"]}, [], runs=runs * 3)
    base = starts["click"]
    for flag in ("--version", "--help"):
        t = starts[flag]
        results.append(([f"start-up, pplx {flag} (s)", f"{t:.4f}", f"python -c 'import click': {base:.4f} ({fmt_ratio(t, base)})"],
                        "<= 1.25x import click", t <= 1.25 * base))

    # memory
    rss_version = median([b.peak_rss([str(BIN / "pplx"), "--version"]) for _ in range(3)])
    rss_long = median([b.peak_rss(peers["pplx"], full_stream(6000)) for _ in range(2)])
    rss_small = median([b.peak_rss(peers["pplx"], small_full) for _ in range(3)])
    results.append((["peak RSS, 6000 chunks full mode (MB)", f"{rss_long:.1f}",
                     f"pplx --version {rss_version:.1f} ({fmt_ratio(rss_long, rss_version)}); "
                     f"20-chunk stream {rss_small:.1f} ({fmt_ratio(rss_long, rss_small)})"],
                    "<= 1.3x pplx --version", rss_long <= 1.3 * rss_version))

    # bytes on the wire
    full_bytes = sum(len(e) for e in long_full)
    concise_bytes = sum(len(e) for e in concise_stream(3000))
    results.append((["bytes on the wire, 3000-chunk answer", f"concise (default) {concise_bytes / 1e6:.2f} MB",
                     f"full {full_bytes / 1e6:.2f} MB ({full_bytes / concise_bytes:.0f}x more)"], "report; choose the default", True))
    return results


def agent_figures(b, runs):
    """The Agent API figures (``/v1/responses``): rows of (cells, goal, met)."""
    from bench.streams import agent_stream, answer_text

    results = []
    peers = b.agent_peers
    long_stream = agent_stream(3000)
    for name, cmd in peers.items():
        b.check(name, cmd, agent_stream(20), answer_text(20), path=AGENT)
        b.check(name, cmd, long_stream, answer_text(3000), path=AGENT)

    # 1. a long answer
    walls = b.walls(peers, long_stream, path=AGENT)
    row = wall_row("long answer, 3000 deltas (s)", walls)
    met = walls["pplx"] <= 0.8 * walls["requests loop"] and (
        "SDK responses" not in walls or walls["pplx"] <= 0.3 * walls["SDK responses"])
    results.append((row, "<= 0.8x requests loop, <= 0.3x SDK", met))

    # 2. delivery latency
    lat = {}
    for framing in ("chunked", "close"):
        for name, cmd in peers.items():
            lat[name, framing] = b.latency(cmd, framing, path=AGENT)
    for framing in ("chunked", "close"):
        results.append(latency_row(f"delivery latency, {framing} (ms, median / p95)", peers, lat, framing))

    # 3. from process start to the request reaching the server, `pplx ask` against a
    # minimal requests script posting the same body to the same path
    text = answer_text(20)
    b.serve_bodies(text)
    py = str(BIN / "python")
    variants = {"default API": [str(BIN / "pplx"), "ask", "q"], "--api chat": [str(BIN / "pplx"), "ask", "q", "--api", "chat"]}
    cmds = {}
    for label, cmd in variants.items():
        path, body = b.sent_request(cmd)
        minimal = [py, str(ROOT / "bench" / "peers" / "minimal_post.py"), b.api.url + path, json.dumps(body)]
        b.sent_request(minimal)  # it works, and sends the same request
        if b.api.requests[-1]["path"] != path or b.api.requests[-1]["body"] != body:
            raise SystemExit("minimal_post.py did not send the request pplx sent")
        cmds[label, "pplx"] = cmd
        cmds[label, "minimal"] = minimal
        cmds[label, "path"] = path
    times = b.to_request({k: v for k, v in cmds.items() if k[1] != "path"}, runs=runs * 3)
    for label in variants:
        t, base = times[label, "pplx"], times[label, "minimal"]
        flag = "" if label == "default API" else " --api chat"
        what = f"default API, {cmds[label, 'path']}" if label == "default API" else cmds[label, "path"]
        results.append(([f"process start to request at server, pplx ask q{flag} ({what}) (s)",
                         f"{t:.4f}", f"minimal requests POST: {base:.4f} ({fmt_ratio(t, base)})"],
                        *(("<= 1.1x minimal POST", t <= 1.1 * base) if label == "default API"
                          else ("report, to compare with the default API", True))))

    # 4. memory
    long6 = agent_stream(6000)
    small = agent_stream(20)
    rss = {name: [] for name in peers}
    rss_small = []
    for _ in range(3):  # taking turns, like the timings
        for name, cmd in peers.items():
            rss[name].append(b.peak_rss(cmd, long6, path=AGENT))
        rss_small.append(b.peak_rss(peers["pplx"], small, path=AGENT))
    rss = {name: median(v) for name, v in rss.items()}
    rss_small = median(rss_small)
    results.append((["peak RSS, 6000 deltas vs 20 deltas (MB)", f"{rss['pplx']:.1f}",
                     f"pplx, 20 deltas: {rss_small:.1f} ({fmt_ratio(rss['pplx'], rss_small)})"],
                    "<= 1.1x 20 deltas", rss["pplx"] <= 1.1 * rss_small))
    results.append((["peak RSS, 6000 deltas vs peers (MB)", f"{rss['pplx']:.1f}"]
                    + [f"{rss[n]:.1f} ({fmt_ratio(rss['pplx'], rss[n])})" for n in peers if n != "pplx"],
                    "<= 1.1x requests loop", rss["pplx"] <= 1.1 * rss["requests loop"]))
    bytes_ = sum(len(e) for e in long_stream)
    results.append((["bytes on the wire, 3000-delta answer", f"{bytes_ / 1e6:.2f} MB"], "report", True))
    return results


def embed_figures(b, runs):
    """``pplx embed`` of 10,000 short lines beside the SDK doing the same: rows of (cells, goal, met)."""
    import tempfile

    py = str(BIN / "python")
    peers = {"pplx": [str(BIN / "pplx"), "embed", "--dimensions", "256", "--no-meta", "--no-log"]}
    if "SDK" in b.peers:
        peers["SDK"] = [py, str(ROOT / "bench" / "peers" / "sdk_embed.py"), b.api.url, "256"]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("".join(f"short line number {i}\n" for i in range(10_000)))
        lines = f.name
    outputs = {}
    for name, cmd in peers.items():
        with open(lines, "rb") as stdin:
            outputs[name] = subprocess.run(cmd, stdin=stdin, capture_output=True, env=b.env, timeout=600).stdout
    if len(outputs["pplx"].splitlines()) != 10_000:
        raise SystemExit("pplx embed did not print 10,000 embeddings")
    for name, out in outputs.items():
        if [json.loads(x) for x in out.splitlines()] != [json.loads(x) for x in outputs["pplx"].splitlines()]:
            raise SystemExit(f"{name} printed other embeddings than pplx")
    times = {name: [] for name in peers}
    for _ in range(runs):
        for name, cmd in peers.items():
            with open(lines, "rb") as stdin:
                started = time.perf_counter()
                subprocess.run(cmd, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=b.env)
                times[name].append(time.perf_counter() - started)
    os.unlink(lines)
    walls = {name: median(ts) for name, ts in times.items()}
    row = ["pplx embed, 10,000 short lines, 20 requests (s)", f"{walls['pplx']:.3f}"]
    row += [f"{walls[n]:.3f} ({fmt_ratio(walls['pplx'], walls[n])})" for n in peers if n != "pplx"]
    return peers, [(row, "<= 1.0x SDK", "SDK" not in walls or walls["pplx"] <= walls["SDK"])]


def batch_figures(b, runs):
    """``pplx batch`` of 400 prompts at -j 16 against 200 ms answers and a limit of 20
    requests a second, beside ``xargs -P 16 pplx ask`` and the SDK in a thread pool."""
    import tempfile

    api = b.api
    api.latency, api.rate_limit = 0.2, 20
    py = str(BIN / "python")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("".join(f"question {i}\n" for i in range(400)))
        prompts = f.name
    peers = {"pplx": [str(BIN / "pplx"), "batch", "-j", "16", "--retries", "10", "--no-log", "-q"],
             "xargs -P 16 pplx ask": ["bash", "-c", f"xargs -d '\\n' -P 16 -n 1 '{BIN / 'pplx'}' ask --no-log -q --no-meta --retries 10 < {prompts}"]}
    if "SDK" in b.peers:
        peers["SDK thread pool"] = [py, str(ROOT / "bench" / "peers" / "sdk_batch.py"), api.url, "16"]
    ideal = max(400 / 16 * 0.2, 400 / 20)
    walls, refused = {n: [] for n in peers}, {n: [] for n in peers}
    for _ in range(runs):
        for name, cmd in peers.items():
            api.routes.pop(AGENT, None)
            api.rate_log.clear()
            with open(prompts, "rb") as stdin:
                started = time.perf_counter()
                out = subprocess.run(cmd, stdin=stdin, capture_output=True, env=b.env).stdout
                walls[name].append(time.perf_counter() - started)
            answered = out.count(b"capital of Australia [1].")
            if answered != 400:
                print(f"note: {name} answered {answered} of 400", file=sys.stderr)
            log = list(api.rate_log)
            first = next((i for i, e in enumerate(log) if not e.accepted), None)
            resumed = next((i for i in range(first, len(log)) if log[i].accepted), len(log)) if first is not None else len(log)
            refused[name].append(sum(1 for e in log[resumed:] if not e.accepted))
    with open(prompts, "rb") as stdin:
        wrapper = ("import os, subprocess, sys\n"
                   "p = subprocess.Popen(sys.argv[1:], stdin=sys.stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
                   "print(os.wait4(p.pid, 0)[2].ru_maxrss)")
        rss_batch = int(subprocess.run([sys.executable, "-c", wrapper, *peers["pplx"]], stdin=stdin, capture_output=True,
                                       env=b.env).stdout) / 1024
    api.latency, api.rate_limit = 0.0, None
    rss_ask = b.peak_rss([str(BIN / "pplx"), "ask", "q", "--no-log"])
    os.unlink(prompts)
    wall = {n: median(v) for n, v in walls.items()}
    row = ["400 prompts, -j 16, 200 ms answers, 20 requests/s limit (s)", f"{wall['pplx']:.2f} (ideal {ideal:.0f})"]
    row += [f"{wall[n]:.2f} ({fmt_ratio(wall['pplx'], wall[n])})" for n in peers if n != "pplx"]
    rows = [(row, "<= 1.15x ideal", wall["pplx"] <= 1.15 * ideal)]
    rows.append((["429s after the workers resumed (median)", f"{median(refused['pplx']):.0f}"]
                 + [f"{median(refused[n]):.0f}" for n in peers if n != "pplx"], "0", median(refused["pplx"]) == 0))
    rows.append((["peak RSS, whole batch vs one pplx ask (MB)", f"{rss_batch:.1f}", f"pplx ask: {rss_ask:.1f} "
                  f"({fmt_ratio(rss_batch, rss_ask)})"], "<= 1.5x one ask", rss_batch <= 1.5 * rss_ask))
    return peers, rows


def latency_row(label, peers, lat, framing):
    med, hi = lat["pplx", framing]
    row = [label, f"{med:.2f} / {hi:.2f}"]
    for name in peers:
        if name != "pplx":
            m2, h2 = lat[name, framing]
            row.append(f"{m2:.2f} / {h2:.2f}")
    return row, "median <= 1 ms, p95 <= 3 ms", med <= 1.0 and hi <= 3.0


def print_table(title, peers, results):
    if peers and peers[0] == "figure":  # a table that names its own columns
        header = list(peers)
    else:
        header = ["figure", "pplx"] + [f"{n} (pplx ratio)" for n in peers if n != "pplx"]
    print(f"{title}\n")
    print("| " + " | ".join(header) + " | goal | met |")
    print("|" + "---|" * (len(header) + 2))
    for row, goal, met in results:
        cells = row + [""] * (len(header) - len(row))
        print("| " + " | ".join(cells) + f" | {goal} | {'yes' if met else 'NO'} |")
    print()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per timing (median taken)")
    parser.add_argument("--only", choices=("chat", "agent", "embed", "batch", "tls", "speed"),
                        help="only one table: chat completions, Agent API, embed, batch, connections over HTTPS, "
                             "or where people wait (issue 20's figures, CPU beside wall time)")
    parser.add_argument("--pplx", metavar="SRC", type=Path, default=ROOT,
                        help="install pplx from this source tree instead of the working tree")
    args = parser.parse_args()
    ensure_venv(sys.argv[1:], args.pplx.resolve())
    sys.path.insert(0, str(ROOT))
    from importlib.metadata import PackageNotFoundError, version

    from tests.server import FakeAPI

    versions = {}
    for name in ("pplx-cli", "requests", "perplexityai"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            pass
    started = time.monotonic()
    tables = []
    with timed(FakeAPI()) as api:
        b = Bench(api, args.runs)
        print(f"load average at the start: {open('/proc/loadavg').read().split()[:3]}")
        print(f"machine: {os.uname().machine}, {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
              f"{args.runs} runs per timing; pplx-cli {versions.get('pplx-cli', '?')}, requests {versions.get('requests', '?')}, "
              f"perplexityai {versions.get('perplexityai', 'not installed')}; chat peers: {', '.join(b.peers)}; "
              f"Agent API peers: {', '.join(b.agent_peers)}\n")
        if args.only in (None, "chat"):
            tables.append(("Chat completions (pplx stream q --api chat --no-meta)", b.peers, chat_figures(b, args.runs)))
        if args.only in (None, "agent"):
            tables.append(("Agent API (pplx stream q --api agent --no-meta)", b.agent_peers, agent_figures(b, args.runs)))
        if args.only in (None, "embed"):
            from bench.embed import embed_cpu_rows

            peers, rows = embed_figures(b, args.runs)
            rows += embed_cpu_rows(peers, b.env, args.runs)
            tables.append(("Embeddings (pplx embed --dimensions 256 --no-meta --no-log < lines)", peers, rows))
        if args.only in (None, "batch"):
            peers, rows = batch_figures(b, max(1, args.runs // 3))
            tables.append(("Batch (pplx batch -j 16 < 400 prompts)", peers, rows))
        if args.only in (None, "speed"):
            from bench.speed import speed_figures

            header, rows = speed_figures(b, args.runs)
            tables.append(("Where people wait: pplx beside its reference, CPU ms (wall ms), medians", header, rows))
    if args.only in (None, "tls"):
        from bench.tls import tls_figures

        peers, rows = tls_figures(ROOT / "bench", BIN, args.runs)
        tables.append(("Connections over HTTPS (a local server with a self-signed certificate; medians)", peers, rows))

    for title, peers, results in tables:
        print_table(title, peers, results)
    print(f"({time.monotonic() - started:.0f} s; load average at the end: {open('/proc/loadavg').read().split()[:3]})")
    shutil.rmtree(b.home, ignore_errors=True)
    return 0 if all(met for _, _, results in tables for _, _, met in results) else 1


if __name__ == "__main__":
    sys.exit(main())
