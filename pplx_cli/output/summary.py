"""The metadata as one line for a person (``--meta-style summary``, a terminal's default)."""

from pplx_cli.numbers import dollars, number, thousands, whole


def summary_line(meta: dict, sources: int, seconds: float) -> str:
    """``pplx: model · N sources · N images · N files · N tokens · $cost · time``: each part only when known."""
    parts = [str(meta["model"])] if meta.get("model") else []
    if sources:
        parts.append(f"{sources} source{'s' if sources != 1 else ''}")
    for key, noun in (("images", "image"), ("files", "file")):
        if isinstance(meta.get(key), list) and meta[key]:
            parts.append(f"{len(meta[key])} {noun}{'s' if len(meta[key]) != 1 else ''}")
    for key, noun in (("results", "result"), ("pages", "page"), ("embeddings", "embedding")):
        if whole(meta.get(key)) is not None:
            parts.append(f"{thousands(meta[key])} {noun}{'s' if meta[key] != 1 else ''}")
    usage = meta.get("usage") if isinstance(meta.get("usage"), dict) else {}
    tokens = whole(usage.get("total_tokens"))
    if tokens is not None:
        parts.append(f"{thousands(tokens)} tokens")
    cost = usage.get("cost", {}).get("total_cost") if isinstance(usage.get("cost"), dict) else None
    if number(cost) is not None:
        parts.append(dollars(cost) + (" (estimate)" if usage["cost"].get("estimated") is True else ""))
    parts.append(f"{seconds:.1f}s")
    return "pplx: " + " · ".join(parts)
