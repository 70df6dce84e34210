"""The Agent API's tools, tool choice, profile and skills, as request fields. Pure, no I/O.

Facts and readings (../shared/AGENT_TOOLS.md has the sources):

- the tool types are ``web_search``, ``fetch_url``, ``sandbox``, ``image_search``,
  ``people_search`` and ``finance_search``; only the first two and ``image_search`` take
  options (SDK 0.46.1);
- an effort (or a profile) brings its own tools, and an explicit ``tools`` list replaced
  them on the real service (an earlier capture), while the docs say a listed tool overrides
  only the effort's tool of the same type: both readings are served by sending, with an
  effort, both tools an effort uses (``web_search`` and ``fetch_url``) beside the ones asked
  for, never silently fewer;
- ``tool_choice`` is ``auto``, ``none``, ``required`` or ``{"type": TOOL}``; that the
  object form works for tools other than ``web_search`` is not documented (it is the same
  shape in the SDK's types);
- ``profile`` is ``{"type": "custom", "id", "version"?}``; the docs say a request uses a
  preset or a profile, not both, and that any field set on the request overrides the
  profile's: a model may be given with it, an effort (the preset's successor, about which
  the docs say nothing) may not;
- built-in skills are ``office`` and its four leaves; any skill enables the sandbox.
"""

import re

from pplx_cli.errors import UsageError

#: The tools a user can ask for, and the option that adds each.
TOOL_OPTIONS = {"web_search": "search", "fetch_url": "--fetch", "sandbox": "--code", "image_search": "--images",
                "people_search": "--people", "finance_search": "--finance"}
#: What --tool-choice takes besides a tool's name.
CHOICES = ("auto", "none", "required")
#: The built-in skills (SDK 0.46.1: ``office`` is the bundle of the four leaves).
SKILLS = ("office", "office/docx", "office/pdf", "office/pptx", "office/xlsx")
#: The image formats image_search filters on (SDK 0.46.1).
IMAGE_FORMATS = ("bmp", "gif", "jpeg", "png", "webp", "svg")

_PROFILE = re.compile(r"([^\s@]+)(?:@(\S+))?")


def parse_profile(text: str) -> dict:
    """``ID[@VERSION]`` -> the request's ``profile`` object; ValueError for anything else."""
    m = _PROFILE.fullmatch(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a profile id: give ID or ID@VERSION (the id from the API Portal)")
    profile = {"type": "custom", "id": m.group(1)}
    if m.group(2):
        profile["version"] = m.group(2)
    return profile


def web_search_tool(opts) -> dict:
    """The web_search tool with every filter and setting given; ``{"type": "web_search"}`` if none."""
    filters = {}
    for name, value in (
        ("search_domain_filter", list(opts.domains) or None),
        ("search_recency_filter", opts.recency),
        ("search_after_date_filter", opts.after),
        ("search_before_date_filter", opts.before),
        ("last_updated_after_filter", opts.updated_after),
        ("last_updated_before_filter", opts.updated_before),
    ):
        if value is not None:
            filters[name] = value
    tool = {"type": "web_search"}
    if filters:
        tool["filters"] = filters
    for name, value in (("search_context_size", opts.context_size), ("search_type", opts.search_type),
                        ("max_results", opts.max_results)):
        if value is not None:
            tool[name] = value
    if opts.country:
        tool["user_location"] = {"country": opts.country}
    return tool


def image_search_tool(opts) -> dict:
    """The image_search tool with its filters: allowed or denied domains (a ``-`` prefix
    denies; the API takes one mode or the other), and formats."""
    tool = {"type": "image_search"}
    domains = list(opts.image_domains or ())
    if domains and len({d.startswith("-") for d in domains}) > 1:
        raise UsageError("--image-domain takes domains to search or, with a leading '-', domains to avoid: "
                         "the API takes one kind or the other, not both")
    filters = {}
    if domains:
        filters["domain_filter"] = domains
    if opts.image_formats:
        filters["format_filter"] = list(opts.image_formats)
    if filters:
        tool["filters"] = filters
    return tool


def asked_tools(opts) -> list:
    """The tools beyond web search that the options ask for (a forced tool is asked for), in order."""
    forced = forced_tool(opts)
    tools = []
    if opts.fetch or forced == "fetch_url":
        tools.append({"type": "fetch_url"})
    if opts.code or forced == "sandbox":
        tools.append({"type": "sandbox"})
    if opts.images or opts.image_domains or opts.image_formats or forced == "image_search":
        tools.append(image_search_tool(opts))
    for kind, asked in (("people_search", opts.people), ("finance_search", opts.finance)):
        if asked or forced == kind:
            tools.append({"type": kind})
    return tools


def forced_tool(opts):
    """The tool --tool-choice (or --force-search) names, or None."""
    choice = opts.tool_choice
    return choice if choice in TOOL_OPTIONS else None


def agent_tools(opts, bundled: bool) -> dict:
    """The ``tools`` (or ``max_tool_calls``) fields. ``bundled``: an effort or a profile
    brings its own tools (see the module docstring)."""
    search = web_search_tool(opts)
    extra = asked_tools(opts)
    if bundled:
        if opts.no_search:
            if extra:
                names = ", ".join(_option_of(t["type"]) for t in extra)
                raise UsageError(f"--no-search with an effort turns off every tool, {names} included; "
                                 "give a model (-m) to use a tool without searching")
            return {"max_tool_calls": 0}
        if len(search) == 1 and not extra:
            return {}
        extra = [t for t in extra if t["type"] != "fetch_url"]
        return {"tools": [search, {"type": "fetch_url"}, *extra]}
    tools = ([] if opts.no_search else [search]) + extra
    return {"tools": tools} if tools else {}


def _option_of(tool_type: str) -> str:
    return TOOL_OPTIONS.get(tool_type, tool_type)


def tool_choice_field(opts, body: dict) -> dict:
    """The ``tool_choice`` field, checked against the tools the body offers: a choice that
    cannot work is a usage error before anything is sent."""
    choice = opts.tool_choice
    if choice is None:
        return {}
    offering = [name for name, given in (("--code", opts.code), ("--fetch", opts.fetch),
                                         ("--images", opts.images or opts.image_domains or opts.image_formats),
                                         ("--people", opts.people), ("--finance", opts.finance),
                                         ("--skill", opts.skills)) if given]
    if choice == "none" and offering:
        raise UsageError(f"--tool-choice none forbids every tool, and {offering[0]} offers one: drop one of them")
    searchless = opts.no_search and not body.get("tools")
    if choice == "required" and searchless:
        raise UsageError("--tool-choice required needs a tool to call, and --no-search leaves none")
    if choice == "web_search" and opts.no_search:
        raise UsageError("forcing a web search (--force-search, --tool-choice web_search) contradicts --no-search")
    return {"tool_choice": choice if choice in CHOICES else {"type": choice}}


def skills_field(opts) -> dict:
    """The ``skills`` field: each built-in skill named, once."""
    names = list(dict.fromkeys(opts.skills or ()))
    return {"skills": [{"type": "builtin", "name": name} for name in names]} if names else {}


def tools_unmapped(opts) -> list:
    """The tool options chat completions have no field for."""
    return [name for name, used in (
        ("--code", opts.code), ("--image-domain/--image-format", bool(opts.image_domains or opts.image_formats)),
        ("--people", opts.people), ("--finance", opts.finance), ("--tool-choice", opts.tool_choice is not None),
        ("--profile", opts.profile is not None), ("--skill", bool(opts.skills)),
    ) if used]
