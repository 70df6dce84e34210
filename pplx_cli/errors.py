"""Exit codes and the exceptions that carry them.

Every error pplx reports is a :class:`PplxError`; ``cli.main`` prints its message as one
line (``pplx: error: ...``) and exits with its ``exit_code``.
"""

from enum import IntEnum


class ExitCode(IntEnum):
    """The documented exit statuses (README "Exit status", man page EXIT STATUS)."""

    OK = 0
    API = 1  # API or stream error: HTTP 4xx/5xx not below, error in the stream, bad body
    USAGE = 2  # bad option, argument, prompt or config file
    AUTH = 3  # no key, HTTP 401, HTTP 403
    RATE_LIMITED = 4  # HTTP 429 after the last retry
    NETWORK = 5  # cannot connect, timeout, connection lost mid-stream
    IO_ERROR = 74  # cannot write to stdout (full disk, closed descriptor, I/O error): sysexits EX_IOERR
    HANGUP = 129  # SIGHUP (128 + 1): the terminal went away
    INTERRUPTED = 130  # SIGINT (128 + 2)
    PIPE_CLOSED = 141  # stdout closed by its reader (128 + SIGPIPE)
    TERMINATED = 143  # SIGTERM (128 + 15)


class Terminated(BaseException):
    """SIGTERM arrived: stop like Ctrl-C (what arrived is kept), exit 143."""

    exit_code = ExitCode.TERMINATED
    description = "terminated"


class Hangup(Terminated):
    """SIGHUP arrived (the terminal was closed): stop like SIGTERM, exit 129."""

    exit_code = ExitCode.HANGUP
    description = "hangup: the terminal was closed"


class PplxError(Exception):
    """An error with a one-line message and an exit code."""

    exit_code = ExitCode.API

    def __init__(self, message, *, exit_code=None):
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(PplxError):
    """Bad input found before anything was sent; said with the command's hint line
    (``Try 'pplx ask --help' for help.``), as click's own usage errors are."""

    exit_code = ExitCode.USAGE
    hint = True


class ConfigError(UsageError):
    """A broken setting: the config file, or an environment variable (the message names
    which); exit 2 like a usage error, without the command's hint, which would not help."""

    hint = False


class AuthError(PplxError):
    """No key, or the service refused it."""

    exit_code = ExitCode.AUTH


class RateLimitError(PplxError):
    """HTTP 429 after the last retry."""

    exit_code = ExitCode.RATE_LIMITED


class NetworkError(PplxError):
    """The connection could not be made, timed out, or was lost."""

    exit_code = ExitCode.NETWORK
    timed_out = False  # an idle timeout rather than a dropped connection


class APIError(PplxError):
    """The API answered with an error (HTTP status or error object)."""

    def __init__(self, message, *, status=None, error_type=None, exit_code=None):
        super().__init__(message, exit_code=exit_code)
        self.status = status
        self.error_type = error_type


class OfficialError(PplxError):
    """A failure of a command in the vocabulary of Perplexity's own CLI (``pplx search web``,
    ``pplx content``, ``pplx auth``): said as one JSON object on stderr,
    ``{"error": {"code", "message", "command", "hint"?}}``, with ``code`` from that CLI's list
    (see :mod:`pplx_cli.dialects.official`); exit 1 unless a signal ended the run."""

    def __init__(self, code: str, message: str, *, hint: str = None, exit_code=None):
        super().__init__(message, exit_code=exit_code)
        self.code = code
        self.hint = hint


class NotSent(Exception):
    """pplx batch stopped before this request was sent: nothing is recorded, a re-run sends it."""


class Silent(PplxError):
    """The output has said what went wrong (records, a warning, the metadata): exit with
    ``exit_code`` and no further line."""

    def __init__(self, exit_code):
        super().__init__("", exit_code=exit_code)


class DryRun(Silent):
    """--dry-run: the request was printed instead of sent (exit 0, nothing recorded)."""

    def __init__(self):
        super().__init__(ExitCode.OK)


class WriteError(PplxError):
    """Standard output cannot be written (not a closed pipe: that is BrokenPipeError)."""

    exit_code = ExitCode.IO_ERROR


class AgentAPIRequired(APIError):
    """HTTP 403 saying Sonar chat completions are retired for this key."""


