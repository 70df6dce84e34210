"""Where pplx keeps its files: the XDG directories, the config file, the history database,
and the credentials file Perplexity's own CLI writes."""

import os
from pathlib import Path


def xdg_dir(kind: str, env) -> Path:
    """``$XDG_<KIND>_HOME`` or its default under the home directory."""
    defaults = {"CONFIG": ".config", "CACHE": ".cache", "DATA": ".local/share"}
    value = env.get(f"XDG_{kind}_HOME")
    if value and os.path.isabs(value):
        return Path(value)
    return Path(env.get("HOME") or os.path.expanduser("~")) / defaults[kind]


def history_path(env) -> str:
    """Where the history database lives: PPLX_HISTORY, else under XDG_DATA_HOME."""
    return env.get("PPLX_HISTORY") or str(xdg_dir("DATA", env) / "pplx" / "history.db")


def chat_history_path(env) -> str:
    """Where ``pplx chat`` keeps the lines typed at its prompt (readline's history file):
    under XDG_DATA_HOME, beside the history database's default place."""
    return str(xdg_dir("DATA", env) / "pplx" / "chat_history")


def config_path(env) -> Path:
    """Where the config file is looked for."""
    return xdg_dir("CONFIG", env) / "pplx" / "config.toml"


def perplexity_credentials_path(env, platform: str = None) -> Path:
    """Where Perplexity's own CLI keeps the key its ``pplx auth login`` stores (and pplx's
    own ``pplx auth login`` too): ``<config>/perplexity/credentials.json``, where ``<config>``
    is ``$XDG_CONFIG_HOME`` (default ``~/.config``) on Linux and ``~/Library/Application
    Support`` on macOS, as that CLI's README and skill say (whether it also honours
    XDG_CONFIG_HOME on macOS is not documented: pplx does not)."""
    import sys

    if (platform or sys.platform) == "darwin":
        home = Path(env.get("HOME") or os.path.expanduser("~"))
        return home / "Library" / "Application Support" / "perplexity" / "credentials.json"
    return xdg_dir("CONFIG", env) / "perplexity" / "credentials.json"
