"""HTTP: the requests session, headers, timeouts, retries, HTTP errors -> exceptions, body chunks.

Nothing here writes to stdout or knows click; diagnostics (retries, ``-v``) go to the text
stream it is given, with the key redacted.
"""

import re
import time

from pplx_cli.wire.library import requests, urllib3

from pplx_cli import __version__
from pplx_cli.errors import (
    AgentAPIRequired,
    APIError,
    AuthError,
    NetworkError,
    RateLimitError,
    UsageError,
    redact,
    register_secret,
)
from pplx_cli.errors import redacted
from pplx_cli.wire.urls import shown_url
from pplx_cli.wire.bodies import AGENT_API_ERRORS, describe_body, read_limited
from pplx_cli.wire.retrying import backoff, retry_wait

#: Statuses worth another try (before any answer output was written).
RETRY_STATUSES = {429, 500, 502, 503, 504}


class Client:
    """One API endpoint and key; ``post`` returns a response whose body has not been read."""

    def __init__(self, *, base_url, api_key, timeout=300.0, retries=2, verbose=False, quiet=False, say=None, sleep=time.sleep,
                 ca_bundle=None, ca_source=None):
        self.base_url = base_url.rstrip("/")
        self.shown = shown_url(self.base_url)  # for messages: no user or password
        self.api_key = api_key
        self.timeout = timeout
        self.retries = retries
        self.verbose = verbose
        self.quiet = quiet
        self.say = say  # where diagnostic lines go (output.messages.say), or nowhere
        self.sleep = sleep
        register_secret(api_key)
        self.session = requests.Session()
        # the proxy for the base URL (HTTPS_PROXY, NO_PROXY...) read from the environment once,
        # not on every request as requests would (about 0.4 ms each: a batch pays it per line);
        # the certificate authorities from the environment come through ``ca_bundle``
        self.session.proxies = requests.utils.get_environ_proxies(self.base_url)
        self.session.trust_env = False
        # the certificate authorities to trust: a file given (--cacert, REQUESTS_CA_BUNDLE,
        # SSL_CERT_FILE, config ca_bundle), else requests' own; never False: pplx always verifies
        self.verify = ca_bundle or True
        self.ca_source = ca_source if ca_bundle else None  # for the TLS failure's line: which bundle was used
        self.requests_made = 0
        self.limiter = None  # pplx batch: a RateLimiter shared by every worker
        self.key_hint = None  # said after a 401: where the key came from (Settings.key_hint)
        self.dry_run = None  # --dry-run: the stdio.Channel the request is printed on, instead of sending it

    def _say(self, line):
        """A diagnostic line (a retry, a -v header), through the ``say`` the command gave: the
        output layer redacts it, neutralises it and erases a progress line first."""
        if self.say is not None:
            self.say(line)

    def post(self, path: str, body: dict, *, stream: bool, headers: dict = None) -> requests.Response:
        """POST ``body`` as JSON; retry connection failures, 429 and 5xx; raise on HTTP errors."""
        import json

        try:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:  # e.g. an option given in bytes that are not UTF-8
            raise UsageError("the request holds text that is not valid UTF-8 (check the options)") from None
        return self.request("POST", path, data=data, stream=stream, extra_headers=headers)

    def post_file(self, path: str, fields: dict, filename: str, content: bytes) -> requests.Response:
        """POST a file as multipart/form-data (the Files API), with ``fields`` beside it."""
        import os

        boundary = "pplx-" + os.urandom(12).hex()
        parts = []
        for name, value in fields.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                     "Content-Type: application/jsonl\r\n\r\n".encode() + content + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        return self.request("POST", path, data=b"".join(parts), content_type=f"multipart/form-data; boundary={boundary}")

    def get(self, path: str, *, stream: bool = False) -> requests.Response:
        """GET ``path`` (JSON, or with ``stream`` an event stream); the same retries and errors as ``post``."""
        return self.request("GET", path, stream=stream)

    def request(self, method: str, path: str, *, data: bytes = None, stream: bool = False,
                content_type: str = "application/json", extra_headers: dict = None) -> requests.Response:
        """Send one request, retrying connection failures, 429 and 5xx; raise on HTTP errors.

        The response's body has not been read.
        """
        url = self.base_url + path
        headers = {
            "User-Agent": f"pplx-cli/{__version__}",
            "Accept": "text/event-stream" if stream else "application/json",
            **(extra_headers or {}),
        }
        if data is not None:
            headers["Content-Type"] = content_type
        if stream:
            headers["Accept-Encoding"] = "identity"  # raw bytes as they arrive, for raw | parse
        if self.dry_run is not None:
            self._print_request(method, url, headers, data)
        attempt = 0
        while True:
            try:
                response = self._send(method, path, url, headers, data)
            except _NotConnected as e:  # it never reached the server: safe to send again
                if attempt < self.retries:
                    attempt += 1
                    self._retry(backoff(attempt - 1), "connection failure", attempt)
                    continue
                raise NetworkError(f"cannot connect to {self.shown}: {e}") from None
            status = response.status_code
            if status < 400:
                return response
            body_bytes = read_limited(response)
            if status in RETRY_STATUSES and attempt < self.retries:
                attempt += 1
                if status == 429 and self.limiter is not None:  # every worker waits together, in acquire(),
                    continue  # and a long pause is one note from the limiter, not a line per worker
                wait = retry_wait(response.headers, status)
                self._retry(backoff(attempt - 1) if wait is None else wait, f"HTTP {status}", attempt)
                continue
            error = http_error(status, body_bytes, response.headers.get("Content-Type", ""))
            if status == 401 and self.key_hint:
                error = AuthError(f"{error.message}; {self.key_hint}")
            raise error

    def _send(self, method, path, url, headers, data) -> requests.Response:
        """One attempt: the response (a redirect refused), or the failure as pplx's error;
        _NotConnected when the request never reached the server."""
        if self.verbose:
            self._say(f"> {method} {self.shown}{path}")
            if self.api_key:
                self._say(f"> Authorization: Bearer {redacted(self.api_key)}")
            for name, value in headers.items():
                self._say(f"> {name}: {value}")
            if data is not None:
                self._say(f"> ({len(data)} bytes of JSON)")
        if self.limiter is not None:
            self.limiter.acquire()
        started = time.monotonic()
        self.requests_made += 1
        try:
            # redirects are never followed: a 307 or 308 would send the prompt and key elsewhere
            response = self.session.request(method, url, data=data, headers=headers, auth=self._bearer, stream=True,
                                            timeout=(self.timeout, self.timeout), allow_redirects=False, verify=self.verify)
        except requests.exceptions.SSLError as e:  # the handshake failed: nothing was sent, and a retry fails alike
            trusted = f"{self.verify} from {self.ca_source}" if self.ca_source else None
            raise TLSError(tls_failure(self.base_url, e, trusted)) from None
        except requests.exceptions.ConnectionError as e:  # ConnectTimeout included
            if _never_connected(e):
                raise _NotConnected(_reason(e)) from None
            # the request reached the server, which closed without an answer: it may be
            # running, so sending it again could pay twice
            raise NetworkError(f"{self.shown} closed the connection without answering "
                               f"(the request was sent, so it is not retried): {_reason(e)}") from None
        except requests.exceptions.Timeout:
            raise NetworkError(f"no response from {self.shown} within {self.timeout:g}s") from None
        except requests.exceptions.RequestException as e:
            raise NetworkError(f"request to {self.shown} failed: {_reason(e)}") from None
        except ValueError as e:  # e.g. a header value requests refuses
            raise UsageError(f"the request could not be sent: {redact(str(e))[:200]}") from None
        status = response.status_code
        if self.limiter is not None:
            self.limiter.observe(status, response.headers)
        if self.verbose:
            self._say(f"< HTTP {status} {response.reason or ''} ({time.monotonic() - started:.3f}s)".rstrip())
            for name, value in response.headers.items():
                self._say(f"< {name}: {value}")
        if 300 <= status < 400:
            location = response.headers.get("Location", "")
            response.close()
            raise APIError(f"HTTP {status}: the server redirects to {shown_url(location) or 'another address'}; "
                           "pplx does not follow redirects (the prompt and key would go there)", status=status)
        return response

    def _print_request(self, method, url, headers, data):
        """--dry-run: the request (the key redacted, the body as pretty JSON) on stdout, and stop."""
        import json

        from pplx_cli.errors import DryRun

        lines = [f"{method} {shown_url(url)}"]
        if self.api_key:
            lines.append(f"Authorization: Bearer {redacted(self.api_key)}")
        lines += [f"{name}: {value}" for name, value in headers.items()]
        text = "\n".join(lines) + "\n"
        if data is not None:
            try:
                body = json.dumps(json.loads(data), indent=2, ensure_ascii=False)
            except ValueError:  # a multipart upload: its text as it would go
                body = data.decode("utf-8", "replace").rstrip("\n")
            text += "\n" + body + "\n"
        self.dry_run.write(text)  # redacted, and neutralised on a terminal
        raise DryRun()

    def _bearer(self, request):
        """requests auth hook: the key as a bearer token. Passing auth also keeps requests
        from looking in ~/.netrc, whose basic auth would replace the key."""
        if self.api_key:
            request.headers["Authorization"] = f"Bearer {self.api_key}"
        return request

    def _retry(self, wait, why, attempt):
        if not self.quiet:
            self._say(f"pplx: retrying in {wait:.1f}s after {why} ({attempt}/{self.retries})")
        self.sleep(wait)


