"""The files a run shared (its sandbox's ``share_file`` items): listed from the service, and
saved into a directory, never outside it.

``GET /v1/responses/{id}/files`` lists them (``{"data": [{"id", "filename", "bytes",
"created_at"}]}``), ``GET /v1/responses/{id}/files/{file_id}/content`` streams one's bytes
with a ``Content-Disposition: attachment`` header naming it (SDK 0.46.1 and the API
reference; the error bodies, size limits and how long files are kept are not documented).
The path is built here from the run's id and the file's: a ``url`` in an item is never
followed (it could send the key elsewhere).

A file is written under a temporary name in the directory, streamed as it arrives, and
given its name only once complete: a download cut short, or interrupted, leaves nothing
under the final name. Its name (the item's, else the header's) is reduced to a base name
(``../../.bashrc`` is ``.bashrc``, ``/etc/x`` is ``x``); a file already there is kept unless
``force``, and the new one not saved.
"""

import os
import re
from urllib.parse import quote

from pplx_cli.errors import APIError, PplxError

#: Longest file name, in bytes (NAME_MAX on Linux, macOS and most file systems).
NAME_MAX = 255
#: Characters never kept in a name: control characters and bidirectional overrides.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


class FileExists(PplxError):
    """A file of that name is in the directory, and --force was not given (exit 1)."""


def files_path(rid: str) -> str:
    """The path of a run's file list."""
    return f"/v1/responses/{quote(rid, safe='')}/files"


def safe_name(name):
    """``name`` reduced to a base name that can only be a file in the directory it is saved
    in (control characters replaced, at most NAME_MAX bytes, the extension kept); None when
    nothing usable is left."""
    if not isinstance(name, str):
        return None
    base = _UNSAFE.sub("_", re.split(r"[/\\]", name)[-1]).strip()
    if base in ("", ".", ".."):
        return None
    if len(base.encode("utf-8", "replace")) > NAME_MAX:
        stem, dot, ext = base.rpartition(".")
        ext = "." + ext if dot and stem and len(ext) <= 16 else ""
        stem = base[: len(base) - len(ext)]
        while len((stem + ext).encode("utf-8", "replace")) > NAME_MAX:
            stem = stem[:-1]
        base = stem + ext
    return base


def disposition_name(header):
    """The file name a ``Content-Disposition`` header gives (``filename*`` decoded), or None."""
    if not isinstance(header, str) or not header:
        return None
    from email.message import Message

    message = Message()
    message["content-disposition"] = header
    try:
        return message.get_filename()
    except (ValueError, LookupError, TypeError):
        return None


def read_file_list(obj) -> list:
    """The entries of a file list body that name a file: ``{id, filename?, bytes?, created_at?}``."""
    data = obj.get("data") if isinstance(obj, dict) else None
    out = []
    for entry in data if isinstance(data, list) else ():
        if isinstance(entry, dict) and isinstance(entry.get("id"), str) and entry["id"]:
            kept = {"id": entry["id"]}
            if isinstance(entry.get("filename"), str):
                kept["filename"] = entry["filename"]
            for key in ("bytes", "created_at"):
                if type(entry.get(key)) is int:
                    kept[key] = entry[key]
            out.append(kept)
    return out


def list_files(client, rid: str) -> list:
    """The files a run shared, from the service."""
    from pplx_cli.wire.bodies import read_object

    return read_file_list(read_object(client.get(files_path(rid)), "the file list"))


def _unique(name: str, taken: set) -> str:
    """``name``, or ``stem-2.ext``, ``stem-3.ext``...: two files of one run never share a name."""
    stem, dot, ext = name.rpartition(".")
    stem, ext = (stem, "." + ext) if dot and stem else (name, "")
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{stem}-{n}{ext}"
    taken.add(candidate)
    return candidate


def save_file(client, rid: str, entry: dict, directory: str, *, force: bool = False, taken=None) -> tuple:
    """Download one file into ``directory``: ``(path, bytes written)``. Raises FileExists,
    or the client's errors (a lost connection is a NetworkError); nothing is left behind."""
    from pplx_cli.wire.bodies import iter_body

    taken = set() if taken is None else taken
    name = safe_name(entry.get("filename"))
    if name is not None:
        name = _unique(name, taken)
        _refuse_existing(directory, name, force)  # before anything is downloaded
    path = f"{files_path(rid)}/{quote(entry['id'], safe='')}/content"
    response = client.request("GET", path, extra_headers={"Accept": "application/octet-stream"})
    if name is None:
        name = _unique(safe_name(disposition_name(response.headers.get("Content-Disposition")))
                       or safe_name(entry["id"]) or "file", taken)
        try:
            _refuse_existing(directory, name, force)
        except FileExists:
            response.close()
            raise
    os.makedirs(directory, exist_ok=True)
    final = os.path.join(directory, name)
    import tempfile

    fd, partial = tempfile.mkstemp(prefix="." + name[:40] + ".", suffix=".part", dir=directory)
    try:
        size = 0
        with os.fdopen(fd, "wb") as out:
            for chunk in iter_body(response):
                out.write(chunk)
                size += len(chunk)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(partial, 0o666 & ~umask)  # as any new file (mkstemp makes it private)
        _publish(partial, final, force)
    except BaseException:
        response.close()
        _remove(partial)
        raise
    return final, size


