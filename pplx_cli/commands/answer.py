"""``pplx ask``, ``pplx stream`` and ``pplx raw``: one question, one answer."""

import sys

import click

from pplx_cli.commands import make_writer
from pplx_cli.output.messages import note, warn
from pplx_cli.commands.options import (
    CONTEXT,
    background_options,
    files_options,
    history_options,
    output_options,
    prompt_argument,
    request_options,
    stream_mode_option,
    verify_option,
)
from pplx_cli.commands.prompt import read_prompt


def _exchange(mode, words, p):
    from pplx_cli.commands.params import downloads, exchange as make_exchange

    _check_output_options(mode, p)
    _note_misread_continuation(words, p)
    prompt, p = _prompt_and_attachments(words, p)
    from pplx_cli.output.streams import let_go_of_stdout

    exchange = make_exchange(mode, prompt, p, warn=warn, note=note, err=sys.stderr,
                             downloads=downloads(p) if mode != "raw" else None)
    exchange.answered = let_go_of_stdout  # the reader has the answer before the history is written
    if p.get("dry_run"):
        from pplx_cli.output.stdio import stdout

        exchange.dry_run_out = stdout()
    return exchange


def _prompt_and_attachments(words, p):
    """The prompt, and the attachments read and checked; with '-a -' the prompt is the
    arguments and stdin is the attachment."""
    from pplx_cli.errors import UsageError

    specs = p.get("attach") or ()
    if not specs:  # no -a: the attachments' module (hashlib, mimetypes) is not needed
        return _prompt(words), dict(p, attachments=[])
    from pplx_cli.runs.attachments import read_attachments

    if "-" in specs:
        if not words or list(words) == ["-"] or sys.stdin is None or sys.stdin.isatty():
            raise UsageError("'-a -' reads the attachment from piped stdin: give the prompt as arguments")
        prompt = read_prompt(words, stdin=False)
        return prompt, dict(p, attachments=read_attachments(specs, stdin=sys.stdin.buffer))
    return _prompt(words), dict(p, attachments=read_attachments(specs))


def _prompt(words) -> str:
    """The prompt from the words and stdin; an empty one names the words read as options."""
    from pplx_cli.errors import UsageError

    try:
        return read_prompt(words)
    except UsageError as e:
        taken = _options_given()
        if e.message.startswith("no prompt") and taken:  # 'pplx ask -c -v' meant as words, say
            raise UsageError(f"{e.message}; these words were read as options: {', '.join(taken)} "
                             "(quote the prompt, or put -- before it)") from None
        raise


#: Options that make a follow-up: typed among the prompt's words, they are easy to miss.
CONTINUATION = ("-c", "--continue", "--cid")


def _note_misread_continuation(words, p):
    """'pplx ask what does grep -c do' continues the last conversation with "what does grep
    do": when a continuation option comes after prompt words, say how it was read."""
    if not words or not (p.get("continue_") or p.get("cid")) or p.get("quiet"):
        return
    argv = sys.argv[1:]
    stop = argv.index("--") if "--" in argv else len(argv)
    first = next((i for i, arg in enumerate(argv[:stop]) if arg == words[0]), None)
    late = [arg for arg in argv[first + 1:stop] if arg.split("=", 1)[0] in CONTINUATION] if first is not None else []
    if late:
        meant, pending = [], list(words)
        for arg in argv[first:stop]:  # the words as typed, the option where it stood
            if pending and arg == pending[0]:
                meant.append(pending.pop(0))
            elif arg.split("=", 1)[0] in CONTINUATION:
                meant.append(arg)
        note(f"{late[0]} after the prompt's words was read as an option (continue a conversation); "
             f"if it is part of the question, put -- before the prompt: pplx {_command()} -- {' '.join(meant)}")


def _command() -> str:
    ctx = click.get_current_context(silent=True)
    return ctx.info_name if ctx is not None else "ask"


def _options_given() -> list:
    """The options given on the command line, as typed (for the empty-prompt message)."""
    from click.core import ParameterSource

    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return []
    out = []
    for param in ctx.command.params:
        if isinstance(param, click.Option) and ctx.get_parameter_source(param.name) == ParameterSource.COMMANDLINE:
            out.append(min((o for o in param.opts), key=len))
    return out


#: Output options and their defaults: given with --raw (which prints the body as received) they would do nothing.
OUTPUT_DEFAULTS = {"reasoning": None, "sources": None, "citations": None, "meta_path": None, "no_meta": False,
                   "meta_style": None, "verify": False, "output_dir": None}


