"""The Agent API's tool items beyond web search and fetch: the code its sandbox ran and what
that printed, the files it shared, image and finance results, skills loaded. Items in,
pieces out, and what they said kept for the metadata; no I/O.

Shapes are SDK 0.46.1's output items (../shared/AGENT_TOOLS.md §1.3, §2, §9.1) but for
``finance_results``, which Perplexity names without a field list: its shape here
(``results[].sources``, URL strings or ``{url, title}``) is a third party's reading,
unconfirmed. No capture of any of these items has been seen; the stream carries them in
``response.output_item.added``/``.done`` (no event types of their own), which is also an
inference from the SDK's event union.
"""

from pplx_cli.dialects.pieces import META, PROGRESS, REASONING, Piece

#: Output item types read without a note (SDK 0.46.1's OutputItem union, the older
#: ``advisor_result``, and the documented ``people_search_results`` and ``finance_results``).
#: Others, and the SDK's ``unknown`` placeholder, are counted for ``-v``.
KNOWN_ITEMS = frozenset({
    "message", "search_results", "image_search_results", "fetch_url_results", "function_call", "mcp_list_tools",
    "mcp_call", "mcp_approval_request", "tool_search_output", "skill_loaded", "sandbox_results", "sandbox_write_file",
    "sandbox_read_file", "sandbox_edit_file", "sandbox_grep", "sandbox_glob", "sandbox_apply_patch", "share_file",
    "people_search_results", "finance_results", "advisor_result",
})
#: Characters of a run's stdout and of its stderr kept (in the metadata) and shown (as
#: reasoning): the service keeps about 1 MiB per stream; a big result belongs in a shared file.
OUTPUT_LIMIT = 4096
#: Characters of the code kept and shown.
CODE_LIMIT = 65536


def _text(value):
    return value if isinstance(value, str) else None


def _whole(value):
    return value if type(value) is int else None


def _cut(text: str, limit: int):
    """``(text, characters cut)``: ``text`` at most ``limit`` characters long."""
    return (text, 0) if len(text) <= limit else (text[:limit], len(text) - limit)


def _indented(text: str, cut: int = 0) -> str:
    lines = "".join(f"    {line}\n" for line in text.rstrip("\n").split("\n"))
    return lines + (f"    [... {cut:,} more characters]\n" if cut else "")


