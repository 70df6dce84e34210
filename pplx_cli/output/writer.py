"""Writers: answer text to stdout, reasoning where asked, sources, and one metadata object.

The contract (README "Output"): stdout carries only the answer (and, when asked, reasoning
and sources); it ends with exactly one newline. Metadata is one JSON object on one line,
on stderr or in a file (or, on a terminal, one summary line). Everything is written as
UTF-8 bytes, whatever the locale (a lone surrogate, which JSON can carry but UTF-8 cannot,
becomes U+FFFD's stand-in '?'), and flushed per piece so a pipe sees each event the moment
it is parsed.

When stdout cannot be written (a full disk, EIO; not a closed pipe), the writer stops
writing it but reads every piece to the end, so the answer, its metadata and its cost are
complete for the history; then it raises the error.
"""

import time

from pplx_cli import jsonsafe

from pplx_cli.errors import APIError, StreamError, WriteError, outcome, redact
from pplx_cli.dialects.pieces import ANSWER, BAD, META, PROGRESS, REASONING, TEXT, WARNING

#: Metadata keys in the order they are written; ones never seen are left out unless listed in ALWAYS.
META_ORDER = (
    "kind", "api", "id", "model", "server_time", "queries", "requests", "results", "pages", "failed", "embeddings", "created", "usage", "citations", "search_results", "search_queries", "fetch_url_results",
    "images", "finance_results", "sandbox", "files", "skills", "related_questions", "finish_reason", "request_id", "ratelimit",
    "reasoning", "skipped_events", "error",
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

    #: Text and reasoning pieces are joined once this many are kept (millions of tiny deltas
    #: would otherwise cost a list entry each).
    JOIN_EVERY = 4096

    def __init__(self, out, err, *, reasoning="hide", sources=False, meta=True, meta_path=None, citations="keep",
                 meta_style="json", render=None, out_terminal=False, err_terminal=False, status=None):
        """``render`` is None (plain text) or ``(width, color)`` to render Markdown on ``out``;
        ``out_terminal``/``err_terminal`` say that text from the network written there must
        have its control characters neutralised (piped output keeps it as received)."""
        self.started = time.monotonic()
        self.out = out
        self.err = err
        self.reasoning_mode = reasoning
        self.sources = sources
        self.meta_enabled = meta
        self.meta_path = meta_path
        self.meta_style = meta_style  # json, or summary: one line for a person (a terminal)
        self.meta = {}
        self.always = ALWAYS  # keys every answer's metadata has (a platform command has its own)
        self.reasoning = []
        self.text = []  # the answer's pieces, for the history
        self.skipped = 0
        self.wrote_text = False
        self.last = b""  # the last byte written to stdout
        self.reasoning_on_stdout = False
        self.reasoning_open = False  # reasoning written to stderr without its final newline yet
        self.out_error = None  # the WriteError that stopped stdout, raised once every piece is read
        self.delivered = False  # every piece was read and its text written: a pipe closed now lost nothing
        self.stripper = None
        if citations == "strip":
            from pplx_cli.dialects.citations import CitationStripper

            self.stripper = CitationStripper()
        self.err_terminal = err_terminal
        self.out_terminal = out_terminal
        self.status = status  # a terminal.StatusLine on stderr, or None
        from pplx_cli.errors import StreamRedactor

        # the key never reaches stdout, even split across deltas by a server that echoes it
        self.redactor = StreamRedactor()
        self.reasoning_redactor = StreamRedactor()
        self.neutraliser = None  # plain text to a terminal: control characters shown, not obeyed
        self.renderer = None
        self.links = {}
        if render is not None:
            from pplx_cli.output.render import MarkdownStream

            self.renderer = MarkdownStream(_Through(self), width=render[0], color=render[1])
        elif out_terminal:
            from pplx_cli.output.terminal import StreamNeutraliser

            self.neutraliser = StreamNeutraliser()

    def stop_status(self):
        """The progress line is gone for good (something is written to stdout)."""
        if self.status is not None:
            self.status.stop()

    def _write(self, data: bytes):
        if self.out_error is not None:
            return
        if self.out_terminal:  # the status line shares the terminal: erased before any stdout text
            self.stop_status()
        # state first: a signal can land between any two lines, and close() relies on it
        self.last = data[-1:]
        try:
            self.out.write(data)
            self.out.flush()
        except BrokenPipeError:
            raise
        except OSError as e:  # a full disk, EIO, a closed descriptor: read on, then report
            self.out_error = WriteError(f"cannot write to stdout: {e.strerror or e}")

    def _err(self, data: bytes):
        """Write to stderr; a stderr that fails has nowhere to report to."""
        if self.status is not None:
            self.status.clear()
        try:
            self.err.write(data)
            self.err.flush()
        except OSError:
            pass

    @staticmethod
    def _keep(parts: list, value: str):
        parts.append(value)
        if len(parts) >= AnswerWriter.JOIN_EVERY:
            parts[:] = ["".join(parts)]

    def write(self, piece):
        """Write one piece."""
        kind, value = piece
        if kind == TEXT:  # most pieces: what only the first or one after reasoning needs is set apart
            if not self.wrote_text or self.reasoning_open or self.reasoning_redactor.held:
                self._text_begins()
            self._keep(self.text, value)
            if self.stripper is not None:
                value = self.stripper.feed(value)
            self._text_out(value)
        elif kind == META:
            self.meta.update(value)
            if self.status is not None and (value.get("search_results") or value.get("fetch_url_results")):
                count = self._source_count()  # as the summary line counts them
                self.status.show(f"{count} source{'s' if count != 1 else ''} found")
            if self.renderer is not None and ("search_results" in value or "citations" in value or "fetch_url_results" in value):
                self._update_links()
        elif kind == REASONING:
            self._keep(self.reasoning, value)
            if self.status is not None:
                self.status.show(_phase(value))
            if self.reasoning_mode == "show" and not self.wrote_text:
                shown = self.reasoning_redactor.feed(value)
                shown = shown if self.renderer is None and self.neutraliser is None else _neutralise(shown)
                self._write(shown.encode("utf-8", "replace"))
                self.reasoning_on_stdout = True
            elif self.reasoning_mode == "stderr" and value:
                shown = self.reasoning_redactor.feed(value)
                shown = _neutralise(shown) if self.err_terminal else shown
                self._err(shown.encode("utf-8", "replace"))
                self.reasoning_open = not value.endswith("\n")
        elif kind == BAD:
            number, excerpt = value
            self.skipped += 1
            self.warn(f"skipped malformed event {number} (not JSON): {excerpt}")
        elif kind == WARNING:
            self.warn(value)
        elif kind == ANSWER:
            self.text[:] = [value]
        elif kind == PROGRESS and self.status is not None:
            self.status.show(value)

    def _text_begins(self):
        """Answer text follows: the progress line goes, reasoning held back or left open ends."""
        if not self.out_terminal:
            self.stop_status()  # gone when the answer starts
        elif self.status is not None and not self.wrote_text:
            self.status.show("writing")  # on the same terminal: gone with the first byte written
        self._end_reasoning()
        if self.reasoning_open:  # reasoning on stderr ends with its own newline before the answer
            self._err(b"\n")
            self.reasoning_open = False
        if self.reasoning_on_stdout and not self.wrote_text:
            self._write(b"\n" if self.last == b"\n" else b"\n\n")
        self.wrote_text = True

    def _end_reasoning(self):
        """Reasoning is over (the answer begins, or the response ends): what it held back as
        a key's possible start is written where the reasoning went."""
        rest = self.reasoning_redactor.flush()
        if not rest:
            return
        if self.reasoning_mode == "show" and self.reasoning_on_stdout and not self.wrote_text:
            self._write((rest if self.renderer is None and self.neutraliser is None else _neutralise(rest)).encode("utf-8", "replace"))
        elif self.reasoning_mode == "stderr":
            self._err((_neutralise(rest) if self.err_terminal else rest).encode("utf-8", "replace"))
            self.reasoning_open = not rest.endswith("\n")

    def _text_out(self, value: str, final: bool = False):
        """Answer text to stdout, redacted: rendered, neutralised for a terminal, or as received."""
        value = self.redactor.feed(value) + (self.redactor.flush() if final else "")
        if self.renderer is not None:
            if value:
                self.renderer.feed(value)
            return
        if self.neutraliser is not None:
            value = self.neutraliser.feed(value)
        if value:
            self._write(value.encode("utf-8", "replace"))

    def _update_links(self):
        from pplx_cli.dialects.citations import source_links

        links = source_links(self.meta)
        if links != self.links:
            self.links = links
            self.renderer.set_links(links)

    def answer(self) -> str:
        """The answer text written so far."""
        return "".join(self.text)

    def warn(self, message):
        from pplx_cli.output.terminal import neutralise_line

        self._err(f"pplx: warning: {neutralise_line(redact(message))}\n".encode("utf-8", "backslashreplace"))

    def print(self, text: str):
        """A line pplx formatted from what the service said (a run's id): to stdout as every
        text is, redacted, and neutralised on a terminal."""
        from pplx_cli.errors import redact

        text = redact(text)
        self.wrote_text = True
        self._write((_neutralise(text) if self.out_terminal else text).encode("utf-8", "replace"))

    def emit(self, data: bytes):
        """Output pplx formatted itself and does not keep (embeddings): written to stdout as is."""
        self.wrote_text = True
        self._write(data)

    def render(self, pieces, require_text=True):
        """Write every piece, then close; on an error close with it (metadata keeps what arrived).
        An answer with no text is an error unless ``require_text`` is false (a search with no
        results, say, which the command reports itself)."""
        try:
            for piece in pieces:
                self.write(piece)
        except BaseException as e:  # errors, Ctrl-C, SIGTERM: keep what arrived, say why in the metadata
            # a run the service ended (failed, cancelled...) still lists the sources it found
            self.close(error=outcome(e)[1], ended=isinstance(e, APIError))
            if self.out_error is not None and not isinstance(e, Exception):
                raise
            raise self.out_error or e
        if require_text and not self.wrote_text:
            error = StreamError("the response has no answer text")
            self.close(error=error.message)
            raise error
        self.delivered = self.out_error is None
        if self.out_error is not None:
            self.close(error=self.out_error.message)
            raise self.out_error
        self.close()
        if self.skipped:
            raise StreamError(f"{self.skipped} malformed event{'s' if self.skipped != 1 else ''} skipped")

    def close(self, error=None, ended=False):
        """Final newline, sources, metadata. Safe to call once. With an ``error``, sources are
        listed only when the service ``ended`` the run (failed, cancelled...): what it found
        is still worth having; an interruption or a lost connection lists none."""
        self.stop_status()
        self._text_out(self.stripper.flush() if self.stripper is not None else "", final=True)
        self._end_reasoning()
        if self.neutraliser is not None:
            rest = self.neutraliser.flush()
            if rest:
                self._write(rest.encode("utf-8", "replace"))
        if self.renderer is not None and not self.renderer.closed:
            try:
                self.renderer.close()  # renders the last block and ends with the newline
            except Exception as e:  # a renderer's failure must not lose the answer: it is in the history
                self.warn(f"could not render the answer: {e}")
            self.last = b"\n"
        if self.wrote_text or self.reasoning_on_stdout:
            if self.last != b"\n":
                self._write(b"\n")
        if self.reasoning_open:
            self._err(b"\n")
            self.reasoning_open = False
        if self.sources and (error is None or ended):
            self._write_sources()
        if self.meta_enabled:
            self._write_meta(error)

    def metadata(self, error=None) -> dict:
        """The metadata object: keys in a fixed order, the last value seen winning."""
        merged = dict(self.always)
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
        from pplx_cli.dialects.citations import listing_lines
        from pplx_cli.output.terminal import neutralise_line

        # a newline or an escape in a title or URL must not forge a line or drive a terminal
        lines = [neutralise_line(line) for line in listing_lines(self.meta)]
        if not lines:
            return
        if not self.wrote_text:
            self._err(b"pplx: note: there is no answer; the sources found are listed all the same\n")
        self._write(("\n" if self.wrote_text else "").encode() + "".join(line + "\n" for line in lines).encode("utf-8", "replace"))

    def _source_count(self) -> int:
        """Search results and fetched pages seen so far."""
        return sum(len(self.meta[key]) for key in ("search_results", "fetch_url_results") if isinstance(self.meta.get(key), list))

    def summary(self, error=None) -> str:
        """The metadata as one line for a person: model, sources, tokens, cost, time."""
        from pplx_cli.output.summary import summary_line

        return summary_line(self.metadata(error), self._source_count(), time.monotonic() - self.started)

    def _write_meta(self, error):
        if self.meta_path is None and self.meta_style == "summary":
            from pplx_cli.output.terminal import neutralise_line

            self._err((neutralise_line(redact(self.summary(error))) + "\n").encode("utf-8", "backslashreplace"))
            return
        line = redact(jsonsafe.dumps(self.metadata(error), ensure_ascii=False))
        data = (line + "\n").encode("utf-8", "replace")
        if self.meta_path is None:
            self._err(data)
        else:
            try:
                with open(self.meta_path, "wb") as f:
                    f.write(data)
            except OSError as e:
                self.warn(f"cannot write the metadata to {self.meta_path}: {e.strerror}")


def is_number(value) -> bool:
    """A number from a response that can be shown and summed (see :mod:`pplx_cli.numbers`)."""
    from pplx_cli.numbers import number

    return number(value) is not None


def _phase(reasoning: str) -> str:
    """The progress line's phase for a piece of reasoning."""
    line = reasoning.strip().split("\n")[-1] if reasoning.strip() else "thinking"
    if line.startswith("Searching: "):
        return f'searching for "{line[len("Searching: "):]}"'
    if line.startswith("Reading: "):
        return f"reading {line[len('Reading: '):]}"
    return line


def _neutralise(text: str) -> str:
    from pplx_cli.output.terminal import neutralise

    return neutralise(text)


class _Through:
    """The renderer's output: the writer's own stdout writes, so that a failure to write is
    handled once, the same way (read on, record, report)."""

    def __init__(self, writer):
        self.writer = writer

    def write(self, data: bytes):
        self.writer._write(data)

    def flush(self):
        pass
