"""Settings: flag > environment > config file > built-in default; and the key.

The config file is TOML at ``$XDG_CONFIG_HOME/pplx/config.toml`` (default
``~/.config/pplx/config.toml``), read with the standard library's ``tomllib``.
"""

import os
import stat
from pathlib import Path

from pplx_cli.errors import AuthError, ConfigError, UsageError
from pplx_cli.store.keys import read_perplexity_credentials, run_key_command
from pplx_cli.store.paths import config_path, perplexity_credentials_path
from pplx_cli.wire.urls import shown_url

DEFAULT_BASE_URL = "https://api.perplexity.ai"
#: The longest idle timeout (a day): the socket layer refuses larger ones, and nan/inf are no timeout.
MAX_TIMEOUT = 86400.0
MAX_RETRIES = 100
DEFAULTS = {
    "model": None,  # the Agent API: effort fast; chat completions: sonar (see request.py)
    "effort": None,
    "base_url": DEFAULT_BASE_URL,
    "timeout": 300.0,
    "retries": 2,
    "stream_mode": "concise",
    "api": "agent",
    "log": True,
    "meta_style": "auto",
}
#: Environment variables per setting, first found wins.
ENV = {
    "api_key": ("PPLX_API_KEY", "PERPLEXITY_API_KEY"),
    "api_key_cmd": ("PPLX_API_KEY_CMD",),
    # requests reads the first two itself, OpenSSL the third; pplx hands the one found to requests
    "ca_bundle": ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"),
    "base_url": ("PPLX_BASE_URL", "PERPLEXITY_BASE_URL"),
    "api": ("PPLX_API",),
    "model": ("PPLX_MODEL",),
}
#: What each config key must hold.
TYPES = {
    "api_key": str,
    "api_key_cmd": str,
    "model": str,
    "effort": str,
    "base_url": str,
    "timeout": (int, float),
    "retries": int,
    "stream_mode": str,
    "api": str,
    "log": bool,
    "meta_style": str,
    "render": bool,
    "sources": bool,
    "reasoning": str,
    "citations": str,
    "ca_bundle": str,
}
CHOICES = {"reasoning": ("hide", "show", "stderr"), "citations": ("keep", "strip"), "stream_mode": ("full", "concise"), "api": ("agent", "chat", "auto"), "meta_style": ("auto", "json", "summary")}


def new_cid() -> str:
    """A new conversation id (here, not in history.py, so that sqlite3 is imported only to record)."""
    return os.urandom(6).hex()


