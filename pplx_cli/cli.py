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
from pplx_cli.errors import ExitCode, PplxError, Terminated, UsageError, redact

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


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
            click.echo(f"pplx: error: {redact(e.message)}", err=True)
            ctx.exit(int(e.exit_code))
        except BrokenPipeError:
            _quiet_stdout()
            ctx.exit(int(ExitCode.PIPE_CLOSED))
        except (KeyboardInterrupt, click.Abort):
            ctx.exit(int(ExitCode.INTERRUPTED))
        except Terminated:
            ctx.exit(int(ExitCode.TERMINATED))


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
        return None  # '-': stderr, as without --meta
    directory = os.path.dirname(os.path.abspath(value))
    if os.path.isdir(value) or not os.path.isdir(directory) or not os.access(directory, os.W_OK):
        raise click.BadParameter(f"cannot write {value}")
    return value


def option_bundle(*options):
    """A decorator that applies ``options`` in the order given (as stacked decorators would)."""

    def apply(f):
        for option in reversed(options):
            f = option(f)
        return f

    return apply


#: Options that shape the request (ask, stream, raw).
request_options = option_bundle(
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
)


def stream_mode_option(f):
    return click.option(
        "--stream-mode", type=click.Choice(["full", "concise"]),
        help="Shape of the streamed chunks (chat API). [default: concise]",
    )(f)


#: Options for how the answer and metadata are written (ask, stream, parse, log show).
output_options = option_bundle(
    click.option(
        "--reasoning", type=click.Choice(["hide", "show", "stderr"]), default="hide", show_default=True,
        help="Reasoning: keep it in the metadata only, print it before the answer, or stream it to stderr.",
    ),
    click.option("--sources", is_flag=True, help="After the answer, print the numbered sources on stdout."),
    click.option("--meta", "meta_path", metavar="FILE", callback=_check_meta_path, help="Write the metadata JSON to FILE instead of stderr."),
    click.option("--no-meta", is_flag=True, help="Write no metadata."),
)


#: Options for conversations and the history (ask, stream).
history_options = option_bundle(
    click.option("-c", "--continue", "continue_", is_flag=True, help="Continue the most recent conversation (its messages are sent before the prompt)."),
    click.option("--cid", metavar="ID", help="Continue the conversation with this id (see pplx log)."),
    click.option("--no-log", is_flag=True, help="Do not record this exchange in the history."),
)


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
        try:
            prompt.encode("utf-8")
        except UnicodeEncodeError:  # argv bytes that are not UTF-8 arrive as lone surrogates
            raise UsageError("the PROMPT arguments are not valid UTF-8") from None
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
        reasoning=p["reasoning"], sources=p["sources"], meta=not p["no_meta"], meta_path=p["meta_path"],
    )


def _exchange(mode, words, p):
    from pplx_cli.exchange import Exchange

    return Exchange(mode, read_prompt(words), p, warn=warn, note=note)


# ---- commands ------------------------------------------------------------------------------


@cli.command(context_settings=CONTEXT)
@prompt_argument
@request_options
@output_options
@history_options
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
      pplx ask -c "and why?"
    """
    writer = _writer(p)
    _exchange("ask", prompt, p).ask(writer, raw=raw)


@cli.command(context_settings=CONTEXT)
@prompt_argument
@request_options
@stream_mode_option
@output_options
@history_options
@click.option("--raw", is_flag=True, help="Same as 'pplx raw': dump the event stream byte for byte (not recorded).")
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
        _exchange("raw", prompt, p).raw(sys.stdout.buffer)
    else:
        writer = _writer(p)
        _exchange("stream", prompt, p).stream(writer)


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
    _exchange("raw", prompt, p).raw(sys.stdout.buffer)


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

    writer = _writer(p)
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
        writer.render(PieceStream(iter_sse(chunks)))
    finally:
        if close:
            source.close()


from pplx_cli.logcmd import log  # noqa: E402  (logcmd uses the option bundles above)

cli.add_command(log)


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
