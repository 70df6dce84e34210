"""A batch's records: the one way one is written as a line, and where they go.

:func:`build_line` is the only place a record becomes text (stdout, ``--output FILE`` and
``batch --remote results`` alike): JSON that is always valid, with the API key redacted, as
``ask`` redacts its metadata, whatever a server echoed into ``meta`` or ``error``.

:class:`RecordFile` is the only place a record is appended to a file (``--output FILE``): the
file is locked for the run (a second batch on it stops before sending anything), a record a
killed run cut short is removed whatever its length, each record is one ``write`` of the
whole line (a failed one is taken back, so the file stays JSON Lines), and a write that
fails is one error naming the file (exit 74).

:class:`Sink` sends each record to stdout or the file, and once the file has failed, to
stdout instead: what was paid for is not lost.
"""

import errno
import os
import stat

from pplx_cli.errors import ExitCode, PplxError, UsageError, redact

#: How much of a file's end is read at a time when looking for its last whole record.
BLOCK = 1 << 20


def build_line(record: dict) -> str:
    """A record as one line of JSON (no newline), the key redacted."""
    from pplx_cli import jsonsafe

    return redact(jsonsafe.dumps(record, ensure_ascii=False))


class RecordFileError(PplxError):
    """The --output FILE cannot be written (a full disk, a file size limit, an I/O error)."""

    exit_code = ExitCode.IO_ERROR


class RecordFile:
    """``--output FILE``, opened for appending and locked (see the module docstring).

    Raises UsageError (exit 2) when FILE cannot be opened or another process holds its lock.
    """

    def __init__(self, path: str):
        self.path = path
        try:
            self.fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError as e:
            raise UsageError(f"cannot write {path}: {e.strerror}") from None
        try:
            self._lock()
            # a fifo or a device (/dev/stdout, /dev/full) has nothing to resume from or cut
            self.regular = stat.S_ISREG(os.fstat(self.fd).st_mode)
            if self.regular:
                _drop_cut_record(self.fd)
        except BaseException:
            os.close(self.fd)
            raise

    def _lock(self):
        import fcntl

        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise UsageError(f"{self.path} is locked by another process (another pplx batch writing to it?): "
                                 "nothing was sent") from None
            # any other failure is a file system without locks (ENOLCK): the run goes on unlocked

    def done_ids(self) -> set:
        """The ids FILE records with status 0 (a regular file's; nothing for a fifo or device)."""
        if not self.regular:
            return set()
        with open(os.dup(self.fd), "rb") as f:
            f.seek(0)
            return read_done_ids(f)

    def append(self, record: dict):
        """Write one record as one line, in one write; RecordFileError if it cannot be written
        whole (then what part of it was written is taken back)."""
        data = (build_line(record) + "\n").encode("utf-8", "replace")
        before = os.fstat(self.fd).st_size if self.regular else None
        try:
            written = os.write(self.fd, data)
            while written < len(data):  # a short write (a file size limit, a full disk): the rest, or its error
                more = os.write(self.fd, data[written:])
                if more <= 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                written += more
        except OSError as e:
            if before is not None:
                try:
                    os.ftruncate(self.fd, before)
                except OSError:
                    pass  # the next run removes the cut record
            raise RecordFileError(f"cannot write to {self.path}: {e.strerror or e}") from None

    def close(self):
        if self.fd is not None:
            os.close(self.fd)  # the lock goes with it
            self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read_done_ids(lines) -> set:
    """The ids of the records with status 0 among ``lines`` (bytes or str); a line that does
    not parse, such as one cut by a killed run, is not done."""
    import json

    out = set()
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("status") == 0 and isinstance(record.get("id"), (str, int)):
            out.add(str(record["id"]))
    return out


def _drop_cut_record(fd):
    """Cut the file after its last newline: a record a killed run cut short, of any length, is
    removed, so the file stays JSON Lines (every record ends with its newline)."""
    end = os.fstat(fd).st_size
    if end == 0 or os.pread(fd, 1, end - 1) == b"\n":
        return
    while end > 0:
        start = max(0, end - BLOCK)
        at = os.pread(fd, end - start, start).rfind(b"\n")
        if at >= 0:
            os.ftruncate(fd, start + at + 1)
            return
        end = start
    os.ftruncate(fd, 0)


class Sink:
    """Where a batch's records go: stdout (JSON Lines, or only the answers), and with
    ``--output FILE`` the file, each record as it completes (then stdout gets only the answers,
    with --answers-only). A record the file could not take goes to stdout instead."""

    def __init__(self, file: RecordFile = None, *, answers_only=False, null=False):
        self.file = file
        self.answers_only = answers_only
        self.null = null
        self.first = True
        self.failure = None  # the RecordFileError once the file could not be written
        self.unsaved = set()  # id() of the records the file did not take

    status = None  # the progress line, erased before stdout is written when both are the terminal

    def done(self, record):
        """--output gets each record as it completes (a resumed run needs no order)."""
        if self.file is None:
            return
        if self.failure is None:
            try:
                self.file.append(record)
                return
            except RecordFileError as e:
                self.failure = e
        self.unsaved.add(id(record))

    def write(self, record):
        """stdout gets each record in turn (every record, or one the file did not take)."""
        from pplx_cli.output.stdio import out

        whole = self.file is None or id(record) in self.unsaved
        if self.status is not None and (self.answers_only or whole):
            self.status.clear()
        if self.answers_only:
            answer = record["answer"].rstrip("\n")
            out(answer + "\0" if self.null else ("" if self.first else "\n") + answer + "\n")
            self.first = False
        elif whole:
            out(build_line(record) + "\n")

    def close(self):
        if self.file is not None:
            self.file.close()