def read_config(path: Path, warn) -> dict:
    """The config file's settings ({} if there is none); UsageError naming the file if broken."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror}") from None
    import tomllib

    try:
        config = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"config file {path} is not valid TOML: {e}") from None
    for key, value in config.items():
        if key not in TYPES:
            warn(f"config file {path}: unknown key {key!r} ignored{did_you_mean(key, TYPES)}")
            continue
        expected = TYPES[key]
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise ConfigError(f"config file {path}: {key} must be a {_type_name(expected)}")
        if key == "timeout" and not (0 < value < MAX_TIMEOUT):
            raise ConfigError(f"config file {path}: timeout must be a number of seconds above 0 and below {MAX_TIMEOUT:g}")
        if key == "retries" and not 0 <= value <= MAX_RETRIES:
            raise ConfigError(f"config file {path}: retries must be a whole number from 0 to {MAX_RETRIES}")
        config[key] = check_setting(key, value, f"config file {path}: {key}")
    if "api_key_cmd" in config:
        _check_owner(path)
    if "api_key" in config:
        try:
            mode = path.stat().st_mode
        except OSError:
            mode = 0
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            warn(f"config file {path} holds an API key and is readable by others; run: chmod 600 {path}")
    return {k: v for k, v in config.items() if k in TYPES}


def _check_owner(path: Path):
    """A config file that names a command to run (``api_key_cmd``) must be the user's own and
    writable by no one else, as ssh requires of its config: anyone who could write it could
    make pplx run any command. UsageError (exit 2) otherwise."""
    try:
        info = path.stat()
    except OSError:
        return
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) or info.st_uid not in (os.getuid(), 0):
        raise ConfigError(f"config file {path} sets api_key_cmd but others can write it (or it is not yours): "
                         f"refusing to run the command; run: chmod go-w {path}")


def did_you_mean(word: str, known) -> str:
    """``"; did you mean 'X'?"`` for the known name closest to a mistyped one, else ``""``."""
    import difflib

    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.75)
    return f"; did you mean {close[0]!r}?" if close else ""


def _type_name(expected):
    return {str: "string", int: "whole number", bool: "boolean"}.get(expected, "number")


def check_setting(name: str, value, what: str):
    """``value`` if it is allowed for setting ``name``; UsageError naming ``what`` otherwise."""
    if name in CHOICES and value not in CHOICES[name]:
        raise ConfigError(f"{what} must be one of {', '.join(CHOICES[name])}, not {value!r}")
    if name == "base_url":
        check_base_url(value, what)
    if name == "effort":
        from pplx_cli.dialects.request import check_effort

        try:
            check_effort(value, what)
        except ValueError as e:
            raise ConfigError(str(e)) from None
    if name == "model" and not value.strip():
        raise ConfigError(f"{what} is empty")
    if name == "ca_bundle":
        return check_ca_bundle(value, what)
    return value


def check_ca_bundle(path: str, what: str) -> str:
    """The path (``~`` expanded) of a readable file of PEM certificate authorities to trust;
    UsageError naming ``what`` when it cannot be read or holds no certificate."""
    import ssl

    path = os.path.expanduser(path)
    prefix = f"{what}: " if what else ""
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        raise ConfigError(f"{prefix}cannot read the certificate file {path}")
    try:
        ssl.create_default_context(cafile=path)
    except (ssl.SSLError, ValueError, OSError):
        raise ConfigError(f"{prefix}{path} holds no PEM certificate") from None
    return path


def check_base_url(url: str, what: str = "base URL") -> str:
    """The URL if it is http(s) with a host (and a valid port); UsageError otherwise.

    A password in it (``https://user:pass@host``) is registered as a secret, like the key.
    """
    from urllib.parse import urlsplit

    from pplx_cli.errors import register_secret

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port out of range or not a number)
        host = parts.hostname
    except ValueError as e:
        raise ConfigError(f"{what} is not a valid URL ({e})") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(f"{what} must be an http:// or https:// URL with a host, not {shown_url(url)!r}")
    if parts.password:
        register_secret(parts.password)
    if parts.username:
        register_secret(parts.username + (":" + parts.password if parts.password else ""))
    return url


def check_transport(url: str, allow_http: bool) -> str:
    """The URL if the key may be sent to it: https, or http to this machine (or ``--allow-http``)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme == "http" and not allow_http and not _loopback(host):
        raise UsageError(f"refusing to send the key in clear text to {host} (the base URL is http://); "
                         "use https://, or --allow-http if you mean it")
    return url


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Settings:
    """Resolved settings for one call: flag > env > config > default."""

    def __init__(self, flags: dict, env=None, warn=None, key_first: str = None):
        self.env = os.environ if env is None else env
        self.key_first = key_first  # an environment variable read before every other key source
        self.warn = warn or (lambda message: None)
        self.path = config_path(self.env)
        self.config = read_config(self.path, self.warn)
        self.flags = flags

    def get(self, name):
        """One setting's value, by precedence."""
        value = self.flags.get(name)
        if value is not None:
            return value
        for var in ENV.get(name, ()):
            if self.env.get(var):
                return self._from_env(name, var, self.env[var])
        if name in self.config:
            return self.config[name]
        return DEFAULTS.get(name)

    def source_of(self, name, flag: str = None) -> str:
        """Where a setting's value comes from, for a message: the option ``flag``, an
        environment variable, the config file, or None for the built-in default."""
        if self.flags.get(name) is not None:
            return flag or "the command line"
        for var in ENV.get(name, ()):
            if self.env.get(var):
                return var
        if name in self.config:
            return f"{name} in {self.path}"
        return None

    def ca_bundle(self, url: str):
        """``(file, where it comes from)`` of the certificate authorities to trust for ``url``,
        or ``(None, None)``: requests' own bundle, or a plain http:// URL, which needs none (a
        missing file named for https is never looked at then)."""
        if not url.lower().startswith("https://"):
            return None, None
        path = self.get("ca_bundle")
        return (path, self.source_of("ca_bundle", "--cacert")) if path else (None, None)

    def _from_env(self, name, var, value):
        return check_setting(name, value, var)

    def api_key(self, required: bool = True):
        """The key: PPLX_API_KEY, PERPLEXITY_API_KEY, the output of PPLX_API_KEY_CMD, the
        config file's ``api_key``, then its ``api_key_cmd``, then the file Perplexity's own
        CLI writes (``pplx auth login``), read only. AuthError naming where to put it when
        there is none (None when not ``required``); a key command that fails is an AuthError
        with its stderr's first line."""
        key = None
        for source, value, command in self._key_sources():
            key = run_key_command(value, source) if command else value
            if command and not key.strip():  # a command that prints nothing is a mistake, never a fall-through
                raise AuthError(f"the key command ({source}) printed nothing on its standard output")
            if key and key.strip():
                self.source = source
                break
        else:
            key = read_perplexity_credentials(self.env)
            self.source = str(perplexity_credentials_path(self.env))
        if not key or not key.strip():
            if not required:
                return None
            raise AuthError(
                f"no API key: set PPLX_API_KEY (or PERPLEXITY_API_KEY), or api_key in {self.path}"
            )
        key = key.strip()
        if not (key.isascii() and key.isprintable()):
            raise AuthError(f"the API key (from {self.key_source()}) holds a control character or a character "
                            "that is not ASCII, such as a newline pasted with it; set it again")
        return key

    def _key_sources(self):
        """``(where, value, is a command)`` in precedence order, for the sources that are set
        (``key_first`` first: Perplexity's CLI's verbs read PERPLEXITY_API_KEY before all else)."""
        if self.key_first and self.env.get(self.key_first):
            yield self.key_first, self.env[self.key_first], False
        for var in ENV["api_key"]:
            if self.env.get(var) and var != self.key_first:
                yield var, self.env[var], False
        for var in ENV["api_key_cmd"]:
            if self.env.get(var):
                yield var, self.env[var], True
        if "api_key" in self.config:
            yield f"api_key in {self.path}", self.config["api_key"], False
        if "api_key_cmd" in self.config:
            yield f"api_key_cmd in {self.path}", self.config["api_key_cmd"], True

    def key_hint(self, key: str) -> str:
        """For a refused key: where it came from, the key shown redacted, and where keys come from."""
        from pplx_cli.errors import redacted

        return (f"the key ({redacted(key)}) came from {self.key_source()}; pplx reads the key from PPLX_API_KEY, "
                f"PERPLEXITY_API_KEY, PPLX_API_KEY_CMD, api_key or api_key_cmd in {self.path}, then "
                f"{perplexity_credentials_path(self.env)}, the first set")

    def key_source(self) -> str:
        """Where the key came from, named for a message (never the key itself)."""
        return getattr(self, "source", None) or str(perplexity_credentials_path(self.env))


def register_known_keys(env):
    """Register as secrets the keys that can be read without running anything (the key
    variables, the config file's ``api_key``, Perplexity's credentials file), so that a
    command that never asks for the key (``parse``, ``log``) cannot print one either. A key
    command is never run for this; a broken config file is left for the command to report."""
    from pplx_cli.errors import register_secret

    for var in ENV["api_key"]:
        if env.get(var):
            register_secret(env[var].strip())
    try:
        config = read_config(config_path(env), lambda message: None)
    except ConfigError:
        config = {}
    if isinstance(config.get("api_key"), str):
        register_secret(config["api_key"].strip())
    stored = read_perplexity_credentials(env)
    if stored:
        register_secret(stored.strip())
