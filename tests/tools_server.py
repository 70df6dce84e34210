"""The fake's Agent API tools beyond web search and fetch: the sandbox (code run, files
shared), image, people and finance search, skills, tool choice and profiles, the files
endpoints, and the 402 of a model the usage tier cannot use (see ../shared/AGENT_TOOLS.md).

What a run does is read from its request, as the service would: a request offering a tool
gets that tool's items (the model "decides" to use every tool it is offered), before the
answer's message:

- ``sandbox`` (or any skill, which enables it): a ``sandbox_results`` item (python that
  writes a chart and prints a line, exit 0) and one ``share_file`` item per shared file
  (default: ``chart.png``, a 1x1 PNG), each announced by ``response.output_item.added`` and
  finished by ``.done``;
- ``image_search``: ``response.reasoning.image_search_queries`` and ``_results`` events, then
  the ``image_search_results`` item;
- ``people_search``: a ``people_search_results`` item, ids following the web results';
- ``finance_search``: a ``finance_results`` item citing two URLs;
- each skill: ``response.skill.loaded`` and a ``skill_loaded`` item.

Unconfirmed shapes (no capture exists; these are the SDK's types or a third party's reading,
marked where they are used): every item's place in the stream (``output_item.added``/``done``
only: SDK 0.46.1 has no sandbox, people or finance events), ``people_search_results`` (the web
results' shape, per Perplexity's skill), ``finance_results`` (Vercel's reading), the files
endpoints' error bodies (404 ``not_found`` as for runs), and the 402 body (the usual envelope,
type ``insufficient_tier``: no sample anywhere).

What a test can set: ``AgentRun(shared=[SharedFile(...)])`` for the files shared (hostile
names, a Content-Disposition of its own, a download dropped after N bytes),
``AgentRun(tool_items=[...])`` for items sent as they are instead of the ones the request would
get, and ``api.gated_models`` (default: ``anthropic/claude-opus-5``, a Tier 2 model per the
docs) for the models answered with 402. A reply queued for a file's exact content path is sent
once, instead of the file.
"""

import copy
import json
import mimetypes
import re
import struct
import time
import zlib
from dataclasses import dataclass

from .server import DROP, Reply, agent_error, json_reply


def _png() -> bytes:
    """A valid 1x1 PNG."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00\xff")) + chunk(b"IEND", b""))


PNG = _png()
TOOL_TYPES = {"web_search", "fetch_url", "sandbox", "image_search", "people_search", "finance_search", "function", "mcp", "connector"}
SKILLS = {"office", "office/docx", "office/pdf", "office/pptx", "office/xlsx"}
IMAGE_FORMATS = {"bmp", "gif", "jpeg", "png", "webp", "svg"}
CODE = "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.savefig('chart.png')\nprint('saved chart.png')\n"
FILES_PATH = re.compile(r"/v1/(?:responses|agent)/([^/]+)/files(?:/([^/]+)/content)?")


@dataclass
class SharedFile:
    """A file a run's sandbox shares: the item's ``filename`` (None: the item has none), its
    bytes, the name in the download's Content-Disposition (default: the item's), and
    ``drop_after``: the download's connection closed after that many bytes."""

    filename: str = "chart.png"
    content: bytes = PNG
    disposition: str = None
    drop_after: int = None


def install(api):
    """The fake's state for these tools."""
    api.shared_files = {}  # response id -> {file id: (SharedFile, created_at)}
    api.gated_models = {"anthropic/claude-opus-5"}


def _tools(request):
    tools = request.get("tools") if isinstance(request.get("tools"), list) else []
    return {t.get("type") for t in tools if isinstance(t, dict)}


def script(run, request, rid, items):
    """The tool items and events of a run before its message: ``(items added, events)``; the
    files shared are kept on the run (``run.files_of[rid]``) for the server to serve."""
    tools, skills = _tools(request), [s.get("name") for s in request.get("skills") or () if isinstance(s, dict)]
    made, events = [], []
    if run.tool_items is not None:
        made = copy.deepcopy(run.tool_items)
    else:
        for name in skills:
            made.append({"type": "skill_loaded", "name": name})
            events.append(("response.skill.loaded", {"name": name}))  # SDK 0.46.1's shape
        if "sandbox" in tools or skills or run.shared is not None:
            made.append({"type": "sandbox_results", "call_id": "call_sandbox_1", "code": CODE, "language": "python",
                         "status": "completed", "container_id": "ctr_1",
                         "results": [{"status": "completed", "exit_code": 0, "stdout": "saved chart.png\n", "stderr": "",
                                      "duration_ms": 412}]})
            shared = run.shared if run.shared is not None else [SharedFile()]
            run.files_of[rid] = {}
            for k, f in enumerate(shared, 1):
                fid = f"file_{k}"
                run.files_of[rid][fid] = (f, int(time.time()))
                item = {"type": "share_file", "call_id": f"call_share_{k}", "file_id": fid, "size_bytes": len(f.content),
                        "url": f"/v1/responses/{rid}/files/{fid}/content"}
                if f.filename is not None:
                    item["filename"] = f.filename
                made.append(item)
        if "image_search" in tools:
            made.append({"type": "image_search_results", "queries": ["Golden Gate Bridge"], "results": IMAGES, "error": None})
        if "people_search" in tools:
            top = max([r.get("id", 0) for block in run.searches for r in block["results"]] or [0])
            made.append({"type": "people_search_results", "queries": ["Head of Design at Figma"], "results": [
                {"id": top + 1, "url": "https://www.linkedin.com/in/example-designer", "title": "A. Designer - Head of Design",
                 "snippet": "Head of Design at Figma.", "date": None, "last_updated": "2026-09-30"}]})
        if "finance_search" in tools:  # Vercel's reading of the item: unconfirmed by Perplexity
            made.append({"type": "finance_results", "categories": ["quote"], "tickers": ["NVDA"], "results": [
                {"category": "quote", "content": "NVDA 182.40 USD (+1.2%)", "tickers": ["NVDA"],
                 "sources": ["https://finance.example.com/quote/NVDA",
                             {"url": "https://sec.example.gov/nvda-10q", "title": "NVIDIA 10-Q"}]}]})
    for item in made:
        index, call = len(items), item.get("call_id") or f"call_{len(items)}"
        if item.get("type") == "image_search_results":
            events += [("response.reasoning.image_search_queries", {"call_id": call, "queries": item.get("queries") or []}),
                       ("response.reasoning.image_search_results", {"call_id": call, "results": item.get("results") or []})]
        if item.get("type") in ("sandbox_results", "share_file"):
            started = dict(item, status="in_progress", results=[]) if item["type"] == "sandbox_results" else item
            events.append(("response.output_item.added", {"output_index": index, "item": started}))
        items.append(item)
        events.append(("response.output_item.done", {"output_index": index, "item": item}))
    return events


