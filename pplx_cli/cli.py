"""The click commands: options, reading the prompt, choosing writers, errors -> exit codes.

stdout carries only the answer; diagnostics and metadata go to stderr (or ``--meta FILE``).
requests and the parser are imported only when a command needs them, so ``--help`` and
``--version`` start fast.
"""

import os
import signal
import sys

import click

from pplx_cli import __version__
from pplx_cli.errors import (
    AgentAPIRequired,
    ExitCode,
    NetworkError,
    PplxError,
    StreamError,
    StreamIncomplete,
    UsageError,
)

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class Terminated(BaseException):
    """SIGTERM arrived: stop like Ctrl-C, exit 143."""


def _on_sigterm(signum, frame):
    raise Terminated()


def warn(message: str):
    """One warning line on stderr."""
    click.echo(f"pplx: warning: {message}", err=True)


def note(message: str):
    """One note line on stderr."""
    click.echo(f"pplx: note: {message}", err=True)


def _quiet_stdout():
    """After stdout's reader went away: point stdout at /dev/null so exit flushes quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except Exception:  # no real file descriptor (e.g. under a test runner): nothing to quiet
        pass


class PplxGroup(click.Group):
    """Maps pplx's errors, Ctrl-C, SIGTERM and closed pipes to exit codes; never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except PplxError as e:
            secret = getattr(e, "secret", "") or _KEY_SEEN[0]
            message = e.message.replace(secret, "[redacted]") if secret else e.message
            click.echo(f"pplx: error: {message}", err=True)
            ctx.exit(int(e.exit_code))
        except BrokenPipeError:
            _quiet_stdout()
            ctx.exit(int(ExitCode.PIPE_CLOSED))
        except (KeyboardInterrupt, click.Abort):
            ctx.exit(int(ExitCode.INTERRUPTED))
        except Terminated:
            ctx.exit(int(ExitCode.TERMINATED))


#: The key in use, so that no error message can show it.
_KEY_SEEN = [""]
#: The idle timeout in use, for messages.
_TIMEOUT = [None]


@click.group(cls=PplxGroup, context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="pplx", message="%(prog)s %(version)s")
def cli():
    """Perplexity's answers in a terminal or a script.

    The answer goes to stdout; metadata (sources, usage, cost) goes to stderr as one JSON
    object. Set your key with PPLX_API_KEY (or PERPLEXITY_API_KEY).

    \b
    Examples:
      pplx ask "What is a qubit?"
      pplx stream "Explain SSE in two sentences" --sources
      git diff | pplx ask "review this" 2>/dev/null
      pplx raw "hello" > hello.sse && pplx parse hello.sse
    """


# ---- option bundles ----------------------------------------------------------------------


