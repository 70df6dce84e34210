"""Options -> request bodies for both APIs. Pure functions, no I/O."""

import json
import re
from dataclasses import dataclass, field
from datetime import date

from pplx_cli.errors import UsageError
from pplx_cli.dialects.tools import agent_tools, skills_field, tool_choice_field, tools_unmapped

#: An effort's name, optionally pinned to a released version (``fast@2026-10-16.0``): any
#: level name, since the service has more in circulation than the five it documents.
EFFORT = re.compile(r"([A-Za-z0-9][A-Za-z0-9_-]*)(@[0-9A-Za-z._-]+)?")
#: The documented levels: they complete and pass quietly; another name is sent with a note.
EFFORTS = ("fast", "low", "medium", "high", "xhigh")
#: Preset names from before ``effort`` (the service still accepts them for the first four levels).
OLD_PRESETS = {"fast-search": "fast", "pro-search": "low", "deep-research": "medium", "advanced-deep-research": "high"}
#: Sonar model names -> the Agent API's model or effort (README "The Agent API").
SONAR_MODELS = {
    "sonar": ("model", "perplexity/sonar"),
    "sonar-pro": ("effort", "low"),
    "sonar-reasoning": ("effort", "low"),
    "sonar-reasoning-pro": ("effort", "low"),
    "sonar-deep-research": ("effort", "medium"),
}
#: What the Agent API gets when neither a model nor an effort is given: a search-grounded
#: answer at the lowest cost and latency it offers.
DEFAULT_EFFORT = "fast"
#: The chat API's model when none is given.
DEFAULT_CHAT_MODEL = "sonar"
#: Anthropic models require max_output_tokens; this is sent when none is given.
ANTHROPIC_MAX_OUTPUT_TOKENS = 8192

_KEY = re.compile(r"[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*")


@dataclass
class RequestOptions:
    """What the user asked for, independent of the API that will answer."""

    model: str = None
    models: list = None
    effort: str = None
    system: str = None
    max_tokens: int = None
    temperature: float = None
    top_p: float = None
    search_type: str = None
    max_results: int = None
    country: str = None
    domains: list = field(default_factory=list)  # excluded ones start with "-"
    recency: str = None
    after: str = None  # M/D/YYYY
    before: str = None
    updated_after: str = None
    updated_before: str = None
    context_size: str = None
    fetch: bool = False
    no_search: bool = False
    search_mode: str = None
    images: bool = False
    related: bool = False
    reasoning_effort: str = None
    json_schema: dict = None
    store: bool = True
    stream_mode: str = "concise"
    overrides: list = field(default_factory=list)  # [(dotted key, value)]
    attachments: list = field(default_factory=list)  # input parts (attachments.Attachment.part)
    code: bool = False  # the sandbox tool
    image_domains: list = field(default_factory=list)  # image_search domain_filter ("-" denies)
    image_formats: list = field(default_factory=list)
    people: bool = False
    finance: bool = False
    tool_choice: str = None  # auto, none, required, or a tool's type
    profile: dict = None  # {"type": "custom", "id", "version"?}
    skills: list = field(default_factory=list)  # built-in skill names


def check_effort(value: str, what: str = "effort") -> str:
    """``value`` if it is an effort level's name (optionally pinned); ValueError otherwise."""
    if not EFFORT.fullmatch(value):
        raise ValueError(f"{what} must be a level such as {', '.join(EFFORTS)}, optionally pinned as LEVEL@VERSION "
                         f"(e.g. fast@2026-10-16.0), not {value!r}")
    return value


def unknown_effort(value) -> bool:
    """Whether an effort is a name other than the five documented levels (it is sent all the same)."""
    return isinstance(value, str) and value.split("@", 1)[0] not in EFFORTS


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
        parsed = _strict_json(value)
    except RecursionError:
        raise ValueError(f"the value of {key} nests too deeply") from None
    except ValueError:  # not JSON (NaN and Infinity are not JSON either): a string
        parsed = value
    if not _finite(parsed):  # 1e999 parses as infinity, which JSON cannot carry
        raise ValueError(f"the value of {key} holds a number too large for JSON ({value[:40]})")
    return key, parsed


def _finite(value) -> bool:
    """Whether every float in a parsed JSON value is finite."""
    import math

    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


def _not_json(name):
    raise ValueError(f"{name} is not JSON")


_strict_json = json.JSONDecoder(parse_constant=_not_json).decode


