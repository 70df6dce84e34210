"""Realistic Perplexity streams for the benchmark and the stream-mode measurement.

The same answer in both shapes: ``full`` (every chunk repeats the metadata and the whole
message so far) and ``concise`` (text deltas only, metadata in the final ``done`` chunk).
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


if __name__ == "__main__":
    for n in (20, 3000):
        full = sum(len(e) for e in full_stream(n))
        concise = sum(len(e) for e in concise_stream(n))
        print(f"{n} chunks: full {full} bytes, concise {concise} bytes, ratio {full / concise:.1f}")


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
