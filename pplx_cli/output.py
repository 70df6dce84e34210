"""Writers: answer text to stdout, reasoning where asked, sources, and one metadata object.

The contract (README "Output"): stdout carries only the answer (and, when asked, reasoning
and sources); it ends with exactly one newline. Metadata is one JSON object on one line,
on stderr or in a file. Everything is written as UTF-8 bytes, whatever the locale (a lone surrogate, which
JSON can carry but UTF-8 cannot, becomes U+FFFD's stand-in '?'), and flushed per piece so a
pipe sees each event the moment it is parsed.
"""

import json

from pplx_cli.errors import StreamError, outcome, redact
from pplx_cli.pieces import BAD, META, REASONING, TEXT, WARNING

#: Metadata keys in the order they are written; ones never seen are left out unless listed in ALWAYS.
META_ORDER = (
    "api", "id", "model", "created", "usage", "citations", "search_results", "search_queries", "fetch_url_results",
    "images", "related_questions", "finish_reason", "request_id", "ratelimit", "reasoning", "skipped_events", "error",
)
ALWAYS = {"id": None, "model": None, "usage": None, "citations": [], "search_results": [], "search_queries": [],
          "finish_reason": None}


class AnswerWriter:
    """Consume pieces and write them; ``close`` writes the final newline, sources and metadata.

    ``out`` and ``err`` are binary streams. ``reasoning`` is ``hide`` (kept in the
    metadata only), ``show`` (on stdout, before the answer, set off by a blank line) or
    ``stderr``. ``citations="strip"`` removes citation markers from the printed answer (the
    answer kept for the history keeps them). ``meta_path`` None writes metadata to ``err``;
    ``meta=False`` writes none.
    """

    def __init__(self, out, err, *, reasoning="hide", sources=False, meta=True, meta_path=None, citations="keep"):
        self.out = out
        self.err = err
        self.reasoning_mode = reasoning
        self.sources = sources
        self.meta_enabled = meta
        self.meta_path = meta_path
        self.meta = {}
        self.reasoning = []
        self.text = []  # the answer's pieces, for the history
        self.skipped = 0
        self.wrote_text = False
        self.last = b""  # the last byte written to stdout
        self.reasoning_on_stdout = False
        self.stripper = None
        if citations == "strip":
            from pplx_cli.citations import CitationStripper

            self.stripper = CitationStripper()

    def _write(self, data: bytes):
        # state first: a signal can land between any two lines, and close() relies on it
        self.last = data[-1:]
        self.out.write(data)
        self.out.flush()

    def write(self, piece):
        """Write one piece."""
        kind, value = piece
        if kind == TEXT:
            self.text.append(value)
            if self.reasoning_on_stdout and not self.wrote_text:
                self._write(b"\n" if self.last == b"\n" else b"\n\n")
            self.wrote_text = True
            if self.stripper is not None:
                value = self.stripper.feed(value)
            if value:
                self._write(value.encode("utf-8", "replace"))
        elif kind == META:
            self.meta.update(value)
        elif kind == REASONING:
            self.reasoning.append(value)
            if self.reasoning_mode == "show" and not self.wrote_text:
                self._write(value.encode("utf-8", "replace"))
                self.reasoning_on_stdout = True
            elif self.reasoning_mode == "stderr":
                self.err.write(value.encode("utf-8", "replace"))
                self.err.flush()
        elif kind == BAD:
            number, excerpt = value
            self.skipped += 1
            self.warn(f"skipped malformed event {number} (not JSON): {excerpt}")
        elif kind == WARNING:
            self.warn(value)

    def answer(self) -> str:
        """The answer text written so far."""
        return "".join(self.text)

    def warn(self, message):
        self.err.write(f"pplx: warning: {message}\n".encode("utf-8", "backslashreplace"))
        self.err.flush()

    def render(self, pieces):
        """Write every piece, then close; on an error close with it (metadata keeps what arrived)."""
        try:
            for piece in pieces:
                self.write(piece)
        except BaseException as e:  # errors, Ctrl-C, SIGTERM: keep what arrived, say why in the metadata
            self.close(error=outcome(e)[1])
            raise
        if not self.wrote_text:
            error = StreamError("the response has no answer text")
            self.close(error=error.message)
            raise error
        self.close()
        if self.skipped:
            raise StreamError(f"{self.skipped} malformed event{'s' if self.skipped != 1 else ''} skipped")

    def close(self, error=None):
        """Final newline, sources, metadata. Safe to call once."""
        if self.stripper is not None:
            rest = self.stripper.flush()
            if rest:
                self._write(rest.encode("utf-8", "replace"))
        if self.wrote_text or self.reasoning_on_stdout:
            if self.last != b"\n":
                self._write(b"\n")
        if self.reasoning_mode == "stderr" and self.reasoning and not "".join(self.reasoning).endswith("\n"):
            self.err.write(b"\n")
        if self.sources and error is None:
            self._write_sources()
        if self.meta_enabled:
            self._write_meta(error)

    def metadata(self, error=None) -> dict:
        """The metadata object: keys in a fixed order, the last value seen winning."""
        merged = dict(ALWAYS)
        merged.update(self.meta)
        if self.reasoning:
            merged["reasoning"] = "".join(self.reasoning)
        if self.skipped:
            merged["skipped_events"] = self.skipped
        if error is not None:
            merged["error"] = error
        ordered = {k: merged[k] for k in META_ORDER if k in merged}
        ordered.update((k, v) for k, v in merged.items() if k not in ordered)
        return ordered

    def _write_sources(self):
        from pplx_cli.citations import source_lines

        lines = source_lines(self.meta)
        if lines:
            self._write(("\n" + "".join(line + "\n" for line in lines)).encode("utf-8", "replace"))

    def _write_meta(self, error):
        line = redact(json.dumps(self.metadata(error), ensure_ascii=False))
        data = (line + "\n").encode("utf-8", "replace")
        if self.meta_path is None:
            self.err.write(data)
            self.err.flush()
        else:
            try:
                with open(self.meta_path, "wb") as f:
                    f.write(data)
            except OSError as e:
                self.warn(f"cannot write the metadata to {self.meta_path}: {e.strerror}")
