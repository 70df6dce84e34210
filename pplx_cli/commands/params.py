"""A command's click parameters into the typed values of :mod:`pplx_cli.choices`, once.

Nothing below commands/ takes a dict of options: each command calls these with its keyword
arguments and hands the values down.
"""

from pplx_cli.choices import Background, Connection, Conversation, Downloads, Request


def _build(cls, p: dict):
    """``cls`` from the keys of ``p`` that are its fields (lists as tuples: the values are frozen)."""
    values = {}
    for name in cls._fields:
        if name in p and p[name] is not None:
            value = p[name]
            values[name] = tuple(value) if isinstance(value, list) else value
    return cls(**values)


def connection(p: dict) -> Connection:
    """The connection options (the deprecated --insecure said once, unless -q)."""
    if p.get("insecure") and not p.get("quiet"):
        from pplx_cli.output.messages import note_once

        note_once("--insecure is deprecated: it is --allow-http (plain http:// to another machine); "
                  "pplx never skips certificate verification")
    values = _build(Connection, p)
    if p.get("insecure"):
        values = values._replace(allow_http=True)
    return values


def request(p: dict) -> Request:
    """The options that shape a request."""
    return _build(Request, p)


def conversation(p: dict) -> Conversation:
    """-c, --cid, --no-log, --reattach."""
    return _build(Conversation, p)


def background(p: dict) -> Background:
    """--background, --detach."""
    return _build(Background, p)


def downloads(p: dict) -> Downloads:
    """-O/--output-dir, --force (refused without -O: there would be nothing to replace)."""
    if p.get("force") and not p.get("output_dir"):
        from pplx_cli.errors import UsageError

        raise UsageError("--force replaces files saved with -O DIR: give -O")
    return Downloads(directory=p.get("output_dir"), force=bool(p.get("force")))


def exchange(mode: str, prompt: str, p: dict, **kw):
    """An Exchange of ``mode`` for ``prompt``, from a command's keyword arguments (its
    ``attachments``, when present, already read and checked)."""
    from pplx_cli.runs.exchange import Exchange

    return Exchange(mode, prompt, request=request(p), conn=connection(p), conversation=conversation(p),
                    run=background(p), attachments=p.get("attachments") or (), **kw)
