"""The wire as the real service sees it: keep-alive connections reused across the requests of
one process, TLS that verifies (and says so in one line when it cannot), certificate
authorities from --cacert, the environment or the config file. The installed CLI against the
local server over real sockets, plain and HTTPS (a throwaway self-signed certificate)."""

import os
import subprocess

import pytest

from tests.conftest import KEY, pplx_executable
from tests.server import AgentRun, FakeAPI, Reply, agent_error, make_certificate

AGENT = "/v1/responses"
#: Variables through which requests or OpenSSL find certificate authorities: cleared, so each
#: test says which it sets (this machine sets them all to the system's bundle).
CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")


def run_cli(api, *args, stdin=b"", env=None, timeout=60):
    full = {k: v for k, v in os.environ.items() if k not in CA_VARIABLES}
    full.update(PPLX_BASE_URL=api.url, **(env or {}))
    return subprocess.run([pplx_executable(), *args], input=stdin, capture_output=True, env=full, timeout=timeout)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return make_certificate(str(tmp_path_factory.mktemp("tls")))


@pytest.fixture
def tls_api(certificate):
    with FakeAPI(tls=certificate) as server:
        yield server


# ---- keep-alive: a body read to its end gives its connection back ----


def test_a_batch_opens_no_more_connections_than_jobs(api, home):
    lines = "".join(f"question {i}\n" for i in range(9)).encode()
    result = run_cli(api, "batch", "-j", "3", stdin=lines)
    assert result.returncode == 0, result.stderr
    assert len(api.requests) == 9
    assert api.connections <= 3  # was 9: every body closed its socket after being read


def test_embed_batches_share_one_connection(api, home):
    lines = "".join(f"text {i}\n" for i in range(1300)).encode()
    result = run_cli(api, "embed", "--dimensions", "128", "--no-meta", stdin=lines)
    assert result.returncode == 0, result.stderr
    assert [len(r["body"]["input"]) for r in api.requests] == [512, 512, 276]
    assert api.connections == 1


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_a_retry_after_429_goes_on_the_same_connection(api, home, framing):
    refusal = agent_error(429, "rate limited", "request_rate_limit_exceeded", headers={"Retry-After": "0"})
    refusal.framing = framing
    api.add(AGENT, refusal, AgentRun())
    result = run_cli(api, "ask", "q", "--no-meta")
    assert result.returncode == 0, result.stderr
    assert len(api.requests) == 2 and api.connections == 1


def test_polling_a_background_run_keeps_one_connection(api, home):
    from tests.server import BackgroundRun

    api.add(AGENT, BackgroundRun(polls_until_done=4, retry_after="0"))
    result = run_cli(api, "ask", "q", "--background", "--no-meta")
    assert result.returncode == 0, result.stderr
    assert len(api.requests) == 5 and api.connections == 1  # the POST and four polls


def test_a_body_abandoned_midway_is_closed_not_reused(api):
    """Unread bytes left on a connection would be taken for the next answer: the client that
    stops reading closes it, and the next request gets a connection of its own."""
    from pplx_cli.wire.client import Client
    from pplx_cli.wire.bodies import iter_body, read_body

    api.add("/slow", Reply(parts=[b"a" * 10, b"b" * 10, b"c" * 10], headers={"Content-Type": "text/plain"}, delay=0.05))
    api.add("/next", Reply(parts=[b"fine"], headers={"Content-Type": "text/plain"}, framing="length"))
    client = Client(base_url=api.url, api_key=KEY)
    body = iter_body(client.get("/slow", stream=True))
    assert next(body) == b"a" * 10
    body.close()  # abandoned after the first part
    assert read_body(client.get("/next")) == b"fine"
    assert read_body(client.get("/next")) == b"fine"
    assert api.connections == 2  # the abandoned one, then one for both reads


def test_a_connection_closed_framing_is_not_reused(api):
    from pplx_cli.wire.client import Client
    from pplx_cli.wire.bodies import read_body

    api.add("/close", Reply(parts=[b"one"], headers={"Content-Type": "text/plain"}, framing="close"))
    client = Client(base_url=api.url, api_key=KEY)
    assert [read_body(client.get("/close")) for _ in range(3)] == [b"one"] * 3
    assert api.connections == 3


