"""What pplx remembers between runs besides the history: the model ids of the last
``pplx models`` (for shell completion) and, for ``--api auto``, which base URL and key must
use the Agent API. Both under ``$XDG_CACHE_HOME/pplx``, written atomically; a cache that
cannot be read is no cache."""

import os
import re
from pathlib import Path

from pplx_cli.errors import redact
from pplx_cli.store.paths import xdg_dir


def _model_cache_path(env) -> Path:
    return xdg_dir("CACHE", env) / "pplx" / "models.json"


#: A model id completion may offer: a shell inserts it unquoted, so only these characters.
_PLAIN_ID = re.compile(r"[A-Za-z0-9._/:@-]{1,200}")


#: The most ids the completion cache keeps, and the largest file it reads.
MAX_CACHED_MODELS = 2000


MAX_MODEL_CACHE_BYTES = 256 * 1024


def plain_ids(ids) -> list:
    """The ids that are plain (``[A-Za-z0-9._/:@-]``, never a space, quote, ``$`` or ``;``),
    deduplicated, at most MAX_CACHED_MODELS: what may reach a shell's command line."""
    out = []
    for value in ids:
        if (isinstance(value, str) and _PLAIN_ID.fullmatch(value) and not value.startswith("-") and value not in out
                and redact(value) == value):  # never the key, whatever a server calls a model
            out.append(value)
            if len(out) >= MAX_CACHED_MODELS:
                break
    return out


def read_model_cache(env) -> list:
    """The model ids the last ``pplx models`` listed ([] if none): for shell completion. A
    cache too large, or ids that are not plain, are never offered."""
    import json

    path = _model_cache_path(env)
    try:
        if path.stat().st_size > MAX_MODEL_CACHE_BYTES:
            return []
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError, RecursionError):
        return []
    return plain_ids(data) if isinstance(data, list) else []


def write_model_cache(env, ids) -> bool:
    """Keep the listed model ids for completion (the plain ones, bounded); False if the cache
    is not writable."""
    return _write_atomic(_model_cache_path(env), plain_ids(ids))


def _write_atomic(path: Path, data) -> bool:
    import json

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(data, indent=1) + "\n", "utf-8")
        os.replace(tmp, path)
        return True
    except OSError:
        return False


def _api_cache_path(env) -> Path:
    return xdg_dir("CACHE", env) / "pplx" / "api.json"


def _api_cache_key(base_url: str, api_key: str) -> str:
    # a fingerprint, never the key itself
    import hashlib

    return hashlib.sha256(f"{base_url.rstrip('/')}\n{api_key}".encode()).hexdigest()[:24]


def read_api_choice(env, base_url: str, api_key: str):
    """The API remembered for this base URL and key (``agent``), or None."""
    import json

    try:
        data = json.loads(_api_cache_path(env).read_text("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    choice = data.get(_api_cache_key(base_url, api_key)) if isinstance(data, dict) else None
    return choice if choice in ("chat", "agent") else None


def remember_api_choice(env, base_url: str, api_key: str, api: str) -> bool:
    """Remember that this base URL and key must use ``api``; False if the cache is not writable."""
    import json

    path = _api_cache_path(env)
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError, RecursionError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    data[_api_cache_key(base_url, api_key)] = api
    return _write_atomic(path, data)