def _refuse_existing(directory, name, force):
    path = os.path.join(directory, name)
    if os.path.lexists(path) and (not force or os.path.isdir(path)):
        raise FileExists(f"{path} exists" + ("" if os.path.isdir(path) else "; --force replaces it"))


def _publish(partial: str, final: str, force: bool):
    """The complete file under its name: replacing one there only with ``force``; without it
    a hard link, which fails if the name was taken meanwhile (a rename would replace it)."""
    if force:
        os.replace(partial, final)
        return
    try:
        os.link(partial, final)
    except FileExistsError:
        raise FileExists(f"{final} exists; --force replaces it") from None
    except OSError:  # a file system without hard links: checked, then renamed
        if os.path.lexists(final):
            raise FileExists(f"{final} exists; --force replaces it") from None
        os.rename(partial, final)
        return
    _remove(partial)


def _remove(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def save_files(client, rid: str, entries, directory: str, *, force: bool, saved, failed) -> int:
    """Save each file that can be (an entry with an id and no error): ``saved(path, size)``
    after each, ``failed(entry, error)`` for each that could not be (the others are still
    tried); the number saved. Ctrl-C and signals stop at once."""
    taken, count = set(), 0
    for entry in entries:
        if not isinstance(entry.get("id"), str) or entry.get("error"):
            continue
        try:
            path, size = save_file(client, rid, entry, directory, force=force, taken=taken)
        except (PplxError, OSError) as e:
            failed(entry, e)
            continue
        count += 1
        saved(path, size)
    return count


def file_error(entry: dict, error) -> PplxError:
    """One error for a file that was not saved, naming it, with the exit status of its cause."""
    name = " ".join(str(entry.get("filename") or entry.get("id")).split())
    if isinstance(error, APIError) and error.status == 404:
        return PplxError(f"cannot save {name}: the service has no such file ({error.message})")
    if isinstance(error, PplxError):
        return PplxError(f"cannot save {name}: {error.message}", exit_code=error.exit_code)
    return PplxError(f"cannot save {name}: {error.strerror or error}")


def shared(meta: dict) -> list:
    """The files a run's metadata lists that can be downloaded (an id, no error)."""
    files = meta.get("files") if isinstance(meta.get("files"), list) else []
    return [f for f in files if isinstance(f, dict) and isinstance(f.get("id"), str) and f["id"] and not f.get("error")]


def save_shared(client, meta: dict, downloads, *, note, warn, quiet: bool):
    """After an answer: save the files its run shared into ``downloads.directory`` (a note
    for each saved), or without a directory say in one note that there are some and how
    to save them. A file not saved is an error (raised once the others are tried)."""
    files, rid = shared(meta), meta.get("id")
    if not isinstance(rid, str) or not rid:
        return
    if downloads.directory is None:
        if files and not quiet:
            names = ", ".join(" ".join(str(f.get("filename") or f["id"]).split()) for f in files[:5])
            more = f" and {len(files) - 5} more" if len(files) > 5 else ""
            note(f"the run shared {len(files)} file{'s' if len(files) != 1 else ''} ({names}{more}): "
                 f"'pplx jobs files {rid} -O DIR' saves {'them' if len(files) != 1 else 'it'}")
        return
    if not files:
        if not quiet:
            note("the run shared no files: nothing saved")
        return
    errors = []
    save_files(client, rid, files, downloads.directory, force=downloads.force,
               saved=lambda path, size: quiet or note(f"saved {path} ({size:,} bytes)"),
               failed=lambda entry, e: errors.append(file_error(entry, e)))
    raise_failures(errors, len(files), warn)


def raise_failures(errors: list, total: int, warn):
    """One failure is the error; several are a warning each, then one error (the first's exit status)."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        for error in errors:
            warn(error.message)
        raise PplxError(f"{len(errors)} of {total} files not saved", exit_code=errors[0].exit_code)