def http_error(status: int, body: bytes, content_type: str = "") -> Exception:
    """The exception for an HTTP error status and its body."""
    summary, error_type = describe_body(body, content_type)
    message = f"HTTP {status}: {summary}"
    if status == 403 and error_type in AGENT_API_ERRORS:
        return AgentAPIRequired(f"HTTP 403: Sonar chat completions are retired for this key ({error_type}); "
                                "use --api agent (the default)", status=status, error_type=error_type)
    if status in (401, 403):
        return AuthError(message)
    if status == 429:
        return RateLimitError(message)
    if status == 402:  # documented for a model the organisation's usage tier cannot use (no body seen)
        return APIError(f"{message}: the account's usage tier cannot use this model; 'pplx models' lists the models",
                        status=status, error_type=error_type)
    return APIError(message, status=status, error_type=error_type)


class _NotConnected(Exception):
    """The request never reached the server (refused, unreachable, DNS, connect timeout)."""


class TLSError(NetworkError):
    """The TLS handshake failed: nothing was sent, and trying again fails alike (exit 5)."""


def tls_failure(base_url: str, exc, trusted: str = None) -> str:
    """One line for a TLS handshake that failed: the host, the reason as OpenSSL gives it,
    and for a certificate that did not verify, the authorities trusted (``trusted``: a file
    and where it was named) or how to trust one's own."""
    import ssl
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    cause = exc
    while cause is not None and not isinstance(cause, ssl.SSLError):
        inner = getattr(cause, "reason", None)
        if inner is None and cause.args and isinstance(cause.args[0], BaseException):
            inner = cause.args[0]
        cause = inner if isinstance(inner, BaseException) and inner is not cause else None
    if isinstance(cause, ssl.SSLCertVerificationError):
        reason = f"certificate verify failed: {cause.verify_message or cause.reason or 'unknown reason'}"
        if trusted:
            return f"TLS handshake with {host} failed: {reason} (nothing was sent; the authorities trusted: {trusted})"
        return (f"TLS handshake with {host} failed: {reason} (nothing was sent); to trust your own certificate "
                "authority, give its PEM file with --cacert FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, SSL_CERT_FILE "
                "or config ca_bundle")
    text = str(cause) if cause is not None else str(exc)
    m = re.search(r"\] ([^(]+?)\s*(\(_ssl\.c:\d+\))?$", text)
    reason = m.group(1) if m else text[:200]
    hint = " (is it an http:// server?)" if "wrong version number" in reason else ""
    return f"TLS handshake with {host} failed: {reason}{hint} (nothing was sent)"


def _never_connected(exc) -> bool:
    """Whether a requests ConnectionError happened before the request reached the server
    (refused, unreachable, DNS, connect timeout), as opposed to after it was sent."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    cause = exc.args[0] if exc.args else None
    reason = getattr(cause, "reason", None)
    return isinstance(reason, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError))


def _reason(exc) -> str:
    """The innermost useful reason of a requests/urllib3 exception, in a few words (never a
    Python tuple or class name: a server that hung up is "Remote end closed connection
    without response", as http.client says it)."""
    text = str(exc)
    m = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
    if m:
        return m.group(1).strip()
    m = re.search(r"(Connection refused|Name or service not known|timed out|Temporary failure in name resolution)", text)
    if m:
        return m.group(1)
    inner = exc
    for _ in range(10):  # requests -> urllib3 -> the socket's or http.client's own exception
        nxt = getattr(inner, "reason", None) if not isinstance(getattr(inner, "reason", None), str) else None
        if nxt is None and inner.args and isinstance(inner.args[-1], BaseException):
            nxt = inner.args[-1]
        if nxt is None or nxt is inner:
            break
        inner = nxt
    words = str(inner) if inner is not exc else ""
    return (words or text)[:200]


