"""The Agent API (``/v1/responses``): response bodies and event streams, with or without
``event:`` lines, as pieces (see :mod:`pplx_cli.dialects.pieces`).

What the service sends that needs care (README "The Agent API"):

- its own web search arrives as a ``function_call`` item named ``search_web``: not a tool
  call for the user, so nothing is printed for it;
- ``sequence_number`` may skip values, and event types it does not document are ignored
  (counted in :attr:`AgentDialect.unknown`);
- ``response.output_text.done`` (and the final response) carry the whole text: what the
  deltas missed is printed from it, so the output always ends with the complete answer;
- a ``[n]`` or ``[web:n]`` marker is a search result's ``id`` (ids continue across the
  searches of one run, in any order), or for a fetch-only answer a fetched page's 0-based
  position: sources are kept under those numbers, never renumbered
  (:func:`pplx_cli.dialects.citations.sources` says what each marker means);
- the other tools' items (code run in the sandbox, files shared, images, people and finance
  results, skills) are read by :mod:`pplx_cli.dialects.agent_items`; item types it does not
  know are counted in the final output (``tools.unknown``), never warned about: the API
  adds types;
- the model that answered is known only from the final response;
- any value may come with the wrong type: it is skipped, and the first such part noted in
  one warning (:class:`~pplx_cli.dialects.pieces.Dialect`).
"""

from typing import Iterable, Iterator

from pplx_cli.errors import APIError, StreamIncomplete
from pplx_cli.dialects.agent_items import AgentItems, _message_text
from pplx_cli.dialects.pieces import ANSWER, META, TEXT, Dialect, Piece, loads_event, typed_meta
from pplx_cli.dialects.tool_items import ToolItems
from pplx_cli.jsonsafe import decode
from pplx_cli.wire.bodies import error_message
from pplx_cli.wire.sse import Event

#: Statuses of a finished run that did not answer in full: exit 1, with what arrived.
FAILED = {"failed", "incomplete", "cancelled", "requires_action"}
TERMINAL_EVENTS = {f"response.{s}" for s in ("completed", *FAILED)}
#: Event types that carry nothing pplx needs (documented, or part of the Responses standard).
IGNORED_EVENTS = {
    "response.created", "response.in_progress", "response.queued",
    "response.content_part.added", "response.content_part.done", "response.output_text.annotation.added",
}
#: Tools the service runs itself: their function_call items are not for the client.
BUILTIN_CALLS = {"search_web", "fetch_url", "search_images", "search_people", "search_finance", "load_skill",
                 "sandbox", "share_file"}