class ToolItems:
    """What a run's tool items said, in the order they came; ``read`` an item (or an event's
    results) for its pieces. Each is kept once, however often it comes (a stream's item
    and the final response's copy of it)."""

    def __init__(self, note_malformed):
        self.note_malformed = note_malformed
        self.sandbox = {}  # call id (or position) -> the run as the metadata keeps it
        self.files = {}  # file id (or call id) -> {id, filename, bytes, error?}
        self.images = {}  # image URL -> result
        self.image_queries = []  # what the image searches looked for
        self.finance = []  # finance results as received
        self._finance_seen = set()
        self.skills = []  # names of the skills loaded
        self.unknown = {}  # item type -> how many the final output held

    def meta(self) -> dict:
        """The metadata keys of what was kept: only those with something in them."""
        meta = {}
        for key, value in (("images", list(self.images.values())), ("finance_results", list(self.finance)),
                           ("sandbox", list(self.sandbox.values())), ("files", list(self.files.values())),
                           ("skills", list(self.skills))):
            if value:
                meta[key] = value
        return meta

    def count_unknown(self, item):
        """Count an item of the final output whose type pplx does not read."""
        kind = item.get("type")
        if not isinstance(kind, str):
            kind = "(no type)"
        elif kind == "unknown":  # the SDK's placeholder for a variant it has no schema for
            name = item.get("item_name")
            kind = f"unknown ({' '.join(name.split())[:100]})" if isinstance(name, str) and name.strip() else "unknown"
        elif kind in KNOWN_ITEMS:
            return
        self.unknown[kind] = self.unknown.get(kind, 0) + 1

    def started(self, item) -> list:
        """The progress line for an item that has begun (``response.output_item.added``)."""
        if item.get("type") == "sandbox_results":
            return [Piece(PROGRESS, f"running {_text(item.get('language')) or 'code'}")]
        return []

    def read(self, item) -> list:
        """The pieces of a finished item: reasoning for what a tool did, once; metadata when it changed."""
        kind = item.get("type")
        if kind == "sandbox_results":
            return self._sandbox(item)
        if kind == "share_file":
            return self._share(item)
        if kind == "image_search_results":
            return self.add_images(item.get("results"), item.get("queries"))
        if kind == "finance_results":
            return self._finance(item)
        if kind == "skill_loaded":
            return self.skill_loaded(item.get("name"))
        if isinstance(kind, str) and kind.startswith("sandbox_"):
            return self._file_tool(kind[len("sandbox_"):], item)
        return []

    def _sandbox(self, item) -> list:
        key = _text(item.get("call_id")) or f"#{len(self.sandbox)}"
        if key in self.sandbox:
            return []
        code, code_cut = _cut(_text(item.get("code")) or "", CODE_LIMIT)
        entry = {"call_id": _text(item.get("call_id")), "language": _text(item.get("language")),
                 "status": _text(item.get("status")), "container_id": _text(item.get("container_id")), "code": code}
        if code_cut:
            entry["code_truncated"] = code_cut
        results = item.get("results")
        if results is not None and not isinstance(results, list):
            self.note_malformed("sandbox results")
        entry["results"] = [self._result(r) for r in results if isinstance(r, dict)] if isinstance(results, list) else []
        entry = {k: v for k, v in entry.items() if v is not None}
        self.sandbox[key] = entry
        runs = "".join(_result_lines(r) for r in entry["results"])
        shown = f"Running {entry.get('language') or 'code'}:\n" + (_indented(code, code_cut) if code else "") + runs
        last = entry["results"][-1] if entry["results"] else None
        done = f"ran {entry.get('language') or 'code'}" + (f": exit {last['exit_code']}" if last and "exit_code" in last else "")
        return [Piece(REASONING, shown), Piece(PROGRESS, done), Piece(META, self.meta())]

    def _result(self, result: dict) -> dict:
        """One execution as the metadata keeps it: its output cut to OUTPUT_LIMIT each."""
        out = {"status": _text(result.get("status")), "exit_code": _whole(result.get("exit_code")),
               "duration_ms": _whole(result.get("duration_ms"))}
        for stream in ("stdout", "stderr"):
            text, cut = _cut(_text(result.get(stream)) or "", OUTPUT_LIMIT)
            out[stream] = text
            if cut:
                out[f"{stream}_truncated"] = cut
        return {k: v for k, v in out.items() if v is not None}

    def _share(self, item) -> list:
        fid, name, error = _text(item.get("file_id")), _text(item.get("filename")), _text(item.get("error"))
        key = fid or _text(item.get("call_id")) or f"#{len(self.files)}"
        if key in self.files:
            return []
        entry = {"id": fid, "filename": name, "bytes": _whole(item.get("size_bytes")), "error": error}
        self.files[key] = {k: v for k, v in entry.items() if v is not None}
        shown = " ".join((name or fid or "a file").split())
        if error or not fid:
            line = f"Could not share {shown}: {error or 'no file id'}\n"
        else:
            line = f"Shared {shown}" + (f" ({entry['bytes']:,} bytes)" if entry["bytes"] is not None else "") + "\n"
        return [Piece(REASONING, line), Piece(META, self.meta())]

    def searching_images(self, queries) -> list:
        """``Searching images: ...`` for the queries not said yet (the stream's event, then its item, say them both)."""
        new = [q for q in queries if isinstance(q, str) and q not in self.image_queries] if isinstance(queries, list) else []
        self.image_queries += new
        return [Piece(REASONING, "Searching images: " + "; ".join(new) + "\n")] if new else []

    def add_images(self, results, queries=None) -> list:
        """Image results (an item's or a ``response.reasoning.image_search_results`` event's)."""
        pieces = self.searching_images(queries)
        if results is not None and not isinstance(results, list):
            self.note_malformed("image results")
        added = False
        for result in results if isinstance(results, list) else ():
            url = result.get("image_url") if isinstance(result, dict) else None
            if isinstance(url, str) and url and url not in self.images:
                self.images[url] = {k: result[k] for k in ("image_url", "origin_url", "title", "width", "height")
                                    if k in result}
                added = True
        return pieces + ([Piece(META, self.meta())] if added else [])

    def _finance(self, item) -> list:
        results = item.get("results")
        added = False
        for result in results if isinstance(results, list) else ():
            key = repr(sorted(result.items()))[:2000] if isinstance(result, dict) else None
            if key is not None and key not in self._finance_seen:
                self._finance_seen.add(key)
                self.finance.append(result)
                added = True
        if not added:
            return []
        what = [t for t in (item.get("tickers") or []) if isinstance(t, str)] if isinstance(item.get("tickers"), list) else []
        kinds = [c for c in (item.get("categories") or []) if isinstance(c, str)] if isinstance(item.get("categories"), list) else []
        line = "Looking up financial data" + (f": {', '.join(kinds)}" if kinds else "") + (f" for {', '.join(what)}" if what else "")
        return [Piece(REASONING, line + "\n"), Piece(META, self.meta())]

    def skill_loaded(self, name) -> list:
        """A skill the run loaded (an item, or a ``response.skill.loaded`` event): on the progress line."""
        if not isinstance(name, str) or not name:
            return []
        pieces = [Piece(PROGRESS, f"loaded skill {name}")]
        if name not in self.skills:
            self.skills.append(name)
            pieces.append(Piece(META, self.meta()))
        return pieces

    def _file_tool(self, tool, item) -> list:
        """One line of reasoning for the sandbox's file tools (write, read, edit, grep, glob, apply_patch)."""
        path = " ".join((_text(item.get("file_path")) or "").split())
        error = _text(item.get("error"))
        verbs = {"write_file": "Wrote", "read_file": "Read", "edit_file": "Edited", "grep": "Searched files",
                 "glob": "Listed files", "apply_patch": "Patched files"}
        if tool not in verbs:
            return []
        line = verbs[tool] + (f" {path}" if path else "")
        if error:
            return [Piece(REASONING, f"{line}: failed: {' '.join(error.split())}\n")]
        if tool == "write_file" and _whole(item.get("size_bytes")) is not None:
            line += f" ({item['size_bytes']:,} bytes)"
        elif tool in ("grep", "glob") and _whole(item.get("count")) is not None:
            line += f": {item['count']:,} found"
        elif tool == "apply_patch":
            parts = [f"{what} {', '.join(n for n in item[what] if isinstance(n, str))}" for what in ("added", "modified", "deleted")
                     if isinstance(item.get(what), list) and item[what]]
            line += (": " + "; ".join(parts)) if parts else ""
        return [Piece(REASONING, line + "\n")]


def _result_lines(result: dict) -> str:
    """An execution as reasoning: its exit code, time, status when not completed, and output."""
    head = f"Exit {result['exit_code']}" if "exit_code" in result else "Ran"
    if "duration_ms" in result:
        head += f" ({result['duration_ms']:,} ms)"
    if result.get("status") not in (None, "completed"):
        head += f", {result['status']}"
    out = head + "\n"
    for stream in ("stdout", "stderr"):
        if result.get(stream):
            out += (f"{stream}:\n" if stream == "stderr" else "") + _indented(result[stream], result.get(f"{stream}_truncated", 0))
    return out
