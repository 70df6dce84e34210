"""requests and urllib3, imported once for the wire, without a character-set detector.

requests imports ``charset_normalizer`` (or ``chardet``) at start-up, about 8 ms of every
process that sends a request, for one use: guessing the encoding of ``Response.text`` when a
body names none (``Response.apparent_encoding``). pplx never asks for ``.text``: it reads
bytes and decodes them as UTF-8 itself (:mod:`pplx_cli.wire.bodies`). So the detectors are
hidden while requests is imported: requests then falls back to UTF-8 for ``apparent_encoding``
(its own documented fallback) and warns that no detector was found, a warning silenced here.
tests/test_wire.py pins both: no detector is imported, no warning is printed, and
``apparent_encoding`` is UTF-8. The README says why under "Dependencies".
"""

import sys
import warnings

__all__ = ("requests", "urllib3")

_DETECTORS = ("charset_normalizer", "chardet")


def _import():
    hidden = [name for name in _DETECTORS if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # an import of it raises ImportError at once
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Unable to find acceptable character detection")
            import requests
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]  # anyone else may still import them
    return requests


requests = _import()
import urllib3  # noqa: E402  (requests has imported it: this is a lookup)
