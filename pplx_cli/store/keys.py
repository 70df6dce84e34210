"""Where the API key comes from besides the environment and the config file: a key command
(run once per process), Perplexity's own CLI's credentials file, and the keys registered as
secrets before any command runs."""

from pplx_cli.errors import AuthError
from pplx_cli.store.paths import perplexity_credentials_path


#: Key commands already run in this process, and what they printed: a batch asks for the
#: key once per line, and the command (a password manager's prompt, say) runs once.
_KEY_COMMANDS = {}


def run_key_command(command: str, source: str) -> str:
    """The first line of a key command's stdout (``pass show`` prints the secret first); its
    failure is an AuthError with the first line of its stderr (exit 3), in which whatever it
    printed on stdout is redacted. Run once per process."""
    if command not in _KEY_COMMANDS:
        _KEY_COMMANDS[command] = _run_key_command(command, source)
    return _KEY_COMMANDS[command]


def _run_key_command(command: str, source: str) -> str:
    import subprocess

    try:
        done = subprocess.run(command, shell=True, capture_output=True, stdin=subprocess.DEVNULL, timeout=120)
    except subprocess.TimeoutExpired:
        raise AuthError(f"the key command ({source}) did not finish within 120 s") from None
    except OSError as e:
        raise AuthError(f"the key command ({source}) could not run: {e.strerror}") from None
    if done.returncode != 0:
        from pplx_cli.errors import redact, register_secret

        for line in done.stdout.decode("utf-8", "replace").splitlines():  # a key it printed before failing
            register_secret(line.strip())
        first = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise AuthError(f"the key command ({source}) failed with status {done.returncode}"
                        + (f": {redact(first[0])[:200]}" if first else ""))
    lines = done.stdout.decode("utf-8", "replace").splitlines()
    return lines[0] if lines else ""


def read_perplexity_credentials(env):
    """The key in Perplexity's own CLI's credentials file, or None (missing or unreadable:
    it is a last resort, never an error)."""
    import json

    try:
        data = json.loads(perplexity_credentials_path(env).read_text("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    for name in ("api_key", "apiKey", "key"):
        if isinstance(data.get(name), str) and data[name].strip():
            return data[name]
    return None
