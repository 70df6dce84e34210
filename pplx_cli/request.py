"""Options -> request bodies for both APIs. Pure functions, no I/O."""

import json
import re
from dataclasses import dataclass, field
from datetime import date

#: Sonar model names -> the Agent API's model or preset (README "Agent API").
AGENT_MODEL_MAP = {
    "sonar": ("model", "perplexity/sonar"),
    "sonar-pro": ("preset", "low"),
    "sonar-reasoning-pro": ("preset", "low"),
    "sonar-deep-research": ("preset", "medium"),
}

_KEY = re.compile(r"[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*")


@dataclass
class RequestOptions:
    """What the user asked for, independent of the API that will answer."""

    model: str = "sonar"
    system: str = None
    max_tokens: int = None
    temperature: float = None
    top_p: float = None
    search_mode: str = None
    domains: list = field(default_factory=list)  # excluded ones start with "-"
    recency: str = None
    after: str = None  # M/D/YYYY
    before: str = None
    context_size: str = None
    images: bool = False
    related: bool = False
    no_search: bool = False
    reasoning_effort: str = None
    json_schema: dict = None
    preset: str = None
    stream_mode: str = "concise"
    overrides: list = field(default_factory=list)  # [(dotted key, value)]


def parse_date(text: str) -> str:
    """``YYYY-MM-DD`` or ``M/D/YYYY`` -> ``M/D/YYYY``; ValueError for anything else."""
    text = text.strip()
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
    if m:
        y, mo, d = (int(g) for g in m.groups())
    else:
        m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
        if not m:
            raise ValueError(f"{text!r} is not a date (use YYYY-MM-DD or M/D/YYYY)")
        mo, d, y = (int(g) for g in m.groups())
    try:
        date(y, mo, d)
    except ValueError as e:
        raise ValueError(f"{text!r} is not a real date ({e})") from None
    return f"{mo}/{d}/{y}"


def parse_override(key: str, value: str):
    """``-o KEY VALUE`` -> ``(key, value)``: VALUE is JSON when it parses, else a string."""
    if not _KEY.fullmatch(key):
        raise ValueError(f"{key!r} is not a field name (letters, digits, _ and -, dotted to nest)")
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = value
    return key, parsed


def apply_overrides(body: dict, overrides) -> dict:
    """Set each dotted key in ``body`` (creating nested objects); later ones win."""
    for key, value in overrides:
        *parents, last = key.split(".")
        target = body
        for name in parents:
            if not isinstance(target.get(name), dict):
                target[name] = {}
            target = target[name]
        target[last] = value
    return body


def _messages(prompt, system, history):
    messages = [{"role": "system", "content": system}] if system else []
    messages.extend(history)
    messages.append({"role": "user", "content": prompt})
    return messages


def build_chat_body(prompt: str, opts: RequestOptions, *, stream: bool, history=()) -> dict:
    """The ``/chat/completions`` request body."""
    body = {"model": opts.model, "messages": _messages(prompt, opts.system, history), "stream": stream}
    if stream and opts.stream_mode:
        body["stream_mode"] = opts.stream_mode
    for name, value in (
        ("max_tokens", opts.max_tokens),
        ("temperature", opts.temperature),
        ("top_p", opts.top_p),
        ("search_mode", opts.search_mode),
        ("search_recency_filter", opts.recency),
        ("search_after_date_filter", opts.after),
        ("search_before_date_filter", opts.before),
        ("reasoning_effort", opts.reasoning_effort),
    ):
        if value is not None:
            body[name] = value
    if opts.domains:
        body["search_domain_filter"] = list(opts.domains)
    if opts.context_size:
        body["web_search_options"] = {"search_context_size": opts.context_size}
    if opts.images:
        body["return_images"] = True
    if opts.related:
        body["return_related_questions"] = True
    if opts.no_search:
        body["disable_search"] = True
    if opts.json_schema is not None:
        body["response_format"] = {"type": "json_schema", "json_schema": {"schema": opts.json_schema}}
    return apply_overrides(body, opts.overrides)


def agent_unmapped(opts: RequestOptions) -> list:
    """The options the Agent API has no field for (they are not sent there)."""
    return [
        name
        for name, used in (
            ("--search-mode", opts.search_mode is not None),
            ("--images", opts.images),
            ("--related", opts.related),
        )
        if used
    ]


def build_agent_body(prompt: str, opts: RequestOptions, *, stream: bool, history=()) -> dict:
    """The ``/v1/responses`` request body: the same request, mapped (README "Agent API").

    The Agent API rejects unknown fields, so nothing chat-only is sent; ``-o`` overrides
    still reach any field.
    """
    body = {}
    if opts.preset:
        body["preset"] = opts.preset
    else:
        kind, name = AGENT_MODEL_MAP.get(opts.model, ("model", opts.model))
        body[kind] = name
    body["input"] = list(history) + [{"role": "user", "content": prompt}] if history else prompt
    if opts.system:
        body["instructions"] = opts.system
    body["stream"] = stream
    filters = {}
    for name, value in (
        ("search_domain_filter", list(opts.domains) or None),
        ("search_recency_filter", opts.recency),
        ("search_after_date_filter", opts.after),
        ("search_before_date_filter", opts.before),
    ):
        if value is not None:
            filters[name] = value
    tool = {"type": "web_search"}
    if filters:
        tool["filters"] = filters
    if opts.context_size:
        tool["search_context_size"] = opts.context_size
    # a model searches only with the tool; a preset brings its own tools unless told otherwise
    if not opts.no_search and ("model" in body or len(tool) > 1):
        body["tools"] = [tool]
    for name, value in (
        ("max_output_tokens", opts.max_tokens),
        ("temperature", opts.temperature),
        ("top_p", opts.top_p),
    ):
        if value is not None:
            body[name] = value
    if opts.reasoning_effort:
        body["reasoning"] = {"effort": opts.reasoning_effort}
    if opts.json_schema is not None:
        body["response_format"] = {"type": "json_schema", "json_schema": {"schema": opts.json_schema}}
    return apply_overrides(body, opts.overrides)


def build_body(api: str, prompt: str, opts: RequestOptions, *, stream: bool, history=()) -> dict:
    """The request body for ``api`` (``chat`` or ``agent``)."""
    build = build_agent_body if api == "agent" else build_chat_body
    return build(prompt, opts, stream=stream, history=history)


#: The path of each API under the base URL.
API_PATHS = {"chat": "/chat/completions", "agent": "/v1/responses"}
