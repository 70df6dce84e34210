"""The process's standard streams, made safe before any command runs.

A descriptor 0, 1 or 2 that was closed (``>&-``) is filled with /dev/null, so that no file
pplx opens later (the history database) can land on it and receive the answer: standard
output read-only, so that writing it still fails as a closed descriptor does (EBADF, one
``cannot write to stdout`` error), standard error write-only, so that diagnostics vanish
(there is nowhere to report to), standard input read-only (empty).

The streams stay Python's own C-level files: a write is never repeated, even when a signal
lands the moment it returns.
"""

import os
import sys


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


def guard_standard_streams():
    """Fill closed standard descriptors (see the module docstring) and give Python streams for them."""
    modes = {0: os.O_RDONLY, 1: os.O_RDONLY, 2: os.O_WRONLY}
    for fd in (0, 1, 2):
        if _is_open(fd):
            continue
        opened = os.open(os.devnull, modes[fd])
        if opened != fd:  # not the lowest free descriptor: put it in place
            os.dup2(opened, fd)
            os.close(opened)
    if sys.stdout is None:
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
    if sys.stderr is None:
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)


def let_go_of_stdout():
    """The answer is out: flush standard output and close it (/dev/null takes descriptor 1),
    so a reader waiting for its end (``$(pplx ask q)``, ``| wc``) has it now, not after the
    history is written and the process has left. A write that fails here fails as any write
    to stdout does (a closed pipe, or the one ``cannot write to stdout`` error)."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as e:
        raise write_error(e) from None
    try:
        if sys.stdout.fileno() != 1:
            return  # stdout is not the process's descriptor 1 (a test runner's buffer): nothing to let go of
        devnull = os.open(os.devnull, os.O_WRONLY)
    except (OSError, ValueError):  # io.UnsupportedOperation is both
        return  # stdout stays open until the process leaves, as it always did
    os.dup2(devnull, 1)
    os.close(devnull)


def write_error(exc: OSError):
    """The WriteError for a failed write to stdout."""
    from pplx_cli.errors import WriteError

    return WriteError(f"cannot write to stdout: {exc.strerror or exc}")
