"""Attachments (``-a/--attach PATH|URL``): files and images sent with the prompt as Agent API
input parts. Everything is checked before anything is sent; the history keeps each one's
name, type, size and SHA-256, never its bytes."""

import base64
import hashlib
import mimetypes
import os
from typing import NamedTuple

from pplx_cli.errors import UsageError

#: The API refuses requests over 32 MiB; attachments travel base64-encoded inside them.
MAX_REQUEST_BYTES = 32 * 1024 * 1024
#: The longest image URL the API takes.
MAX_IMAGE_URL = 2048
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif")


class Attachment(NamedTuple):
    name: str
    type: str
    size: int  # bytes; 0 for a URL
    sha256: str  # of the bytes; "" for a URL
    source: str  # the absolute path, the URL, or "-"
    part: dict  # the input part sent

    def record(self) -> dict:
        """What the history keeps."""
        return {"name": self.name, "type": self.type, "size": self.size, "sha256": self.sha256, "source": self.source}


def sniff(data: bytes, name: str) -> str:
    """The type by content (the image formats the API takes, PDF), else by the name."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    guessed = mimetypes.guess_type(name)[0]
    if guessed in IMAGE_TYPES:  # named like an image, but its bytes are not one
        return "application/octet-stream"
    return guessed or "application/octet-stream"


def read_attachments(specs, *, stdin=None) -> list:
    """The attachments for ``-a`` values, checked: a missing, unreadable or empty file, an
    image URL over 2,048 characters, or more than the 32 MiB request cap is a UsageError."""
    out, total = [], 0
    for spec in specs:
        attachment = _one(spec, stdin)
        total += 4 * ((attachment.size + 2) // 3)  # base64
        out.append(attachment)
    if total > MAX_REQUEST_BYTES:
        raise UsageError(f"the attachments come to {total / 1048576:.1f} MiB encoded: the API takes requests of at most "
                         "32 MiB (base64 makes a file a third larger)")
    return out


def _one(spec: str, stdin) -> Attachment:
    if spec.startswith(("https://", "http://")):
        name = spec.rsplit("/", 1)[-1].split("?")[0] or spec
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if kind in IMAGE_TYPES:
            if len(spec) > MAX_IMAGE_URL:
                raise UsageError(f"the image URL is {len(spec):,} characters: the API takes at most {MAX_IMAGE_URL:,}")
            return Attachment(name, kind, 0, "", spec, {"type": "input_image", "image_url": spec})
        return Attachment(name, kind, 0, "", spec, {"type": "input_file", "file_url": spec, "filename": name})
    if spec == "-":
        if stdin is None:
            raise UsageError("'-a -' reads the attachment from stdin, which is taken (the prompt is read from it) "
                             "or a terminal: give the prompt as arguments and pipe the file")
        data, name, source = stdin.read(MAX_REQUEST_BYTES + 1), "stdin", "-"
    else:
        try:
            with open(spec, "rb") as f:
                data = f.read(MAX_REQUEST_BYTES + 1)
        except OSError as e:
            raise UsageError(f"cannot attach {spec}: {e.strerror}") from None
        name, source = os.path.basename(spec), os.path.abspath(spec)
    if not data:
        raise UsageError(f"cannot attach {spec}: it is empty")
    if len(data) > MAX_REQUEST_BYTES * 3 // 4:
        raise UsageError(f"cannot attach {spec}: over {MAX_REQUEST_BYTES * 3 // 4 // 1048576} MiB, more than fits "
                         "in the API's 32 MiB request once base64-encoded")
    kind = sniff(data, name)
    encoded = base64.b64encode(data).decode("ascii")
    if kind in IMAGE_TYPES:
        part = {"type": "input_image", "image_url": f"data:{kind};base64,{encoded}"}
    else:
        part = {"type": "input_file", "file_data": encoded, "filename": name}
    return Attachment(name, kind, len(data), hashlib.sha256(data).hexdigest(), source, part)
