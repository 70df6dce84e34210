"""Realistic Perplexity streams for the benchmark and the stream-mode measurement.

Chat completions: the same answer in both shapes, ``full`` (every chunk repeats the metadata
and the whole message so far) and ``concise`` (text deltas only, metadata in the final
``done`` chunk). The Agent API (``/v1/responses``): the same answer as a stream of typed
events in the order of a real capture (/work/shared/PERPLEXITY_API.md, "Agent API: stream"),
and the non-streamed bodies of both APIs.
"""

import json

WORDS = ("a", "qubit", "can", "be", "0", "and", "1", "at", "once", "[1];", "so", "some", "tasks", "run",
         "fast", "but", "noise", "is", "hard", "to", "fix", "[2].")

SEARCH_RESULTS = [
    {"title": f"Source {i}", "url": f"https://example.org/source/{i}", "date": "2025-01-02",
     "last_updated": "2025-06-01", "snippet": "A realistic snippet of search-result text. " * 4}
    for i in range(1, 6)
]
CITATIONS = [r["url"] for r in SEARCH_RESULTS]


def _usage(completion, final):
    cost = {"input_tokens_cost": 0.00001 if final else 0, "output_tokens_cost": completion * 1e-6 if final else 0,
            "request_cost": 0.005 if final else 0, "total_cost": (0.00501 + completion * 1e-6) if final else 0}
    return {"prompt_tokens": 12, "completion_tokens": completion, "total_tokens": 12 + completion,
            "search_context_size": "low", "citation_tokens": 0, "num_search_queries": 1, "cost": cost}


def deltas(n):
    """n text deltas of one or two words each."""
    return [(WORDS[i % len(WORDS)] + " ") for i in range(n - 1)] + ["end."]


def _event(obj):
    # formatted as the service sends it: spaces after ':' and ','
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def full_stream(n, model="sonar"):
    """The events (bytes, one per chunk) of an n-chunk full-mode stream."""
    base = {"id": "bench-full", "model": model, "created": 1763900000, "object": "chat.completion.chunk"}
    so_far = []
    events = []
    for i, d in enumerate(deltas(n)):
        so_far.append(d)
        last = i == n - 1
        events.append(_event({**base, "usage": _usage(i + 1, last), "citations": CITATIONS, "search_results": SEARCH_RESULTS,
                              "choices": [{"index": 0, "finish_reason": "stop" if last else None,
                                           "message": {"role": "assistant", "content": "".join(so_far)},
                                           "delta": {"role": "assistant", "content": d}}]}))
    return events


