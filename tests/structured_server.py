"""The fake's structured output (``response_format``, PERPLEXITY_API.md "Agent API: request"):
what ``FakeAPI`` answers to an Agent API request that asks for JSON matching a schema, when no
reply is queued for it.

The request's ``response_format`` must be ``{"type": "json_schema", "json_schema": {"schema":
{...}, "name"?: str, "strict"?: bool}}`` (anything else is a 400 on ``response_format``, the
service's envelope). The answer is a completed run whose message text is the JSON of:

- ``api.structured_output(request)`` when a test sets it (a function of the request body), else
- a value generated from the schema (:func:`instance`): an object's required properties (all of
  them if none is required), an enum's first value, one item per array, ``""``, ``0`` or ``false``.

Its usage is :data:`USAGE` (tokens and a cost, no tool calls), and it searches only when the
request offers the ``web_search`` tool or names an effort (a model without the tool answers from
what it is given: PERPLEXITY_API.md, "Web search is not automatic with ``model``").
"""

import copy
import json

from .server import DEFAULT_SEARCHES, DEFAULT_USAGE, AgentRun

#: A structured answer's usage: $0.0002 a call, no tool calls.
USAGE = {"input_tokens": 420, "output_tokens": 60, "total_tokens": 480,
         "input_tokens_details": {"cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "cached_tokens": 0},
         "output_tokens_details": {"reasoning_tokens": 0},
         "cost": {"currency": "USD", "input_cost": 0.00005, "output_cost": 0.00015, "total_cost": 0.0002}}


def asks(request) -> bool:
    """Whether an Agent API request body asks for structured output."""
    return isinstance(request, dict) and "response_format" in request


def rejection(request):
    """Why the service would refuse the request's ``response_format`` (a message), or None."""
    if not asks(request):
        return None
    form = request["response_format"]
    if not isinstance(form, dict) or form.get("type") != "json_schema":
        return 'validation failed: response_format.type must be "json_schema"'
    spec = form.get("json_schema")
    if not isinstance(spec, dict) or set(spec) - {"name", "schema", "strict", "description"}:
        return "validation failed: response_format.json_schema must be {name, schema, strict}"
    if not isinstance(spec.get("schema"), dict):
        return "validation failed: response_format.json_schema.schema must be an object"
    if "name" in spec and not isinstance(spec["name"], str):
        return "validation failed: response_format.json_schema.name must be a string"
    if "strict" in spec and not isinstance(spec["strict"], bool):
        return "validation failed: response_format.json_schema.strict must be a boolean"
    return None


def run_for(api, request) -> AgentRun:
    """The run that answers a structured request (see the module's docstring)."""
    given = getattr(api, "structured_output", None)
    value = given(request) if given is not None else instance(request["response_format"]["json_schema"]["schema"])
    tools = request.get("tools") if isinstance(request.get("tools"), list) else []
    searches = any(isinstance(t, dict) and t.get("type") == "web_search" for t in tools) or "effort" in request
    return AgentRun(text=json.dumps(value, ensure_ascii=False), searches=copy.deepcopy(DEFAULT_SEARCHES) if searches else [],
                    usage=copy.deepcopy(DEFAULT_USAGE if searches else USAGE))


def instance(schema):
    """A value that matches a (simple) JSON schema."""
    if not isinstance(schema, dict):
        return None
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) and kind else kind
    if kind == "object" or (kind is None and "properties" in schema):
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        names = schema.get("required") or list(properties)
        return {name: instance(properties.get(name, {})) for name in names}
    if kind == "array":
        return [instance(schema.get("items", {}))]
    return {"string": "", "integer": 0, "number": 0, "boolean": False, "null": None}.get(kind, {})