IMAGES = [
    {"image_url": "https://images.example.org/golden-gate.jpg", "origin_url": "https://example.org/golden-gate",
     "title": "Golden Gate Bridge at dusk", "width": 1600, "height": 900},
    {"image_url": "https://images.example.org/fog.png", "origin_url": "https://example.org/fog", "width": 800, "height": 600},
]


def keep(api, run, rid):
    """Serve the files a rendered run shared."""
    if rid in run.files_of:
        api.shared_files[rid] = run.files_of.pop(rid)


def validate(api, body):
    """The service's 400 (or 402) for these fields, or None."""
    ids = ([body["model"]] if isinstance(body.get("model"), str) else []) + [m for m in body.get("models") or [] if isinstance(m, str)]
    gated = [m for m in ids if m in api.gated_models]
    if gated:  # the envelope is inferred: no 402 body has been seen
        return agent_error(402, f"model {gated[0]} is not available for your usage tier", "insufficient_tier")
    for tool in body.get("tools") or []:
        if not isinstance(tool, dict) or tool.get("type") not in TOOL_TYPES:
            return api._invalid(f"validation failed: unknown tool type {json.dumps(tool)[:80]}", "tools")
        if tool["type"] in ("sandbox", "people_search", "finance_search") and set(tool) != {"type"}:
            return api._invalid(f'invalid request body: json: unknown field "{sorted(set(tool) - {"type"})[0]}"', "tools")
        formats = (tool.get("filters") or {}).get("format_filter") or [] if tool["type"] == "image_search" else []
        if any(f not in IMAGE_FORMATS for f in formats):
            return api._invalid("validation failed: unknown image format", "tools")
    choice = body.get("tool_choice")
    if "tool_choice" in body and not (choice in ("auto", "none", "required") or (isinstance(choice, dict) and (
            choice.get("type") in TOOL_TYPES | {"required"} or isinstance(choice.get("name"), str)))):
        return api._invalid("validation failed: tool_choice is not supported", "tool_choice")
    profile = body.get("profile")
    if "profile" in body:
        if not (isinstance(profile, dict) and profile.get("type") == "custom" and isinstance(profile.get("id"), str)
                and set(profile) <= {"type", "id", "version"}):
            return api._invalid("validation failed: profile must be {type: custom, id, version?}", "profile")
        if "preset" in body or "effort" in body:  # the docs: a preset or a profile, not both; effort [inferred] alike
            return api._invalid("validation failed: a request uses either an effort or a profile, not both", "profile")
    for skill in body.get("skills") or []:
        if not (isinstance(skill, dict) and skill.get("type") == "builtin" and skill.get("name") in SKILLS):
            return api._invalid(f"validation failed: unknown skill {json.dumps(skill)[:80]}", "skills")
    return None


def handles(route):
    return FILES_PATH.fullmatch(route) is not None


def answer(api, method, route, headers):
    """``GET /v1/responses/{id}/files`` and ``.../files/{file_id}/content``."""
    queued = api.key_or_queued(route, headers)
    if queued is not None:
        return queued
    rid, fid = FILES_PATH.fullmatch(route).groups()
    if method != "GET":
        return agent_error(405, "method not allowed", "invalid_request")
    files = api.shared_files.get(rid)
    if files is None and rid not in api.responses and rid not in api.runs:
        return agent_error(404, "resource not found", "not_found")
    files = files or {}
    if fid is None:
        return json_reply({"object": "list", "data": [
            {"id": k, "object": "file", "filename": f.filename or k, "bytes": len(f.content), "created_at": at}
            for k, (f, at) in files.items()]})
    if fid not in files:
        return agent_error(404, "resource not found", "not_found")
    f = files[fid][0]
    name = f.disposition if f.disposition is not None else (f.filename or fid)
    headers = {"Content-Type": mimetypes.guess_type(f.filename or "")[0] or "application/octet-stream",
               "Content-Disposition": f'attachment; filename="{name}"'}
    if f.drop_after is not None:  # the whole length promised, the connection closed partway
        headers["Content-Length"] = str(len(f.content))
        return Reply(parts=[f.content[:f.drop_after], DROP], headers=headers, framing="close")
    return Reply(parts=[f.content], headers=headers, framing="length")