def _check_output_options(mode, p):
    """Refuse options that contradict each other or would be silently ignored."""
    from pplx_cli.errors import UsageError

    if p.get("meta_path") and p.get("no_meta"):
        raise UsageError("--meta FILE and --no-meta contradict each other")
    if p.get("reattach") and not (p.get("continue_") or p.get("cid")):
        raise UsageError("--reattach sends a conversation's attachments again: it needs -c or --cid")
    if p.get("verify") and p.get("detach"):
        raise UsageError("--verify checks the answer, and --detach exits before there is one (pplx jobs wait --verify does)")
    if p.get("detach") and not p.get("background"):
        raise UsageError("--detach needs --background (a run that is not in the background ends with the connection)")
    if p.get("background") and (mode == "raw" or p.get("raw")):
        raise UsageError("--background resumes and polls the run, --raw prints the bytes as received: not both")
    from pplx_cli.commands.params import downloads

    downloads(p)  # --force without -O is refused
    if p.get("output_dir") and p.get("detach"):
        raise UsageError("--detach ends before the run shares its files: 'pplx jobs files ID -O DIR' saves them later")
    if mode == "raw" or p.get("raw"):
        given = [name for name, default in OUTPUT_DEFAULTS.items() if name in p and p[name] != default]
        if given:
            flags = ", ".join("--" + {"meta_path": "meta"}.get(n, n).replace("_", "-") for n in given)
            raise UsageError(f"--raw prints the response as received; {flags} would do nothing with it")


@click.command(context_settings=CONTEXT)
@prompt_argument
@request_options
@output_options
@files_options
@history_options
@background_options
@verify_option
@click.option("--raw", is_flag=True, help="Print the JSON response body as received.")
def ask(prompt, raw, **p):
    """Ask and print the complete answer.

    PROMPT words are joined by spaces. With '-', or no PROMPT and stdin not a terminal,
    the prompt is read from stdin; PROMPT and piped stdin are joined by a blank line.
    Without -m or --effort the Agent API answers with effort 'fast': a search-grounded
    answer at the lowest cost and latency it offers.

    \b
    Examples:
      pplx ask "What is the capital of Australia?"
      pplx ask --effort low --recency week "AI news" --sources
      pplx ask -m anthropic/claude-sonnet-4-6 "Explain SSE" --citations strip
      git diff | pplx ask "review this" --meta meta.json
      pplx ask --json-schema person.json "Who founded Perplexity?" | jq .
      pplx ask --code -a data.csv "chart column b as a PNG" -O charts
      pplx ask --images --image-format png "Golden Gate Bridge at dusk" --sources
      pplx ask -c "and why?"
      pplx ask -- what does grep -c do     # '--': dash words are prompt, not options
    """
    exchange = _exchange("ask", prompt, dict(p, raw=raw))
    writer = make_writer(p, exchange.settings)
    exchange.ask(writer, raw=raw)
    if p.get("verify"):
        _verify(exchange, writer, p)


@click.command(context_settings=CONTEXT)
@prompt_argument
@request_options
@stream_mode_option
@output_options
@files_options
@history_options
@background_options
@verify_option
@click.option("--raw", is_flag=True, help="Same as 'pplx raw': dump the event stream byte for byte (not recorded).")
def stream(prompt, raw, **p):
    """Stream the answer as it is generated.

    Each text delta is written and flushed the moment its event is complete, to a
    terminal or a pipe alike.

    \b
    Examples:
      pplx stream "Explain quantum computing simply"
      pplx stream --effort medium --reasoning stderr "State of fusion power"
      pplx stream --code --reasoning show "the 20th Fibonacci number, computed"
      pplx stream "hello" 2>meta.json | tee answer.txt
    """
    if raw:
        _exchange("raw", prompt, p).raw(sys.stdout.buffer)
    else:
        exchange = _exchange("stream", prompt, p)
        writer = make_writer(p, exchange.settings)
        exchange.stream(writer)
        if p.get("verify"):
            _verify(exchange, writer, p)


def _verify(exchange, writer, p):
    """--verify: the answer just printed checked as 'pplx verify' checks it, the report on
    stderr (stdout is the answer's); the exit status is verify's."""
    from pplx_cli.commands.verify import check_answer

    recorded = {"id": exchange.exchange_id, "cid": exchange.cid} if exchange.exchange_id is not None else None
    check_answer(writer.answer(), writer.metadata(), p=dict(p, no_log=not exchange.log), exchange=recorded,
                 label=f"verify {exchange.exchange_id}" if recorded else f"verify ({exchange.mode})", to_stderr=True)


@click.command(context_settings=CONTEXT)
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
      pplx raw --api chat --stream-mode full "hello" | head -c 400
    """
    _exchange("raw", prompt, p).raw(sys.stdout.buffer)