def _check_date(ctx, param, value):
    if value is None:
        return None
    from pplx_cli.request import parse_date

    try:
        return parse_date(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


def _check_overrides(ctx, param, value):
    from pplx_cli.request import parse_override

    out = []
    for key, raw in value:
        try:
            out.append(parse_override(key, raw))
        except ValueError as e:
            raise click.BadParameter(str(e)) from None
    return out


def _check_base_url(ctx, param, value):
    if value is None:
        return None
    from pplx_cli.config import check_base_url

    try:
        return check_base_url(value)
    except UsageError as e:
        raise click.BadParameter(e.message) from None


def _load_schema(ctx, param, value):
    if value is None:
        return None
    import json

    try:
        with open(value, "rb") as f:
            schema = json.loads(f.read())
    except OSError as e:
        raise click.BadParameter(f"cannot read {value}: {e.strerror}") from None
    except ValueError as e:
        raise click.BadParameter(f"{value} is not valid JSON: {e}") from None
    if not isinstance(schema, dict):
        raise click.BadParameter(f"{value} must hold a JSON object (a JSON schema)")
    return schema


def _check_meta_path(ctx, param, value):
    if value is None or value == "-":
        return value
    directory = os.path.dirname(os.path.abspath(value))
    if os.path.isdir(value) or not os.path.isdir(directory) or not os.access(directory, os.W_OK):
        raise click.BadParameter(f"cannot write {value}")
    return value


def request_options(f):
    """Options that shape the request (ask, stream, raw)."""
    options = [
        click.option("-m", "--model", help="Model name, e.g. sonar, sonar-pro, sonar-reasoning-pro. [default: sonar]"),
        click.option("-s", "--system", help="System prompt (Agent API: instructions)."),
        click.option("--max-tokens", type=click.IntRange(min=1), help="Most tokens in the answer."),
        click.option("--temperature", type=click.FloatRange(0, 2), help="Sampling temperature, 0 to 2."),
        click.option("--top-p", type=click.FloatRange(0, 1), help="Nucleus sampling, 0 to 1."),
        click.option("--search-mode", type=click.Choice(["web", "academic", "sec"]), help="Which index to search."),
        click.option("--domain", "domains", multiple=True, metavar="DOMAIN", help="Search only this domain (repeatable)."),
        click.option("-D", "--exclude-domain", "excluded", multiple=True, metavar="DOMAIN", help="Never search this domain (repeatable)."),
        click.option("--recency", type=click.Choice(["hour", "day", "week", "month", "year"]), help="Only results this recent."),
        click.option("--after", callback=_check_date, metavar="DATE", help="Only results published after DATE (YYYY-MM-DD or M/D/YYYY)."),
        click.option("--before", callback=_check_date, metavar="DATE", help="Only results published before DATE."),
        click.option("--context-size", type=click.Choice(["low", "medium", "high"]), help="How much search context to use."),
        click.option("--images", is_flag=True, help="Ask for images in the metadata."),
        click.option("--related", is_flag=True, help="Ask for related questions in the metadata."),
        click.option("--no-search", is_flag=True, help="Answer without searching the web."),
        click.option("--reasoning-effort", type=click.Choice(["minimal", "low", "medium", "high"]), help="Reasoning effort."),
        click.option("--json-schema", metavar="FILE", callback=_load_schema, help="Answer as JSON matching the schema in FILE."),
        click.option(
            "-o", "--option", "overrides", nargs=2, multiple=True, metavar="KEY VALUE", callback=_check_overrides,
            help="Set any request field; a dotted KEY nests; VALUE is JSON if it parses, else a string (repeatable).",
        ),
        click.option("--api", type=click.Choice(["chat", "agent", "auto"]), help="Which API: chat completions, the Agent API, or auto (chat, falling back to agent). [env: PPLX_API; default: auto]"),
        click.option("--preset", metavar="NAME", help="Agent API preset (fast, low, medium, high, ...); implies the Agent API."),
        click.option("--base-url", callback=_check_base_url, metavar="URL", help="API base URL. [env: PPLX_BASE_URL; default: https://api.perplexity.ai]"),
        click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS", help="Give up when no bytes arrive for this long (connect, and between reads). [default: 300]"),
        click.option("--retries", type=click.IntRange(min=0), metavar="N", help="Retries after a connection failure, 429 or 5xx before any output. [default: 2]"),
        click.option("-v", "--verbose", is_flag=True, help="Show the request and response headers on stderr (the key redacted)."),
        click.option("-q", "--quiet", is_flag=True, help="No retry and fallback notes on stderr."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def stream_mode_option(f):
    return click.option(
        "--stream-mode", type=click.Choice(["full", "concise"]),
        help="Shape of the streamed chunks (chat API). [default: concise]",
    )(f)


def output_options(f):
    """Options for how the answer and metadata are written (ask, stream, parse)."""
    options = [
        click.option(
            "--reasoning", type=click.Choice(["hide", "show", "stderr"]), default="hide", show_default=True,
            help="Reasoning: keep it in the metadata only, print it before the answer, or stream it to stderr.",
        ),
        click.option("--sources", is_flag=True, help="After the answer, print the numbered sources on stdout."),
        click.option("--meta", "meta_path", metavar="FILE", callback=_check_meta_path, help="Write the metadata JSON to FILE instead of stderr."),
        click.option("--no-meta", is_flag=True, help="Write no metadata."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


prompt_argument = click.argument("prompt", nargs=-1)


# ---- reading the prompt ------------------------------------------------------------------


def _read_stdin() -> str:
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"the prompt on stdin is not valid UTF-8 (byte {e.start})") from None


def read_prompt(words) -> str:
    """PROMPT words joined by spaces; ``-`` or no words with piped stdin: stdin; words and piped stdin: both.

    A terminal on stdin is never read. An empty prompt is a usage error.
    """
    piped = not sys.stdin.isatty() if sys.stdin else False
    if list(words) == ["-"]:
        if not piped:
            raise UsageError("'-' reads the prompt from stdin, but stdin is a terminal")
        prompt = _read_stdin()
    elif not words:
        prompt = _read_stdin() if piped else ""
    else:
        prompt = " ".join(words)
        if piped:
            extra = _read_stdin()
            if extra.strip():
                prompt = f"{prompt}\n\n{extra}"
    if not prompt.strip():
        raise UsageError("no prompt: give it as arguments or on stdin (see pplx ask --help)")
    return prompt


# ---- running an exchange -----------------------------------------------------------------


def _writer(p):
    from pplx_cli.output import AnswerWriter

    return AnswerWriter(
        sys.stdout.buffer, sys.stderr.buffer,
        reasoning=p["reasoning"], sources=p["sources"],
        meta=not p["no_meta"], meta_path=p["meta_path"], secret=_KEY_SEEN[0],
    )


def _request_options(p, settings):
    from pplx_cli.request import RequestOptions

    domains = list(p["domains"]) + ["-" + d.lstrip("-") for d in p["excluded"]]
    return RequestOptions(
        model=settings.get("model"),
        system=p["system"], max_tokens=p["max_tokens"], temperature=p["temperature"], top_p=p["top_p"],
        search_mode=p["search_mode"], domains=domains, recency=p["recency"], after=p["after"],
        before=p["before"], context_size=p["context_size"], images=p["images"], related=p["related"],
        no_search=p["no_search"], reasoning_effort=p["reasoning_effort"], json_schema=p["json_schema"],
        preset=p["preset"], stream_mode=settings.get("stream_mode"), overrides=p["overrides"],
    )


def _send(mode, words, p):
    """Send the request for ``mode`` (ask, stream, raw); return (response, api name)."""
    from pplx_cli.config import Settings

    if p.get("meta_path") == "-":
        p["meta_path"] = None
    prompt = read_prompt(words)
    settings = Settings(
        {"model": p["model"], "base_url": p["base_url"], "timeout": p["timeout"], "retries": p["retries"],
         "stream_mode": p.get("stream_mode"), "api": p["api"]},
        warn=warn,
    )
    opts = _request_options(p, settings)
    key = settings.api_key()
    _KEY_SEEN[0] = key
    base_url = settings.get("base_url")
    api_setting = "agent" if p["preset"] else settings.get("api")

    from pplx_cli.client import Client
    from pplx_cli.config import read_api_choice, remember_api_choice
    from pplx_cli.request import API_PATHS, agent_unmapped, build_body

    _TIMEOUT[0] = float(settings.get("timeout"))
    client = Client(
        base_url=base_url, api_key=key, timeout=_TIMEOUT[0], retries=int(settings.get("retries")),
        verbose=p["verbose"], quiet=p["quiet"], err=sys.stderr,
    )
    api = api_setting
    if api == "auto":
        api = read_api_choice(settings.env, base_url, key) or "chat"
    stream = mode != "ask"

    def post(api):
        if api == "agent" and not p["quiet"]:
            for name in agent_unmapped(opts):
                note(f"{name} has no Agent API equivalent; not sent")
        body = build_body(api, prompt, opts, stream=stream)
        return client.post(API_PATHS[api], body, stream=stream)

    try:
        return post(api), api
    except AgentAPIRequired as e:
        if api_setting != "auto":
            e.message += " (try --api agent)"
            raise
    if not p["quiet"]:
        note("Sonar chat completions are not available for this key; using the Agent API")
    remember_api_choice(settings.env, base_url, key, "agent")
    return post("agent"), "agent"


def _stream_pieces(stream):
    """The pieces of a live stream; an early end is a lost connection (exit 5)."""
    try:
        yield from stream
    except StreamIncomplete as e:
        raise NetworkError(f"connection lost after {e.events} events") from None
    except NetworkError as e:
        if e.timed_out:
            timeout = f"{_TIMEOUT[0]:g}s" if _TIMEOUT[0] else "the timeout"
            raise NetworkError(f"timed out after {stream.events} events: no data for {timeout}") from None
        raise NetworkError(f"connection lost after {stream.events} events") from None


def run_stream(words, p):
    """``pplx stream``: print each text delta as its event completes."""
    from pplx_cli.client import check_stream_type, iter_body
    from pplx_cli.pieces import PieceStream
    from pplx_cli.sse import iter_sse

    response, api = _send("stream", words, p)
    check_stream_type(response)
    stream = PieceStream(iter_sse(iter_body(response)), api=api)
    _writer(p).render(_stream_pieces(stream))


def run_raw(words, p):
    """``pplx raw``: the body byte for byte, flushed per read."""
    from pplx_cli.client import iter_body

    response, _ = _send("raw", words, p)
    out = sys.stdout.buffer
    for chunk in iter_body(response):
        out.write(chunk)
        out.flush()


def run_ask(words, p, raw):
    """``pplx ask``: the complete answer, or with ``raw`` the JSON body as received."""
    import json

    from pplx_cli.client import read_body
    from pplx_cli.pieces import body_pieces

    response, api = _send("ask", words, p)
    body = read_body(response)
    if raw:
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
        return
    try:
        obj = json.loads(body)
    except ValueError:
        from pplx_cli.client import summarise_body

        raise StreamError(f"the response is not JSON: {summarise_body(body, response.headers.get('Content-Type', ''))}") from None
    _writer(p).render(body_pieces(obj, api))


# ---- commands ------------------------------------------------------------------------------


@cli.command(context_settings=CONTEXT)
@prompt_argument
@request_options
@output_options
@click.option("--raw", is_flag=True, help="Print the JSON response body as received.")
def ask(prompt, raw, **p):
    """Ask and print the complete answer.

    PROMPT words are joined by spaces. With '-', or no PROMPT and stdin not a terminal,
    the prompt is read from stdin; PROMPT and piped stdin are joined by a blank line.

    \b
    Examples:
      pplx ask "What is the capital of Australia?"
      pplx ask -m sonar-pro --recency week "AI news" --sources
      git diff | pplx ask "review this" --meta meta.json
      pplx ask --json-schema person.json "Who founded Perplexity?" | jq .
    """
    run_ask(prompt, p, raw)


@cli.command(context_settings=CONTEXT)
@prompt_argument
@request_options
@stream_mode_option
@output_options
@click.option("--raw", is_flag=True, help="Same as 'pplx raw': dump the event stream byte for byte.")
def stream(prompt, raw, **p):
    """Stream the answer as it is generated.

    Each text delta is written and flushed the moment its event is complete, to a
    terminal or a pipe alike.

    \b
    Examples:
      pplx stream "Explain quantum computing simply"
      pplx stream -m sonar-reasoning-pro --reasoning stderr "Is 1001 prime?"
      pplx stream "hello" 2>meta.json | tee answer.txt
    """
    if raw:
        for name in ("reasoning", "sources", "meta_path", "no_meta"):
            p.pop(name)
        run_raw(prompt, p)
    else:
        run_stream(prompt, p)


@cli.command(context_settings=CONTEXT)
@prompt_argument
@request_options
@stream_mode_option
def raw(prompt, **p):
    """Dump the server-sent event stream byte for byte.

    No decoding and no reframing: each read is written and flushed as it arrives, so
    'pplx raw Q | pplx parse' prints what 'pplx stream Q' prints.

    \b
    Examples:
      pplx raw "hello" > hello.sse
      pplx raw --stream-mode full "hello" | head -c 400
    """
    run_raw(prompt, p)


@cli.command(context_settings=CONTEXT)
@click.argument("file", required=False, metavar="[FILE]")
@output_options
def parse(file, **p):
    """Render a captured event stream offline, exactly as 'pplx stream' would.

    FILE is what 'pplx raw' printed; '-' or no FILE reads stdin. Either API's stream is
    recognised from its first event. Needs no key and no network.

    \b
    Examples:
      pplx parse examples/quantum.sse
      pplx raw "hello" | pplx parse --sources
    """
    from pplx_cli.pieces import PieceStream
    from pplx_cli.sse import iter_sse

    if p["meta_path"] == "-":
        p["meta_path"] = None
    if file in (None, "-"):
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("no FILE given and stdin is a terminal (see pplx parse --help)")
        source = sys.stdin.buffer
        close = False
    else:
        try:
            source = open(file, "rb")
        except OSError as e:
            raise UsageError(f"cannot read {file}: {e.strerror}") from None
        close = True
    try:
        read = getattr(source, "read1", source.read)
        chunks = iter(lambda: read(65536), b"")
        _writer(p).render(PieceStream(iter_sse(chunks)))
    finally:
        if close:
            source.close()


def main(argv=None):
    """The console script: run the CLI and exit with its status."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        code = cli.main(args=argv, prog_name="pplx", standalone_mode=False)
    except click.exceptions.Exit as e:
        code = e.exit_code
    except click.ClickException as e:
        e.show()
        code = ExitCode.USAGE
    except click.Abort:
        code = ExitCode.INTERRUPTED
    except BrokenPipeError:
        _quiet_stdout()
        code = ExitCode.PIPE_CLOSED
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        _quiet_stdout()
        code = code or ExitCode.PIPE_CLOSED
    sys.exit(int(code or 0))