def apply_overrides(body: dict, overrides) -> dict:
    """Set each dotted key in ``body`` (creating nested objects); later ones win.

    A numeric part indexes a list that is already there (``tools.0.user_location.city``),
    and is a usage error where there is none; any other part that does not name an object
    replaces it with one (a named part inside a list is a usage error).
    """
    for key, value in overrides:
        parts = key.split(".")
        target = body
        for position, name in enumerate(parts[:-1]):
            if isinstance(target, list):
                index = _index(target, name, key)
                if not isinstance(target[index], (dict, list)):
                    target[index] = {}
                target = target[index]
                continue
            child = target.get(name)
            if parts[position + 1].isdigit() and not isinstance(child, list):
                raise UsageError(f"-o {key}: there is no list at {'.'.join(parts[:position + 1])!r} to index "
                                 "(tools is sent with a model, or with a search option or --fetch)")
            if not isinstance(child, (dict, list)):
                target[name] = {}
            target = target[name]
        if isinstance(target, list):
            target[_index(target, parts[-1], key)] = value
        else:
            target[parts[-1]] = value
    return body


def _index(items: list, name: str, key: str) -> int:
    if not name.isdigit() or int(name) >= len(items):
        raise UsageError(f"-o {key}: {name!r} is not an index of the {len(items)}-item list there")
    return int(name)


# ---- chat completions (legacy) -------------------------------------------------------------


def _messages(prompt, system, history):
    messages = [{"role": "system", "content": system}] if system else []
    messages.extend(history)
    messages.append({"role": "user", "content": prompt})
    return messages


def build_chat_body(prompt: str, opts: RequestOptions, *, stream: bool, history=(), **_) -> dict:
    """The ``/chat/completions`` request body."""
    if opts.attachments:
        raise UsageError("attachments need the Agent API (--api agent)")
    body = {"model": opts.model or DEFAULT_CHAT_MODEL, "messages": _messages(prompt, opts.system, history), "stream": stream}
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
        ("last_updated_after_filter", opts.updated_after),
        ("last_updated_before_filter", opts.updated_before),
        ("reasoning_effort", opts.reasoning_effort),
    ):
        if value is not None:
            body[name] = value
    if opts.domains:
        body["search_domain_filter"] = list(opts.domains)
    web = {}
    if opts.context_size:
        web["search_context_size"] = opts.context_size
    if opts.country:
        web["user_location"] = {"country": opts.country}
    if web:
        body["web_search_options"] = web
    if opts.images:
        body["return_images"] = True
    if opts.related:
        body["return_related_questions"] = True
    if opts.no_search:
        body["disable_search"] = True
    if opts.json_schema is not None:
        body["response_format"] = {"type": "json_schema", "json_schema": {"schema": opts.json_schema}}
    return apply_overrides(body, opts.overrides)


def chat_unmapped(opts: RequestOptions) -> list:
    """The options chat completions have no field for (they are not sent there)."""
    return [name for name, used in (
        ("--effort", opts.effort is not None),
        ("--models", bool(opts.models)),
        ("--search-type", opts.search_type is not None),
        ("--max-results", opts.max_results is not None),
        ("--fetch", opts.fetch),
    ) if used] + tools_unmapped(opts)


# ---- the Agent API -----------------------------------------------------------------------


def agent_model(name: str):
    """A model name as the Agent API takes it: ``(field, value)``, a Sonar name mapped.

    A name without a provider (``gpt-5``) is a usage error: the service refuses it.
    """
    if name in SONAR_MODELS:
        return SONAR_MODELS[name]
    if "/" not in name.strip("/"):
        level = name.strip().split("@", 1)[0]
        if level in EFFORTS:
            raise UsageError(f"{name!r} is an effort, not a model: did you mean --effort {name.strip()}?")
        import difflib

        close = difflib.get_close_matches(name, list(SONAR_MODELS), n=1, cutoff=0.8)
        if close:
            raise UsageError(f"model {name!r} is not a model id: did you mean {close[0]}?")
        raise UsageError(f"model {name!r} is not an Agent API model id: ids are provider/name, "
                         "e.g. perplexity/sonar or openai/gpt-5.1 (see pplx models)")
    return "model", name


def ignored_without_search(opts: RequestOptions) -> list:
    """The search options that --no-search makes moot (they are not sent)."""
    return [name for name, used in (
        ("--search-type", opts.search_type is not None), ("--max-results", opts.max_results is not None),
        ("--country", opts.country is not None), ("--domain/--exclude-domain", bool(opts.domains)),
        ("--recency", opts.recency is not None), ("--after/--before", bool(opts.after or opts.before)),
        ("--updated-after/--updated-before", bool(opts.updated_after or opts.updated_before)),
        ("--context-size", opts.context_size is not None),
    ) if used and opts.no_search]