class StreamError(PplxError):
    """The response body is not a well-formed stream."""


class StreamIncomplete(StreamError):
    """The stream ended before its final event."""

    def __init__(self, message, *, events=0):
        super().__init__(message)
        self.events = events


def outcome(exc: BaseException):
    """The exit status and a short description of an exception that ends a run."""
    if isinstance(exc, PplxError):
        return int(exc.exit_code), exc.message
    if isinstance(exc, BrokenPipeError):
        return int(ExitCode.PIPE_CLOSED), "stdout closed"
    if isinstance(exc, Terminated):
        return int(exc.exit_code), exc.description
    if isinstance(exc, KeyboardInterrupt):
        return int(ExitCode.INTERRUPTED), "interrupted"
    return int(ExitCode.API), str(exc) or type(exc).__name__


#: Secrets in use (the API key): no message pplx prints may show them.
_SECRETS = []
#: The secrets as registered (without the variants derived from them): what a stream holds
#: back the start of (see StreamRedactor).
_WHOLE = []
#: The first characters of the secrets: a text that has none of them holds no secret.
_FIRSTS = []


def register_secret(secret: str):
    """Remember a secret so that :func:`redact` hides it (too short a string could not be
    hidden without mangling ordinary words, and is no real key)."""
    if secret and len(secret) >= 8 and secret not in _SECRETS:
        _SECRETS.append(secret)
        _WHOLE.append(secret)
        rest = secret[len("pplx-"):] if secret.startswith("pplx-") else ""
        if len(rest) >= 12 and rest not in _SECRETS:  # the key without its prefix is the key all the same
            _SECRETS.append(rest)
        _FIRSTS[:] = sorted({s[0] for s in _SECRETS})


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``[redacted]``.

    Also a start of a secret at least :data:`PARTIAL` characters long, as a text truncated
    somewhere holds it: callers redact before they cut, and this catches one that did not.
    """
    for secret in _SECRETS:
        if secret[0] not in text:
            continue  # the usual case, found by one scan for one character
        if secret in text:
            text = text.replace(secret, "[redacted]")
        head = secret[:PARTIAL]
        if len(secret) > PARTIAL and head in text:
            text = _redact_starts(text, secret)
    return text


#: How much of the start of a secret counts as the secret when a text was cut inside it.
PARTIAL = 12


def _redact_starts(text: str, secret: str) -> str:
    out, at, head = [], 0, secret[:PARTIAL]
    while True:
        found = text.find(head, at)
        if found < 0:
            out.append(text[at:])
            return "".join(out)
        end = found + PARTIAL
        while end < len(text) and end - found < len(secret) and text[end] == secret[end - found]:
            end += 1
        out.append(text[at:found] + "[redacted]")
        at = end


class StreamRedactor:
    """:func:`redact` over text that arrives in pieces (an answer's deltas): the end of a
    piece that could be the start of a secret is held back until the next piece shows
    whether the secret follows, so a key split across deltas is still found whole."""

    def __init__(self):
        self.held = ""

    def feed(self, text: str) -> str:
        """What can be written now, redacted."""
        if self.held:
            text = self.held + text
        else:
            for first in _FIRSTS:
                if first in text:
                    break
            else:
                return text  # no secret can start here: nothing to redact or hold back (most deltas)
        cut = _possible_start(text)
        self.held = text[cut:]
        return redact(text[:cut])

    def flush(self) -> str:
        """What is held back, at the end of the text."""
        held, self.held = self.held, ""
        return redact(held)


def _possible_start(text: str) -> int:
    """Where the longest end of ``text`` that is a proper start of a secret as registered
    begins (len(text) when none is): a delta ending in "p" waits for the next one."""
    cut = len(text)
    for secret in _WHOLE:
        first = secret[0]
        at = text.find(first, max(0, len(text) - len(secret) + 1))
        while at >= 0:
            if secret.startswith(text[at:]):
                cut = min(cut, at)
                break
            at = text.find(first, at + 1)
    return cut


def redacted(secret: str) -> str:
    """How a key is shown: its first 5 characters and a mark."""
    return (secret[:5] if len(secret) > 12 else "") + "…[redacted]"