def concise_stream(n, model="sonar"):
    """The events of the same answer in concise mode."""
    base = {"id": "bench-concise", "model": model, "created": 1763900000}
    ds = deltas(n)
    events = [_event({**base, "object": "chat.completion.chunk",
                      "choices": [{"index": 0, "finish_reason": None, "delta": {"role": "assistant", "content": d}}]})
              for d in ds]
    events.append(_event({**base, "object": "chat.completion.done", "usage": _usage(n, True), "citations": CITATIONS,
                          "search_results": SEARCH_RESULTS,
                          "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "".join(ds)}}]}))
    return events


def answer_text(n):
    """The answer both stream shapes carry."""
    return "".join(deltas(n))


def marked_stream(n):
    """n events whose texts are unique tokens ``t0000 ``..., for timing each event's delivery."""
    tokens = [f"t{i:04d} " for i in range(n)]
    events = [_event({"id": "bench-lat", "model": "sonar", "object": "chat.completion.chunk",
                      "choices": [{"index": 0, "finish_reason": "stop" if i == n - 1 else None,
                                   "delta": {"role": "assistant", "content": t}}]})
              for i, t in enumerate(tokens)]
    return events, tokens


# ---- the Agent API -----------------------------------------------------------------------

AGENT_ID = "resp_0b5e7c1d9a8f4e2b"
AGENT_MSG = "msg_5d1f0c3a7b9e4f62"
AGENT_MODEL = "perplexity/sonar"
AGENT_QUERIES = ["how do qubits work", "quantum computing error correction"]
AGENT_RESULTS = [
    {"id": i, "url": f"https://example.org/source/{i}", "title": f"Source {i} - a realistic page title",
     "snippet": "A realistic snippet of search-result text, as the Agent API returns it. " * 3,
     "date": "2025-01-02", "last_updated": "2026-06-01", "source": "web"}
    for i in range(1, 11)
]


def _agent_event(obj):
    # as the service sends it: an ``event:`` line, then compact JSON on one ``data:`` line
    return b"event: " + obj["type"].encode() + b"\ndata: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def _agent_response(status, output, usage, model=AGENT_MODEL):
    return {"id": AGENT_ID, "object": "response", "created_at": 1790374547,
            "completed_at": 1790374551 if status == "completed" else None, "status": status, "background": False,
            "store": False, "model": model, "error": None, "incomplete_details": None, "output": output, "usage": usage}


def _agent_usage(output_tokens):
    return {"input_tokens": 3007, "output_tokens": output_tokens, "total_tokens": 3007 + output_tokens,
            "input_tokens_details": {"cache_creation_input_tokens": 1224, "cache_read_input_tokens": 1780,
                                     "cached_tokens": 1780},
            "output_tokens_details": {"reasoning_tokens": 0},
            "tool_calls_details": {"search_web": {"cost_usd": 0.001, "invocation": 1}},
            "cost": {"currency": "USD", "input_cost": 0, "output_cost": round(output_tokens * 1e-6, 8),
                     "cache_creation_cost": 0.00015, "cache_read_cost": 0.00002, "tool_calls_cost": 0.001,
                     "tool_calls_cost_details": {"search_web": 0.001},
                     "total_cost": round(0.00117 + output_tokens * 1e-6, 8)}}


def _agent_items(text):
    search = {"type": "search_results", "queries": AGENT_QUERIES, "results": AGENT_RESULTS}
    message = {"type": "message", "id": AGENT_MSG, "role": "assistant", "status": "completed",
               "content": [{"type": "output_text", "text": text, "annotations": []}]}
    return search, message


def agent_events(texts):
    """The events of an Agent API stream whose answer is the deltas ``texts``, in three lists.

    ``(head, deltas, tail)``: the events before the first delta (created, in_progress, the
    search_web function_call item, the search queries and results, the search_results item
    done, the message item added with ``content: null``), one event per delta, and the
    events after (output_text.done, the message item done, response.completed with usage and
    cost). ``sequence_number`` rises with an occasional gap, as in real captures.
    """
    seq = -1

    def nxt(gap=False):
        nonlocal seq
        seq += 2 if gap else 1
        return seq

    text = "".join(texts)
    search, message = _agent_items(text)
    call_id = "call_7f3a2b1c9d8e"
    head = [
        _agent_event({"type": "response.created", "sequence_number": nxt(),
                      "response": _agent_response("in_progress", [], None)}),
        _agent_event({"type": "response.in_progress", "sequence_number": nxt(),
                      "response": _agent_response("in_progress", [], None)}),
        _agent_event({"type": "response.output_item.added", "sequence_number": nxt(gap=True), "output_index": 0,
                      "item": {"type": "function_call", "id": "fc_2c4e6a8b0d1f", "call_id": call_id,
                               "name": "search_web", "arguments": json.dumps({"queries": AGENT_QUERIES}, separators=(",", ":")),
                               "status": "completed"}}),
        _agent_event({"type": "response.reasoning.search_queries", "sequence_number": nxt(), "call_id": call_id,
                      "queries": AGENT_QUERIES, "thought": "Searching the web..."}),
        _agent_event({"type": "response.reasoning.search_results", "sequence_number": nxt(), "call_id": call_id,
                      "results": AGENT_RESULTS, "thought": f"Found {len(AGENT_RESULTS)} results"}),
        _agent_event({"type": "response.output_item.done", "sequence_number": nxt(), "output_index": 0, "item": search}),
        _agent_event({"type": "response.output_item.added", "sequence_number": nxt(), "output_index": 1,
                      "item": {"type": "message", "id": AGENT_MSG, "role": "assistant", "content": None}}),
    ]
    deltas_ = [_agent_event({"type": "response.output_text.delta", "sequence_number": nxt(gap=i % 97 == 96),
                             "item_id": AGENT_MSG, "output_index": 1, "content_index": 0, "delta": d})
               for i, d in enumerate(texts)]
    tail = [
        _agent_event({"type": "response.output_text.done", "sequence_number": nxt(), "item_id": AGENT_MSG,
                      "output_index": 1, "content_index": 0, "text": text}),
        _agent_event({"type": "response.output_item.done", "sequence_number": nxt(), "output_index": 1, "item": message}),
        _agent_event({"type": "response.completed", "sequence_number": nxt(),
                      "response": _agent_response("completed", [search, message], _agent_usage(len(texts)))}),
    ]
    return head, deltas_, tail


def agent_stream(n):
    """The events (bytes, one per event) of an Agent API answer of n ``output_text.delta`` events."""
    head, ds, tail = agent_events(deltas(n))
    return head + ds + tail


def marked_agent_stream(n):
    """An Agent API stream of n deltas ``t0000 ``..., for timing each delta's delivery.

    Returns ``(parts, tokens)`` with token i in part i + 1: the events before the first
    delta are sent together as part 0 and the events after the last one as the last part.
    """
    tokens = [f"t{i:04d} " for i in range(n)]
    head, ds, tail = agent_events(tokens)
    return [b"".join(head)] + ds + [b"".join(tail)], tokens


def chat_body(text, model="sonar"):
    """A non-streamed chat completions body answering ``text``."""
    return {"id": "bench-body", "model": model, "created": 1763900000, "object": "chat.completion",
            "usage": _usage(len(text.split()), True), "citations": CITATIONS, "search_results": SEARCH_RESULTS,
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}]}


def agent_body(text):
    """A non-streamed Agent API (``/v1/responses``) body answering ``text``."""
    return _agent_response("completed", list(_agent_items(text)), _agent_usage(len(text.split())))


if __name__ == "__main__":
    for n in (20, 3000):
        full = sum(len(e) for e in full_stream(n))
        concise = sum(len(e) for e in concise_stream(n))
        agent = sum(len(e) for e in agent_stream(n))
        print(f"{n} chunks: full {full} bytes, concise {concise} bytes, ratio {full / concise:.1f}; "
              f"Agent API {agent} bytes")
