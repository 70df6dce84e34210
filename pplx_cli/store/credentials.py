"""The key file Perplexity's own CLI reads and writes (``credentials.json``), written and
removed by ``pplx auth login`` and ``pplx auth logout``; read by
:func:`pplx_cli.store.keys.read_perplexity_credentials`.

The file is a JSON object. pplx writes the key as ``api_key`` (the name it reads first; the
name Perplexity's CLI writes is not documented) and keeps any other field it finds. The file
is created with mode 600 in a directory of mode 700, written whole to a temporary file and
renamed into place, so no reader ever sees half a file and no other user can read the key.
"""

import json
import os

from pplx_cli.errors import PplxError
from pplx_cli.store.paths import perplexity_credentials_path


class CredentialsError(PplxError):
    """The credentials file could not be written or removed (the message names it and why)."""


def write_credentials(env, key: str):
    """Store ``key`` in the credentials file; its path."""
    path = perplexity_credentials_path(env)
    data = _existing(path)
    data["api_key"] = key
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(json.dumps(data, indent=2) + "\n")
            os.chmod(temp, 0o600)  # an old temporary file of the same name kept its mode
            os.replace(temp, path)
        except BaseException:
            _unlink(temp)
            raise
    except OSError as e:
        raise CredentialsError(f"cannot write {path}: {e.strerror or e}") from None
    return path


def remove_credentials(env):
    """Remove the credentials file; its path, or None when there was none."""
    path = perplexity_credentials_path(env)
    try:
        path.unlink()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise CredentialsError(f"cannot remove {path}: {e.strerror or e}") from None
    return path


def _existing(path) -> dict:
    """The fields already in the file (none when it is missing, unreadable or not an object)."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _unlink(path):
    try:
        os.unlink(path)
    except OSError:
        pass
