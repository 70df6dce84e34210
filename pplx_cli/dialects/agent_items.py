"""What the Agent API's output items and reasoning events say: the sources (search, people
and fetch results), and through :class:`~pplx_cli.dialects.tool_items.ToolItems` the code
run, files shared, images, finance results and skills. :class:`AgentItems` is mixed into
:class:`~pplx_cli.dialects.agent.AgentDialect`, whose state (``results``, ``queries``,
``fetched``, ``tools``) it keeps."""

from pplx_cli.dialects.pieces import META, REASONING, Piece
from pplx_cli.jsonsafe import as_text


class AgentItems:
    """The items and reasoning half of the Agent API dialect."""

    # ---- sources ----

    def _add_results(self, results, queries=None) -> bool:
        changed = False
        if queries is not None and not isinstance(queries, list):
            self.note_malformed("search queries")
        for query in queries if isinstance(queries, list) else ():
            if isinstance(query, str) and query not in self.queries:
                self.queries.append(query)
                changed = True
        if results is not None and not isinstance(results, list):
            self.note_malformed("search results")
        for result in results if isinstance(results, list) else ():
            if not isinstance(result, dict):
                continue
            key = result.get("id") if result.get("id") is not None else result.get("url")
            if key is None:
                continue
            key = _hashable(key)
            if key not in self.results:
                self.results[key] = result
                changed = True
        return changed

    def _add_fetched(self, contents) -> bool:
        changed = False
        if contents is not None and not isinstance(contents, list):
            self.note_malformed("fetched pages")
        for page in contents if isinstance(contents, list) else ():
            if isinstance(page, dict) and isinstance(page.get("url"), str) and page["url"] not in self.fetched:
                self.fetched[page["url"]] = page
                changed = True
        return changed

    def sources_meta(self) -> dict:
        """The sources seen so far, as metadata: search results ordered by id, their URLs as
        ``citations``, the queries, fetched pages (when there were any), and what the other
        tools found (images, finance results, code run, files shared, skills)."""
        results = sorted(self.results.values(), key=_by_id)
        meta = {"search_results": results, "citations": [r["url"] for r in results if isinstance(r.get("url"), str) and r["url"]],
                "search_queries": list(self.queries)}
        if self.fetched:
            meta["fetch_url_results"] = list(self.fetched.values())
        meta.update(self.tools.meta())
        return meta

    # ---- items ----

    def _item(self, item) -> list:
        """The pieces of a finished output item (a message's are the dialect's own)."""
        if not isinstance(item, dict):
            return []
        kind = item.get("type")
        if kind == "search_results" and self._add_results(item.get("results"), item.get("queries")):
            return [Piece(META, self.sources_meta())]
        if kind == "people_search_results":  # the web results' shape, ids in the same sequence [inferred]
            queries = [q for q in item.get("queries") or () if isinstance(q, str)] if isinstance(item.get("queries"), list) else []
            said = [q for q in queries if q not in self.queries]
            if not self._add_results(item.get("results"), queries):
                return []
            return ([Piece(REASONING, "Searching people: " + "; ".join(said) + "\n")] if said else []) + [Piece(META, self.sources_meta())]
        if kind == "fetch_url_results" and self._add_fetched(item.get("contents")):
            return [Piece(META, self.sources_meta())]
        if kind == "message" and self.emitted:
            return self._complete_text(item.get("id"), _message_text(item))
        pieces = self.tools.read(item)
        if pieces and pieces[-1].kind == META:  # the tools' keys with the sources they sit beside
            pieces[-1] = Piece(META, self.sources_meta())
        return pieces

    def _reasoning(self, kind, obj):
        what = kind[len("response.reasoning."):]
        if what == "search_results":
            if self._add_results(obj.get("results")):
                yield Piece(META, self.sources_meta())
        elif what == "search_queries":
            queries = _strings(obj.get("queries"))
            if queries:
                self._add_results(None, queries)
                yield Piece(REASONING, "Searching: " + "; ".join(queries) + "\n")
        elif what == "fetch_url_queries":
            urls = _strings(obj.get("urls")) or _strings(obj.get("queries"))
            if urls:
                yield Piece(REASONING, "Reading: " + "; ".join(urls) + "\n")
        elif what == "fetch_url_results":
            if self._add_fetched(obj.get("contents")):
                yield Piece(META, self.sources_meta())
        elif what == "image_search_queries":
            yield from self.tools.searching_images(obj.get("queries"))
        elif what == "image_search_results":
            if self.tools.add_images(obj.get("results")):
                yield Piece(META, self.sources_meta())
        else:
            for key in ("delta", "text", "thought"):
                text = obj.get(key)
                if isinstance(text, str) and text:
                    yield Piece(REASONING, text if text.endswith("\n") or key == "delta" else text + "\n")
                    return

    def _body_items(self, output):
        """A body's items in order: what a stream's reasoning events would have said (the
        searches run, the pages read), so that ask shows what stream shows, and what each
        other tool did."""
        for item in output if isinstance(output, list) else ():
            if not isinstance(item, dict) or item.get("type") == "message":
                continue
            if item.get("type") == "search_results" and isinstance(item.get("queries"), list):
                queries = [q for q in item["queries"] if isinstance(q, str)]
                if queries:
                    yield Piece(REASONING, "Searching: " + "; ".join(queries) + "\n")
            elif item.get("type") == "fetch_url_results" and isinstance(item.get("contents"), list):
                urls = [c["url"] for c in item["contents"] if isinstance(c, dict) and isinstance(c.get("url"), str)]
                if urls:
                    yield Piece(REASONING, "Reading: " + "; ".join(urls) + "\n")
            elif item.get("type") not in ("search_results", "fetch_url_results"):
                yield from self._item(item)


def _hashable(key):
    # a list or object id is unhashable, and repr() of a deeply nested one raises
    return key if isinstance(key, (str, int, float)) else as_text(key, 1000)


def _strings(values) -> list:
    """The strings in ``values`` when it is a list, else none."""
    return [v for v in values if isinstance(v, str)] if isinstance(values, list) else []


def _by_id(result):
    """Sort key: results with a numeric id by id, then the others in arrival order."""
    key = result.get("id")
    if isinstance(key, (int, float)) and not isinstance(key, bool):
        return (0, key)
    return (1, 0)


def _message_text(item) -> str:
    content = item.get("content")
    return "".join(part.get("text") or "" for part in content if isinstance(part, dict)
                   and part.get("type") == "output_text" and isinstance(part.get("text"), str)) if isinstance(content, list) else ""
