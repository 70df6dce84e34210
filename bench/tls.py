"""Connections and TLS handshakes on the real service's terms: ``pplx batch -j 16`` of 400
prompts and ``pplx embed`` of 10,000 lines against a local HTTPS server (a throwaway
self-signed certificate, trusted through ``SSL_CERT_FILE`` and ``REQUESTS_CA_BUNDLE``), beside the official SDK doing the
same. The server counts the TCP connections it accepts and the handshakes it completes.

Goal (issue: right on the real service): connections <= jobs, and CPU per request no worse
than the SDK's.
"""

import os
import statistics
import tempfile

from bench.measure import alternating


def tls_figures(bench_dir, bin_dir, runs):
    """``(peers, rows)`` for the HTTPS table; rows are (cells, goal, met)."""
    from tests.server import FakeAPI, make_certificate

    py = str(bin_dir / "python")
    pplx = str(bin_dir / "pplx")
    peers_dir = bench_dir / "peers"
    has_sdk = os.path.exists(bin_dir / "python") and os.system(f"{py} -c 'import perplexity' 2>/dev/null") == 0
    certs = tempfile.mkdtemp(prefix="pplx-bench-tls-")
    cert, key = make_certificate(certs)
    home = tempfile.mkdtemp(prefix="pplx-bench-home-")
    env = {k: v for k, v in os.environ.items() if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "XDG_CONFIG_HOME",
                                                              "XDG_CACHE_HOME", "XDG_DATA_HOME")}
    # SSL_CERT_FILE for the SDK (httpx) and pplx; REQUESTS_CA_BUNDLE too, for a pplx from before it read SSL_CERT_FILE
    env.update(PPLX_API_KEY="pplx-bench", HOME=home, SSL_CERT_FILE=cert, REQUESTS_CA_BUNDLE=cert)
    rows = []
    with FakeAPI(tls=(cert, key)) as api:
        # a per-second window well above the load: x-ratelimit-remaining never reaches 0, so
        # no client pauses (the fake's unenforced headers count requests up forever)
        api.rate_limit = 100_000
        env["PPLX_BASE_URL"] = api.url
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write("".join(f"question {i}\n" for i in range(400)))
            prompts = f.name
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write("".join(f"short line number {i}\n" for i in range(10_000)))
            lines = f.name
        cases = [
            ("batch -j 16, 400 prompts", prompts, 400, 16,
             {"pplx": [pplx, "batch", "-j", "16", "--no-log", "-q"],
              "SDK": [py, str(peers_dir / "sdk_batch.py"), api.url, "16"]}),
            ("embed, 10,000 lines (20 requests)", lines, 20, 1,
             {"pplx": [pplx, "embed", "--dimensions", "256", "--no-meta", "--no-log"],
              "SDK": [py, str(peers_dir / "sdk_embed.py"), api.url, "256"]}),
        ]
        peers = ["pplx"] + (["SDK"] if has_sdk else [])
        for label, stdin, requests, jobs, cmds in cases:
            cmds = {name: cmd for name, cmd in cmds.items() if name in peers}
            counts = {name: [] for name in cmds}
            marks = {}

            def before(name):
                if marks:
                    last = marks.pop("name")
                    counts[last].append((api.connections - marks["c"], api.handshakes - marks["h"], len(api.requests) - marks["r"]))
                marks.update(name=name, c=api.connections, h=api.handshakes, r=len(api.requests))

            measured = alternating(cmds, env, runs, stdin, before=before)
            before(None)
            med = {name: {"conn": statistics.median(c for c, _, _ in counts[name]),
                          "hand": statistics.median(h for _, h, _ in counts[name]),
                          "req": statistics.median(r for _, _, r in counts[name]),
                          "cpu": statistics.median(r.cpu for r in measured[name]),
                          "wall": statistics.median(r.wall for r in measured[name])} for name in cmds}
            for name in cmds:
                if med[name]["req"] != requests:
                    print(f"note: {name} sent {med[name]['req']} requests for {label}, not {requests}")
            mine = med["pplx"]
            cells = [f"{label}: connections / handshakes", f"{mine['conn']:.0f} / {mine['hand']:.0f}"]
            cells += [f"{med[n]['conn']:.0f} / {med[n]['hand']:.0f}" for n in cmds if n != "pplx"]
            rows.append((cells, f"<= {jobs} (jobs)", mine["conn"] <= jobs))
            per = {n: 1000 * med[n]["cpu"] / requests for n in cmds}
            cells = [f"{label}: CPU per request, ms (wall s)", f"{per['pplx']:.2f} ({mine['wall']:.2f})"]
            cells += [f"{per[n]:.2f} ({med[n]['wall']:.2f}) ({per['pplx'] / per[n]:.2f}x)" for n in cmds if n != "pplx"]
            rows.append((cells, "<= 1.0x SDK", "SDK" not in per or per["pplx"] <= per["SDK"]))
        os.unlink(prompts)
        os.unlink(lines)
    return peers, rows
