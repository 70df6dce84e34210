"""A batch's input, local or remote: FILE (or stdin) read, and each line checked as ``ask``
would check it, attachments included, before anything is sent."""

import json
import sys

import click

from pplx_cli.errors import PplxError, UsageError
from pplx_cli.commands.options import request_options


def read_input(path) -> list:
    """FILE's lines (stdin for none or '-') as batch.Line or batch.Invalid; UsageError if there are none."""
    from pplx_cli.runs.batch import read_lines

    try:
        if path is None or path == "-":
            if path is None and (sys.stdin is None or sys.stdin.isatty()):
                raise UsageError("no input: give FILE or pipe the prompts on stdin")
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as f:
                data = f.read()
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror}") from None
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        raise UsageError(f"{path or 'stdin'} is not valid UTF-8 (byte {e.start})") from None
    lines = read_lines(text)
    if not lines:
        raise UsageError(f"{path or 'stdin'} holds no prompt")
    return lines


def _request_params() -> dict:
    """The request options a JSON line may set, by every name it may use for them."""
    @request_options
    def f(**p):
        pass

    names = {}
    for param in f.__click_params__:
        names[param.name] = param
        for opt in param.opts + param.secondary_opts:
            if opt.startswith("--"):
                names[opt[2:].replace("-", "_")] = param
    for connection in ("base_url", "timeout", "retries", "allow_http", "insecure", "cacert", "verbose", "quiet"):
        names.pop(connection, None)  # one connection for the whole batch: from the command line
    return names


def check_lines(lines, p) -> list:
    """``[(line, its options as the command's keyword arguments or None, why not)]``: each
    line checked as ask would check it, before anything is sent."""
    from pplx_cli.runs.attachments import read_attachments
    from pplx_cli.runs.batch import Invalid

    params = _request_params()
    ctx = click.Context(click.Command("batch"))
    out = []
    for line in lines:
        if isinstance(line, Invalid):
            out.append((line, None, line.message))
            continue
        try:
            mine = dict(p)
            for key, value in line.options.items():
                param = params.get(key)
                if param is None:
                    from pplx_cli.store.config import did_you_mean

                    raise UsageError(f"unknown option {key!r}{did_you_mean(key, params)}")
                if param.name == "overrides" and isinstance(value, dict):  # {"key": value} for -o key value
                    value = [[k, v if isinstance(v, str) else json.dumps(v)] for k, v in value.items()]
                elif param.multiple and not isinstance(value, list):
                    value = [value]
                if param.name != "overrides" and not all(
                        isinstance(v, (str, int, float, bool)) for v in (value if param.multiple else [value])):
                    raise UsageError(f"{key}: not a value this option takes ({json.dumps(value)[:60]})")
                try:
                    value = param.type_cast_value(ctx, value)
                    if param.callback is not None:
                        value = param.callback(ctx, param, value)
                except click.BadParameter as e:
                    raise UsageError(f"{key}: {e.message}") from None
                except (Exception, RecursionError):
                    raise UsageError(f"{key}: not a value this option takes ({json.dumps(value)[:60]})") from None
                mine[param.name] = value
            own = "attach" in line.options
            if own:
                if "-" in mine["attach"]:
                    raise UsageError("attach: '-' (stdin) is only for -a on the command line")
                mine["attachments"] = read_attachments(mine["attach"])
            _validate(line.prompt, mine)
            if own:
                mine["attachments"] = None
            out.append((line, mine, None))
        except (click.ClickException, PplxError) as e:
            out.append((line, None, e.format_message() if isinstance(e, click.ClickException) else e.message))
        except (Exception, RecursionError) as e:  # a value of a type the option cannot take
            out.append((line, None, f"a value pplx cannot use ({type(e).__name__})"))
    return out


def _validate(prompt, p):
    """What ask would refuse before sending: the options and the request they build."""
    from pplx_cli.commands.params import exchange as make_exchange
    from pplx_cli.dialects.request import build_body

    exchange = make_exchange("ask", prompt, dict(p, no_log=True), warn=lambda m: None, note=lambda m: None)
    build_body("chat" if exchange.api_setting == "chat" else "agent", prompt, exchange.opts, stream=False)


def read_shared_attachments(p: dict, path) -> list:
    """The attachments of the command line's -a, read once for every line; '-' is stdin, so
    the prompts must then come from FILE."""
    from pplx_cli.runs.attachments import read_attachments

    specs = p.get("attach") or ()
    if "-" in specs and path in (None, "-"):
        raise UsageError("'-a -' reads the attachment from stdin, which holds the prompts: give them as FILE")
    return read_attachments(specs, stdin=sys.stdin.buffer if "-" in specs else None)


def with_attachments(p: dict) -> dict:
    """A checked line's options with its attachments read (a line's own are read as it is sent)."""
    if p.get("attachments") is not None:
        return p
    from pplx_cli.runs.attachments import read_attachments

    return dict(p, attachments=read_attachments(p["attach"]))
