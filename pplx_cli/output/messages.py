"""Diagnostic lines on stderr: ``pplx: warning: ...`` and ``pplx: note: ...``, the key redacted."""

import click

from pplx_cli.errors import redact


def say(line: str):
    """One line on stderr, the key redacted; a stderr that cannot be written is left be
    (there is nowhere left to report to, and the exit status still tells)."""
    from pplx_cli.output.terminal import clear_status, neutralise_line

    clear_status()
    try:
        # one line whatever it quotes: a newline or an escape from the network is shown, not obeyed
        click.echo(neutralise_line(redact(line)), err=True)
    except OSError:
        pass


def warn(message: str):
    """One warning line on stderr."""
    say(f"pplx: warning: {message}")


def note(message: str):
    """One note line on stderr."""
    say(f"pplx: note: {message}")


_SAID = set()


def note_once(message: str):
    """A note said at most once per process (a batch builds many exchanges from one option)."""
    if message not in _SAID:
        _SAID.add(message)
        note(message)