class AgentDialect(Dialect, AgentItems):
    """The Agent API: bodies and streams, with or without ``event:`` lines."""

    name = "agent"

    def __init__(self):
        super().__init__()
        self.emitted = {}  # message item id ("" when the event names none) -> the text printed
        self.results = {}  # search results by id (by URL when they have none)
        self.queries = []  # what the engine searched for
        self.fetched = {}  # fetched pages by URL, in order: [web:0], [web:1], ...
        self.unknown = {}  # event type -> how many were ignored
        self.tools = ToolItems(self.note_malformed)  # the other tools' items, and unknown item types

    # ---- text ----

    def _key(self, item_id) -> str:
        """The key under which an item's text was printed: events that name no item and
        events that do still match when the run has only one message."""
        item_id = item_id if isinstance(item_id, str) else ""
        if item_id in self.emitted or len(self.emitted) != 1:
            return item_id
        (only,) = self.emitted
        return only if "" in (only, item_id) else item_id

    def _delta(self, item_id, delta):
        # a list per item: joining once at the end, not copying the growing text per delta
        self.emitted.setdefault(self._key(item_id), []).append(delta)
        return Piece(TEXT, delta)

    def _complete_text(self, item_id, full) -> list:
        """Pieces that make the printed text of an item equal its ``full`` text."""
        if not isinstance(full, str) or not full:
            return []
        key = self._key(item_id)
        parts = self.emitted.get(key, ())
        printed = _prefix_length(full, parts)  # compared part by part: a long answer is not joined again
        self.emitted[key] = [full]
        if printed == len(full):
            return [Piece(ANSWER, full)] if len(self.emitted) == 1 else []  # the answer kept is the one string
        if printed is not None:
            return [Piece(TEXT, full[printed:])]
        printed = "".join(parts)
        # what was printed cannot be taken back: the complete answer follows it, and the
        # answer kept (history, -c) is the complete one alone
        answer = "".join("".join(parts) for parts in self.emitted.values())
        return [*self.warn_once("some of the streamed answer was lost; the complete answer follows"),
                Piece(TEXT, "\n\n" + full), Piece(ANSWER, answer)]

    # ---- streams ----

    def iter_stream(self, events: Iterable[Event]) -> Iterator[Piece]:
        """Yield the pieces of an Agent API event stream."""
        yield Piece(META, {"api": self.name})
        emitted = self.emitted
        for event in events:
            self.events += 1
            data = event.data
            if data == "[DONE]":  # not sent by the Agent API, but harmless
                break
            try:  # the usual event, decoded here; anything else is loads_event's to judge
                obj = decode(data)
            except ValueError:
                obj = None
            if type(obj) is not dict:
                obj, bad = loads_event(event, self.events)
                if bad:
                    yield bad
                    continue
            kind = obj.get("type")
            if type(kind) is not str:
                kind = event.type
            if kind == "response.output_text.delta":  # most events: kept short
                delta = obj.get("delta")
                if type(delta) is str:
                    if delta:
                        item = obj.get("item_id")
                        parts = emitted.get(item) if type(item) is str else None
                        if parts is None:
                            yield self._delta(item, delta)
                        else:
                            parts.append(delta)
                            yield Piece(TEXT, delta)
                elif delta is not None:
                    self.note_malformed("text delta")
                if self.malformed is not None:
                    yield from self.warning()
                event = data = obj = None  # not held while the next event is read: a large one is held once
                continue
            yield from self._event(kind, obj)
            event = data = obj = None
            if self.complete:
                return
            yield from self.warning()
        if not self.complete:
            raise StreamIncomplete(f"the stream ended before its final event after {self.events} events", events=self.events)

    def _event(self, kind: str, obj: dict):
        """The pieces of an event other than a text delta; the final event sets ``complete``."""
        if kind == "response.output_text.done":
            yield from self._complete_text(obj.get("item_id"), obj.get("text"))
        elif kind.startswith("response.reasoning."):
            yield from self._reasoning(kind, obj)
        elif kind == "response.output_item.done":
            yield from self._item(obj.get("item"))
        elif kind == "response.output_item.added":
            if isinstance(obj.get("item"), dict):
                yield from self.tools.started(obj["item"])
        elif kind == "response.skill.loaded":  # SDK 0.46.1: "name"; an earlier guess of this project's fake: "skill.name"
            skill = obj.get("skill")
            yield from self.tools.skill_loaded(obj.get("name") or (skill.get("name") if isinstance(skill, dict) else None))
        elif kind in ("response.created", "response.in_progress", "response.queued"):
            response = obj.get("response")
            if isinstance(response, dict):
                yield Piece(META, self._response_meta(response, final=False))
        elif kind in TERMINAL_EVENTS:
            self.complete = True
            response = obj.get("response") if isinstance(obj.get("response"), dict) else obj
            yield from self._final(response, kind.rpartition(".")[2])
        elif kind == "error" or (obj.get("error") and not kind.startswith("response.")):
            # in a flat error event ({"type": "error", "message", "code"}) the type is the event's, not the error's
            raise APIError(error_message({k: v for k, v in obj.items() if k not in ("type", "sequence_number")}))
        elif kind not in IGNORED_EVENTS:
            self.unknown[kind] = self.unknown.get(kind, 0) + 1

    def _final(self, response, status):
        """Pieces from a terminal response object; an error for a run that did not complete."""
        status = response.get("status") if isinstance(response.get("status"), str) and response.get("status") else status
        output = response.get("output")
        if not isinstance(output, list):
            if output is not None:
                self.note_malformed("output")
            output = []
        messages = []
        for item in output:
            if not isinstance(item, dict):
                continue
            self.tools.count_unknown(item)
            if item.get("type") == "message":
                messages.append(item)
            else:
                self._item(item)  # sources: kept, and written before the text
        if self.results or self.fetched or self.tools.meta():
            # a body's sources before its text: a terminal links the markers as it renders
            yield Piece(META, self.sources_meta())
        if not self.emitted:
            text = "".join(_message_text(m) for m in messages)
            if text:
                yield self._delta(None, text)
        else:
            for item in messages:
                yield from self._complete_text(item.get("id"), _message_text(item))
        meta = self._response_meta(response, final=True)
        meta.update(self.sources_meta())
        meta["finish_reason"] = _finish_reason(response, status)
        yield from self.warning()
        yield Piece(META, meta)
        if status in FAILED:
            raise APIError(self._failure(response, status, output))

    def _failure(self, response, status, output) -> str:
        """The one-line reason a run did not complete."""
        err = response.get("error")
        if err:
            return f"response {status}: {error_message(err)}"
        reason = _incomplete_reason(response)
        if reason in ("max_output_tokens", "max_tokens"):
            budget = response.get("max_output_tokens")
            budget = f" ({budget} tokens)" if isinstance(budget, int) and not isinstance(budget, bool) else ""
            if not any(self.emitted.values()):
                return (f"response incomplete: the reasoning used the whole output budget{budget} before any answer; "
                        "raise --max-tokens")
            return f"response incomplete: the answer was cut off at the output budget{budget}; raise --max-tokens"
        if status == "requires_action":
            calls = sorted({i.get("name") for i in output if isinstance(i, dict) and i.get("type") == "function_call"
                            and isinstance(i.get("name"), str) and i.get("name") not in BUILTIN_CALLS})
            what = f" ({', '.join(calls)})" if calls else ""
            return f"response requires_action: the model asked for a function call{what} that pplx does not run"
        return f"response {status}: {reason}" if reason else f"response {status}"

    def iter_body(self, obj: dict) -> Iterator[Piece]:
        """Yield the pieces of a non-streamed Agent API response body."""
        yield Piece(META, {"api": self.name})
        status = obj.get("status") if isinstance(obj.get("status"), str) and obj.get("status") else None
        if obj.get("error") and status is None:
            raise APIError(error_message(obj))
        self.complete = True
        yield from self._body_items(obj.get("output"))
        yield from self._final(obj, status or "completed")

    def _response_meta(self, response: dict, final: bool) -> dict:
        """Metadata from a response object. Before it is final, its ``model`` is the effort's
        name, not the model that answers: only the final one is kept."""
        meta, malformed = typed_meta(response, ("id", "model", "created_at", "usage") if final else ("id", "created_at", "usage"))
        self.note_malformed(malformed)
        if "created_at" in meta:
            meta["created"] = meta.pop("created_at")
        usage = meta.get("usage")
        if isinstance(usage, dict):
            usage = dict(usage)
            # the chat names too, so scripts read the same keys whatever the API
            if "input_tokens" in usage:
                usage.setdefault("prompt_tokens", usage["input_tokens"])
            if "output_tokens" in usage:
                usage.setdefault("completion_tokens", usage["output_tokens"])
            meta["usage"] = usage
        return {k: v for k, v in meta.items() if v is not None}


def _incomplete_reason(response):
    details = response.get("incomplete_details")
    reason = details.get("reason") if isinstance(details, dict) else None
    return reason if isinstance(reason, str) and reason else None


def _prefix_length(full: str, parts) -> int:
    """len of the text ``parts`` make when it is a start of ``full`` (their join, unjoined); else None."""
    at = 0
    for part in parts:
        if not full.startswith(part, at):
            return None
        at += len(part)
    return at


def _finish_reason(response, status):
    if status == "completed":
        return "stop"
    reason = _incomplete_reason(response)
    if reason in ("max_output_tokens", "max_tokens"):
        return "length"
    return reason or status
