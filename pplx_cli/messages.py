"""Diagnostic lines on stderr: ``pplx: warning: ...`` and ``pplx: note: ...``, the key redacted."""

import click

from pplx_cli.errors import redact


def warn(message: str):
    """One warning line on stderr."""
    click.echo(f"pplx: warning: {redact(message)}", err=True)


def note(message: str):
    """One note line on stderr."""
    click.echo(f"pplx: note: {redact(message)}", err=True)
