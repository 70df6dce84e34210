"""``pplx auth login|status|logout``: the key where Perplexity's own CLI keeps it
(``credentials.json``), which every pplx command reads last and that CLI's verbs read after
PERPLEXITY_API_KEY. ``login`` is that CLI's; ``status`` and ``logout`` are pplx's. All three
keep that CLI's contract (:mod:`pplx_cli.commands.contract`): one JSON object on stdout, or
one error object on stderr and exit 1."""

import os
import sys

import click

from pplx_cli.commands.contract import KEY_VARIABLE, ContractCommand, ContractGroup
from pplx_cli.commands.options import CONTEXT
from pplx_cli.errors import OfficialError
from pplx_cli.output.tty import isatty as _isatty

PROMPT = "Perplexity API key: "


@click.group(cls=ContractGroup, context_settings=CONTEXT)
def auth():
    """Store, check or remove the API key (Perplexity CLI's auth).

    The key file is Perplexity's CLI's credentials.json, which both programs read; output as
    that CLI's (pplx help auth).
    """


@auth.command(cls=ContractCommand, context_settings=CONTEXT)
def login():
    """Store a key, read at a hidden prompt, once the service has accepted it.

    Only on a terminal (in a script or an agent, set PERPLEXITY_API_KEY instead). The key is
    checked with one request that costs nothing (GET /v1/models), then written to
    Perplexity's CLI's credentials.json (mode 600), where both programs read it. Prints
    {"saved_to", "key" (redacted), "accepted": true, "source"}: source is where the key in
    use now comes from (PERPLEXITY_API_KEY wins over the stored key).

    \b
    Examples:
      pplx auth login
    """
    from pplx_cli.errors import redacted, register_secret
    from pplx_cli.store.credentials import CredentialsError, write_credentials

    key = _read_key()
    register_secret(key)
    client, _ = _client()
    client.api_key = key
    _check(client, "the key")
    try:
        path = write_credentials(os.environ, key)
    except CredentialsError as e:
        raise OfficialError("IO_ERROR", e.message) from None
    _, settings = _client()
    _print({"saved_to": str(path), "key": redacted(key), "accepted": True, "source": settings.key_source()})


@auth.command(cls=ContractCommand, context_settings=CONTEXT)
def status():
    """Which key is in use, from where, and whether the service accepts it.

    The key's source in the order PERPLEXITY_API_KEY, then pplx's own (pplx help config),
    then the stored key; one request that costs nothing checks it. Prints {"source", "key"
    (redacted), "accepted": true}; no key, or a refused one, is an AUTHENTICATION error.

    \b
    Examples:
      pplx auth status
    """
    from pplx_cli.errors import redacted

    client, settings = _client()
    if client.api_key is None:
        from pplx_cli.dialects.official import AUTH_HINT

        raise OfficialError("AUTHENTICATION", "no API key", hint=AUTH_HINT)
    source = settings.key_source()
    _check(client, f"the key from {source}")
    _print({"source": source, "key": redacted(client.api_key), "accepted": True})


@auth.command(cls=ContractCommand, context_settings=CONTEXT)
def logout():
    """Remove the stored key (credentials.json); the environment and config are left be.

    Prints {"removed": PATH or null, "source": where a key still comes from, or null}.

    \b
    Examples:
      pplx auth logout
    """
    from pplx_cli.store.credentials import CredentialsError, remove_credentials

    try:
        path = remove_credentials(os.environ)
    except CredentialsError as e:
        raise OfficialError("IO_ERROR", e.message) from None
    client, settings = _client()
    _print({"removed": str(path) if path else None, "source": settings.key_source() if client.api_key else None})


def _read_key() -> str:
    """The key typed at a hidden prompt on the terminal; never from a pipe."""
    if not _isatty(sys.stdin):
        raise OfficialError("ARGUMENT_ERROR", "pplx auth login reads the key at a hidden prompt, and stdin is not a terminal",
                            hint=f"in a script or an agent, set {KEY_VARIABLE} instead")
    import getpass

    try:
        key = getpass.getpass(PROMPT).strip()
    except EOFError:
        key = ""
    if not key:
        raise OfficialError("ARGUMENT_ERROR", "no key given")
    if not (key.isascii() and key.isprintable()):
        raise OfficialError("ARGUMENT_ERROR", "the key holds a control character or a character that is not ASCII")
    return key


def _client():
    """``(client, settings)``: the key in the order of Perplexity's CLI's verbs; silent."""
    from pplx_cli.commands import make_client

    client, settings = make_client({}, key_required=False, silent=True, key_first=KEY_VARIABLE)
    client.key_hint = None  # the message names the key's source itself
    return client, settings


def _check(client, what: str):
    """The service accepts the client's key, or AUTHENTICATION naming ``what`` was refused."""
    from pplx_cli.errors import AuthError
    from pplx_cli.runs.official import check_key

    try:
        check_key(client)
    except AuthError as e:
        raise OfficialError("AUTHENTICATION", f"{what} was refused: {e.message}",
                            hint="get a key at https://www.perplexity.ai/account/api") from None


def _print(obj: dict):
    from pplx_cli.dialects.official import dumps
    from pplx_cli.output.stdio import out

    out(dumps(obj))