# ---- TLS ----


def test_a_certificate_that_fails_verification_is_one_line_and_exit_5(tls_api, home):
    result = run_cli(tls_api, "ask", "q")
    assert result.returncode == 5
    host = tls_api.url.removeprefix("https://")
    assert result.stderr.decode() == (
        f"pplx: error: TLS handshake with {host} failed: certificate verify failed: self-signed certificate "
        "(nothing was sent); to trust your own certificate authority, give its PEM file with --cacert FILE, "
        "REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, SSL_CERT_FILE or config ca_bundle\n")
    assert result.stdout == b"" and tls_api.requests == [] and tls_api.handshakes == 0
    assert tls_api.connections == 1  # not retried: it would fail alike


@pytest.mark.parametrize("how", ["--cacert", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "config"])
def test_the_certificate_authority_can_be_given_four_ways(tls_api, home, certificate, how):
    cert, _ = certificate
    args, env = [], {}
    if how == "--cacert":
        args = ["--cacert", cert]
    elif how == "config":
        (home / ".config" / "pplx").mkdir(parents=True)
        (home / ".config" / "pplx" / "config.toml").write_text(f'ca_bundle = "{cert}"\n')
    else:
        env = {how: cert}
    result = run_cli(tls_api, "ask", "q", "--no-meta", *args, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"Canberra is the capital of Australia [1].\n"


def test_cacert_wins_over_the_environment_and_a_missing_file_is_a_usage_error(tls_api, home, certificate, tmp_path):
    cert, _ = certificate
    other = tmp_path / "other.pem"
    other.write_text(open("/etc/ssl/certs/ca-certificates.crt").read() if os.path.exists("/etc/ssl/certs/ca-certificates.crt")
                     else open(cert).read().replace("CERTIFICATE", "NOTHING"))
    result = run_cli(tls_api, "ask", "q", "--no-meta", "--cacert", cert, env={"REQUESTS_CA_BUNDLE": str(other)})
    assert result.returncode == 0, result.stderr
    missing = run_cli(tls_api, "ask", "q", "--cacert", str(tmp_path / "nope.pem"))
    assert missing.returncode == 2
    assert missing.stderr.decode().splitlines()[0] == (
        f"pplx: error: Invalid value for '--cacert': cannot read the certificate file {tmp_path / 'nope.pem'}")
    (tmp_path / "empty.pem").write_text("no certificate here\n")
    empty = run_cli(tls_api, "ask", "q", "--cacert", str(tmp_path / "empty.pem"))
    assert empty.returncode == 2 and empty.stderr.decode().splitlines()[0] == (
        f"pplx: error: Invalid value for '--cacert': {tmp_path / 'empty.pem'} holds no PEM certificate")
    env_missing = run_cli(tls_api, "ask", "q", env={"SSL_CERT_FILE": str(tmp_path / "nope.pem")})
    assert env_missing.returncode == 2
    assert env_missing.stderr.decode() == f"pplx: error: SSL_CERT_FILE: cannot read the certificate file {tmp_path / 'nope.pem'}\n"
    assert tls_api.requests[:1] and len(tls_api.requests) == 1  # only the first, good one was sent
    history = run_cli(tls_api, "log", "--json").stdout.decode().splitlines()
    assert len(history) == 1  # the refusals were not sent, so not recorded


def test_a_bundle_for_https_is_not_looked_at_for_plain_http(api, home, tmp_path):
    result = run_cli(api, "ask", "q", "--no-meta", env={"SSL_CERT_FILE": str(tmp_path / "nope.pem")})
    assert result.returncode == 0, result.stderr


def test_a_config_bundle_may_start_with_a_tilde_and_a_failure_names_the_bundle_used(tls_api, home, certificate):
    import shutil

    shutil.copy(certificate[0], home / "mine.pem")
    (home / ".config" / "pplx").mkdir(parents=True)
    config = home / ".config" / "pplx" / "config.toml"
    config.write_text('ca_bundle = "~/mine.pem"\n')
    assert run_cli(tls_api, "ask", "q", "--no-meta").returncode == 0
    system = "/etc/ssl/certs/ca-certificates.crt"
    if os.path.exists(system):  # a bundle that does not hold the test's authority: the line says which was used
        result = run_cli(tls_api, "ask", "q", env={"REQUESTS_CA_BUNDLE": system})
        assert result.returncode == 5
        assert result.stderr.decode().endswith(
            f"certificate verify failed: self-signed certificate (nothing was sent; the authorities trusted: "
            f"{system} from REQUESTS_CA_BUNDLE)\n")


def test_jobs_wait_does_not_retry_a_certificate_that_fails(tls_api, home):
    result = run_cli(tls_api, "jobs", "wait", "resp_x", "--no-meta", timeout=20)
    assert result.returncode == 5
    assert result.stderr.decode().count("\n") == 1 and "certificate verify failed" in result.stderr.decode()


def test_insecure_is_said_once_and_never_with_q(api, home):
    lines = "".join(f"q{i}\n" for i in range(4)).encode()
    said = run_cli(api, "batch", "--insecure", stdin=lines).stderr.decode()
    assert said.count("--insecure is deprecated") == 1
    quiet = run_cli(api, "ask", "q", "--insecure", "-q", "--no-meta")
    assert quiet.returncode == 0 and quiet.stderr == b""


def test_https_to_a_plain_http_server_says_so(api, home):
    result = run_cli(api, "ask", "q", "--base-url", api.url.replace("http://", "https://"))
    assert result.returncode == 5
    host = api.url.removeprefix("http://")
    assert result.stderr.decode() == (f"pplx: error: TLS handshake with {host} failed: wrong version number "
                                      "(is it an http:// server?) (nothing was sent)\n")


def test_a_batch_over_https_makes_one_handshake_per_connection(tls_api, home, certificate):
    lines = "".join(f"question {i}\n" for i in range(12)).encode()
    result = run_cli(tls_api, "batch", "-j", "3", stdin=lines, env={"SSL_CERT_FILE": certificate[0]})
    assert result.returncode == 0, result.stderr
    assert len(tls_api.requests) == 12
    assert tls_api.handshakes == tls_api.connections <= 3


def test_requests_is_imported_without_a_character_set_detector():
    """pplx_cli.wire.library hides charset_normalizer and chardet while requests is imported
    (about 8 ms of every process that sends): pinned here, because it relies on how requests
    resolves its detector. None is imported, requests says nothing about it (even with
    warnings as errors), Response.apparent_encoding falls back to UTF-8, and the detectors
    stay importable for anyone else."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from pplx_cli.wire import client\n"
        "print(sorted(m for m in ('charset_normalizer', 'chardet') if sys.modules.get(m)))\n"
        "import requests\n"
        "r = requests.Response(); r._content = b'caf\\xc3\\xa9'\n"
        "print(r.apparent_encoding, r.text)\n"
        "import importlib.util\n"
        "print(importlib.util.find_spec('charset_normalizer') is not None)\n"
    )
    done = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stderr == ""
    assert done.stdout.splitlines() == ["[]", "utf-8 café", "True"]


@pytest.fixture
def proxy():
    """A forward proxy on 127.0.0.1 that records each request line and refuses it (502)."""
    import http.server
    import threading

    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            seen.append(self.requestline)
            self.send_response(502)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"proxy")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


@pytest.mark.parametrize("no_proxy", ["", "127.0.0.1"])
def test_the_environments_proxy_is_used_and_no_proxy_is_honoured(api, home, proxy, no_proxy):
    """requests no longer reads the environment per request (the client reads the proxy for
    its base URL once): HTTP_PROXY still carries the request, NO_PROXY still bypasses it."""
    url, seen = proxy
    env = {"HTTP_PROXY": url, "http_proxy": url, "NO_PROXY": no_proxy, "no_proxy": no_proxy}
    done = run_cli(api, "ask", "q", "--no-meta", "--retries", "0", env=env)
    if no_proxy:
        assert done.returncode == 0 and seen == []
    else:
        assert seen == [f"POST {api.url}/v1/responses HTTP/1.1"]
        assert done.returncode != 0 and api.requests == []
