"""``pplx verify --judge``: the Agent API request that asks a model whether the passages of
a claim's sources support it, and its structured answer read. Pure functions, no I/O.

One request per claim: the claim and, per source, the passages the Context API picked, as
JSON in ``input``; the answer is JSON matching :data:`SCHEMA` (``response_format`` with a
JSON schema, strict), one verdict of :data:`~pplx_cli.dialects.evidence.JUDGEMENTS` and a
one-line reason per source. No search tool is offered: the model judges the passages given,
nothing else.
"""

import json

from pplx_cli.errors import StreamError

#: The model that judges when ``--judge`` names none: the Agent API's own, and cheap.
DEFAULT_JUDGE = "perplexity/sonar"
#: The judge's verdicts (evidence.JUDGEMENTS less unreachable: a page not read is not judged).
VERDICTS = ("supported", "partly", "contradicted", "not addressed")
SCHEMA = {
    "type": "object",
    "properties": {"verdicts": {"type": "array", "items": {
        "type": "object",
        "properties": {"source": {"type": "string"}, "verdict": {"type": "string", "enum": list(VERDICTS)},
                       "reason": {"type": "string"}},
        "required": ["source", "verdict", "reason"], "additionalProperties": False}}},
    "required": ["verdicts"], "additionalProperties": False,
}
INSTRUCTIONS = (
    "You check citations. You get a claim and, for each source it cites, passages taken from that source's page. "
    "For each source, decide from its passages alone: 'supported' if they state the claim (its numbers, dates and "
    "names exactly), 'partly' if they state part of it, 'contradicted' if they state otherwise, 'not addressed' if "
    "they do not speak to it. Give one verdict per source, with its label as 'source', and a reason of one short "
    "line quoting the deciding words."
)
#: The longest reason kept (a reason is one line).
MAX_REASON = 300


def build_judge_body(model: str, claim: str, sources: list) -> dict:
    """The ``/v1/responses`` body for one claim; ``sources`` is ``[(label, passages)]``."""
    from pplx_cli.dialects.request import RequestOptions, build_agent_body

    prompt = json.dumps({"claim": claim, "sources": [{"source": label, "passages": list(passages)}
                                                     for label, passages in sources]}, ensure_ascii=False)
    opts = RequestOptions(model=model, system=INSTRUCTIONS, no_search=True, store=False, json_schema=SCHEMA)
    body = build_agent_body(prompt, opts, stream=False)
    body["response_format"] = {"type": "json_schema", "json_schema": {"name": "citation_verdicts", "schema": SCHEMA,
                                                                      "strict": True}}
    return body


def read_judgement(obj: dict) -> tuple:
    """``({label: (verdict, reason)}, cost)`` from the judge's response body: the verdicts
    its structured answer gives (one of the wrong shape, or a label given twice after the
    first, is left out) and the response's cost in dollars (None when it gives none). A
    failed run is the dialect's error; an answer that is not the JSON asked for is a
    StreamError."""
    from pplx_cli import jsonsafe
    from pplx_cli.dialects.pieces import META, TEXT
    from pplx_cli.dialects.stream import body_pieces
    from pplx_cli.numbers import nonnegative

    text, meta = [], {}
    for piece in body_pieces(obj, "agent"):
        if piece.kind == TEXT:
            text.append(piece.value)
        elif piece.kind == META and isinstance(piece.value, dict):
            meta.update(piece.value)
    usage = meta.get("usage") if isinstance(meta.get("usage"), dict) else {}
    cost = usage.get("cost") if isinstance(usage.get("cost"), dict) else {}
    try:
        answer = jsonsafe.loads("".join(text))
    except ValueError:
        raise StreamError("the judge's answer is not the JSON asked for") from None
    items = answer.get("verdicts") if isinstance(answer, dict) else None
    if not isinstance(items, list):
        raise StreamError("the judge's answer has no verdicts list")
    verdicts = {}
    for item in items:
        if not isinstance(item, dict) or item.get("verdict") not in VERDICTS or not isinstance(item.get("source"), str):
            continue
        reason = item.get("reason") if isinstance(item.get("reason"), str) else ""
        reason = " ".join(reason.split())
        if len(reason) > MAX_REASON:
            reason = reason[:MAX_REASON - 1] + "…"
        verdicts.setdefault(item["source"].strip().strip("[]"), (item["verdict"], reason))
    return verdicts, nonnegative(cost.get("total_cost"))