def agent_unmapped(opts: RequestOptions) -> list:
    """The options the Agent API has no field for (they are not sent there)."""
    return [name for name, used in (
        ("--search-mode", opts.search_mode is not None),
        ("--related", opts.related),
    ) if used]


def _agent_model_fields(opts: RequestOptions):
    """``(body, bundled, models)``: the body's model, models, effort and profile fields;
    whether an effort or a profile brings its tools; the model ids sent (a Sonar name mapped;
    with no model, effort or profile, the default effort)."""
    body = {}
    effort = opts.effort
    models = None
    if opts.models:
        models = []
        for name in opts.models:
            kind, value = agent_model(name)
            if kind != "model":
                raise UsageError(f"--models takes model ids; {name!r} is an effort (use --effort {value})")
            models.append(value)
        body["models"] = models
    elif opts.model:
        kind, value = agent_model(opts.model)
        if kind == "model":
            body["model"] = value
            models = [value]
        elif effort is None:
            effort = value
    if opts.profile is not None:
        if effort is not None:
            # the docs: a request uses a preset or a profile, not both; an effort is the preset's successor
            raise UsageError(f"--profile and an effort ({effort}) both choose the configuration: give one "
                             "(a model, -m, may override the profile's)")
        body["profile"] = dict(opts.profile)
        return body, True, models
    if effort is None and not models:
        effort = DEFAULT_EFFORT
    if effort is not None:
        body["effort"] = effort
    return body, effort is not None, models


def build_agent_body(prompt: str, opts: RequestOptions, *, stream: bool, history=(), previous_response_id=None) -> dict:
    """The ``/v1/responses`` request body (README "The Agent API").

    A model and an effort combine (the effort's configuration with that model); with
    neither (nor a profile), the effort is :data:`DEFAULT_EFFORT`. A model searches only
    with the ``web_search`` tool, so it is always offered unless ``--no-search``. An effort
    or a profile brings its own tools, but a ``tools`` list replaces them: when a search
    option or another tool is given with one, both tools an effort uses are sent
    (``web_search`` with the options, and ``fetch_url``) beside the others, never fewer
    (:mod:`pplx_cli.dialects.tools`). With an effort, ``--no-search`` sends
    ``max_tool_calls: 0`` (an effort's tools cannot be removed otherwise). The Agent API
    rejects unknown fields, so nothing chat-only is sent; ``-o`` still reaches any field.
    """
    body, bundled, models = _agent_model_fields(opts)
    if opts.attachments:  # the prompt and its files as the parts of one user message
        content = [{"type": "input_text", "text": prompt}, *opts.attachments]
        body["input"] = list(history) + [{"role": "user", "content": content}]
    else:
        body["input"] = list(history) + [{"role": "user", "content": prompt}] if history else prompt
    if previous_response_id:
        body["previous_response_id"] = previous_response_id
    if opts.system:
        body["instructions"] = opts.system
    body["stream"] = stream
    body["store"] = bool(opts.store)
    body.update(agent_tools(opts, bundled))
    body.update(tool_choice_field(opts, body))
    body.update(skills_field(opts))
    max_tokens = opts.max_tokens
    if max_tokens is None and any(m.startswith("anthropic/") for m in models or ()):
        max_tokens = ANTHROPIC_MAX_OUTPUT_TOKENS
    for name, value in (("max_output_tokens", max_tokens), ("temperature", opts.temperature), ("top_p", opts.top_p)):
        if value is not None:
            body[name] = value
    if opts.reasoning_effort:
        body["reasoning"] = {"effort": opts.reasoning_effort}
    if opts.json_schema is not None:
        body["response_format"] = {"type": "json_schema", "json_schema": {"schema": opts.json_schema}}
    return apply_overrides(body, opts.overrides)


def build_body(api: str, prompt: str, opts: RequestOptions, *, stream: bool, history=(), previous_response_id=None) -> dict:
    """The request body for ``api`` (``agent`` or ``chat``)."""
    build = build_agent_body if api == "agent" else build_chat_body
    return build(prompt, opts, stream=stream, history=history, previous_response_id=previous_response_id)


#: The path of each API under the base URL.
API_PATHS = {"chat": "/chat/completions", "agent": "/v1/responses"}
