"""The shared click option bundles and their callbacks.

Nothing here sends or parses: a callback checks one value and turns it into what the
request needs, so a bad value is a usage error (exit 2) before anything is sent.
"""

import os
import re
import click

from pplx_cli.dialects.tools import CHOICES as TOOL_CHOICES, IMAGE_FORMATS, SKILLS, TOOL_OPTIONS

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: The longest fallback chain the Agent API accepts.
MAX_MODELS = 5


class FiniteFloat(click.FloatRange):
    """A float range that also refuses nan and inf (which compare false against any bound)."""

    def convert(self, value, param, ctx):
        import math

        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def option_bundle(*options):
    """A decorator that applies ``options`` in the order given (as stacked decorators would)."""

    def apply(f):
        for option in reversed(options):
            f = option(f)
        return f

    return apply


# ---- callbacks: one value checked and converted ------------------------------------------


def _check_date(ctx, param, value):
    if value is None:
        return None
    from pplx_cli.dialects.request import parse_date

    try:
        return parse_date(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


def _check_overrides(ctx, param, value):
    from pplx_cli.dialects.request import parse_override

    out = []
    for key, raw in value:
        try:
            out.append(parse_override(key, raw))
        except ValueError as e:
            raise click.BadParameter(str(e)) from None
    return out


def _check_base_url(ctx, param, value):
    if value is None:
        return None
    from pplx_cli.store.config import check_base_url
    from pplx_cli.errors import UsageError

    try:
        return check_base_url(value)
    except UsageError as e:
        raise click.BadParameter(e.message) from None


def _load_schema(ctx, param, value):
    if value is None:
        return None
    import json

    try:
        with open(value, "rb") as f:
            schema = json.loads(f.read())
    except OSError as e:
        raise click.BadParameter(f"cannot read {value}: {e.strerror}") from None
    except ValueError as e:
        raise click.BadParameter(f"{value} is not valid JSON: {e}") from None
    except RecursionError:
        raise click.BadParameter(f"{value} nests too deeply to be a schema") from None
    if not isinstance(schema, dict):
        raise click.BadParameter(f"{value} must hold a JSON object (a JSON schema)")
    return schema


def _check_meta_path(ctx, param, value):
    if value is None or value == "-":
        return None  # '-': stderr, as without --meta
    directory = os.path.dirname(os.path.abspath(value))
    if os.path.isdir(value) or not os.path.isdir(directory) or not os.access(directory, os.W_OK):
        raise click.BadParameter(f"cannot write {value}")
    return value


def _check_cacert(ctx, param, value):
    if value is None:
        return None
    from pplx_cli.store.config import check_ca_bundle
    from pplx_cli.errors import UsageError

    try:
        return check_ca_bundle(value, None)
    except UsageError as e:
        raise click.BadParameter(e.message) from None


def _check_effort(ctx, param, value):
    if value is None:
        return None
    from pplx_cli.dialects.request import check_effort

    try:
        return check_effort(value.strip())
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


def _check_preset(ctx, param, value):
    if value is None:
        return None
    from pplx_cli.dialects.request import OLD_PRESETS, check_effort

    value = OLD_PRESETS.get(value.strip(), value.strip())
    try:
        return check_effort(value, "--preset")
    except ValueError as e:
        raise click.BadParameter(f"{e} (or one of the old names {', '.join(OLD_PRESETS)})") from None


def _check_profile(ctx, param, value):
    if value is None:
        return None
    from pplx_cli.dialects.tools import parse_profile

    try:
        return parse_profile(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


def _check_output_dir(ctx, param, value):
    """A directory that is, or can be made, writable: checked before anything is sent."""
    if value is None:
        return None
    if not value.strip():
        raise click.BadParameter("give a directory")
    existing = os.path.abspath(value)
    while not os.path.lexists(existing):  # the nearest part of the path that exists: the rest is made
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing) or not os.access(existing, os.W_OK | os.X_OK):
        what = value if existing == os.path.abspath(value) else existing
        raise click.BadParameter(f"{what} is not a directory pplx can write to")
    return value


def _check_models(ctx, param, value):
    if value is None:
        return None
    models = [m.strip() for m in value.split(",") if m.strip()]
    if not models:
        raise click.BadParameter("give one or more model ids separated by commas")
    if len(models) > MAX_MODELS:
        raise click.BadParameter(f"at most {MAX_MODELS} models in a fallback chain, not {len(models)}")
    return models


def check_rate(ctx, param, value):
    """--rate N/s (batch, verify): requests a second, above 0."""
    if value is None:
        return None
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:/s)?\s*", value)
    if not m or float(m.group(1)) <= 0:
        raise click.BadParameter(f"{value!r} is not a rate (e.g. 10/s)")
    return float(m.group(1))


def _check_country(ctx, param, value):
    if value is None:
        return None
    if not re.fullmatch(r"[A-Za-z]{2}", value.strip()):
        raise click.BadParameter(f"{value!r} is not a two-letter country code (ISO 3166-1 alpha-2, e.g. US, DE)")
    return value.strip().upper()


def complete_model(ctx, param, incomplete):
    """Model ids for shell completion: the Sonar names and the ids of the last ``pplx models``.

    Reads only the cache file that ``pplx models`` writes: never a network call.
    """
    from pplx_cli.store.caches import read_model_cache
    from pplx_cli.dialects.request import SONAR_MODELS

    ids = list(SONAR_MODELS) + [m for m in read_model_cache(os.environ) if m not in SONAR_MODELS]
    return [m for m in ids if m.startswith(incomplete)]


def complete_models(ctx, param, incomplete):
    """--models completes its last comma-separated id."""
    head, _, last = incomplete.rpartition(",")
    prefix = head + "," if head else ""
    return [prefix + m for m in complete_model(ctx, param, last) if "/" in m or m == "sonar"]


def complete_cid(ctx, param, incomplete):
    """Conversation ids from the history, newest first (read only; nothing is created)."""
    from pplx_cli.store.paths import history_path

    path = history_path(os.environ)
    if not os.path.exists(path):
        return []
    try:
        import sqlite3

        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            rows = db.execute("SELECT cid FROM exchanges WHERE cid LIKE ? AND kind = 'answer' AND batch IS NULL "
                              "GROUP BY cid ORDER BY MAX(id) DESC LIMIT 50",
                              (incomplete.replace("%", "") + "%",)).fetchall()
    except Exception:  # completing must never fail loudly
        return []
    return [cid for (cid,) in rows]


def complete_dir(ctx, param, incomplete):
    """Directories, as the shell completes them."""
    from click.shell_completion import CompletionItem

    return [CompletionItem(incomplete, type="dir")]


def complete_effort(ctx, param, incomplete):
    """Effort levels for shell completion."""
    from pplx_cli.dialects.request import EFFORTS

    return [e for e in EFFORTS if e.startswith(incomplete)]


# ---- the bundles -------------------------------------------------------------------------

#: Which results a web search may return (ask, stream, search).
search_filter_options = option_bundle(
    click.option("--country", callback=_check_country, metavar="CC", help="Search as from this country (ISO 3166-1 alpha-2): user_location.country."),
    click.option("--domain", "domains", multiple=True, metavar="DOMAIN", help="Search only this domain (repeatable)."),
    click.option("-D", "--exclude-domain", "excluded", multiple=True, metavar="DOMAIN", help="Never search this domain (repeatable)."),
    click.option("--recency", type=click.Choice(["hour", "day", "week", "month", "year"]), help="Only results this recent."),
    click.option("--after", callback=_check_date, metavar="DATE", help="Only results published after DATE (YYYY-MM-DD or M/D/YYYY)."),
    click.option("--before", callback=_check_date, metavar="DATE", help="Only results published before DATE."),
    click.option("--updated-after", callback=_check_date, metavar="DATE", help="Only results last updated after DATE."),
    click.option("--updated-before", callback=_check_date, metavar="DATE", help="Only results last updated before DATE."),
)

#: How to reach the service (every command that sends).
connection_options = option_bundle(
    click.option("--base-url", callback=_check_base_url, metavar="URL", help="API base URL. [env: PPLX_BASE_URL; default: https://api.perplexity.ai]"),
    click.option("--timeout", type=FiniteFloat(min=0, min_open=True, max=86400, max_open=True), metavar="SECONDS", help="Give up when no bytes arrive for this long (connect, and between reads). [default: 300]"),
    click.option("--retries", type=click.IntRange(0, 100), metavar="N", help="Retries after a connection failure, 429 or 5xx before any output. [default: 2]"),
    click.option("--allow-http", is_flag=True, help="Allow a plain http:// base URL on another machine (the key is sent in clear text)."),
    click.option("--insecure", is_flag=True, hidden=True,
                 help="Deprecated alias of --allow-http (pplx never skips certificate checks)."),
    click.option("--cacert", metavar="FILE", callback=_check_cacert,
                 help="Trust the certificate authorities in FILE (PEM) for https. [env: REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, SSL_CERT_FILE; config: ca_bundle]"),
    click.option("-v", "--verbose", is_flag=True, help="Show the request and response headers on stderr (the key redacted)."),
    click.option("-q", "--quiet", is_flag=True, help="No retry, fallback, deprecation and not-sent notes on stderr."),
    click.option("--dry-run", is_flag=True, help="Print the request (the key redacted) on stdout instead of sending it; record nothing."),
)

#: Options that shape the request (ask, stream, raw).
request_options = option_bundle(
    click.option("-m", "--model", metavar="ID", shell_complete=complete_model,
                 help="Agent API model id (perplexity/sonar, openai/..., anthropic/...; see 'pplx models'), or a Sonar name. [env: PPLX_MODEL; default: none, --effort fast]"),
    click.option("--models", metavar="ID,ID,...", callback=_check_models, shell_complete=complete_models, help="A fallback chain of up to 5 model ids, tried in order (Agent API)."),
    click.option("--effort", metavar="LEVEL", callback=_check_effort, shell_complete=complete_effort,
                 help="fast, low, medium, high or xhigh (another name is sent with a note), optionally pinned (fast@2026-10-16.0): Perplexity's configuration for the task (Agent API)."),
    click.option("--profile", metavar="ID[@VERSION]", callback=_check_profile,
                 help="A profile saved in the API Portal (model, tools, instructions) instead of an effort; -m may override its model (Agent API)."),
    click.option("--preset", metavar="NAME", callback=_check_preset, help="Deprecated alias of --effort (old names such as pro-search accepted)."),
    click.option("-s", "--system", help="System prompt (Agent API: instructions)."),
    click.option("--max-tokens", type=click.IntRange(min=1), help="Most tokens in the answer (Agent API: max_output_tokens, reasoning included)."),
    click.option("--temperature", type=FiniteFloat(0, 2), help="Sampling temperature, 0 to 2."),
    click.option("--top-p", type=FiniteFloat(0, 1), help="Nucleus sampling, 0 to 1."),
    click.option("--search-type", type=click.Choice(["web", "fast"]), help="Web search tool's search type (Agent API)."),
    click.option("--max-results", type=click.IntRange(1, 50), metavar="N", help="Most results per web search, 1 to 50 (Agent API)."),
    search_filter_options,
    click.option("--context-size", type=click.Choice(["low", "medium", "high"]), help="How much search context to use."),
    click.option("--fetch", is_flag=True, help="Let the model fetch URLs (the fetch_url tool; Agent API)."),
    click.option("--no-search", is_flag=True, help="Answer without searching the web."),
    click.option("--search-mode", type=click.Choice(["web", "academic", "sec"]), help="Which index to search (chat API only)."),
    click.option("--code", is_flag=True, help="Let the model run code in a sandbox (the sandbox tool); -O saves the files it shares (Agent API)."),
    click.option("--images", is_flag=True, help="Search images (the image_search tool; chat API: return_images); listed with --sources."),
    click.option("--image-domain", "image_domains", multiple=True, metavar="DOMAIN",
                 help="Images only from DOMAIN, or never from -DOMAIN (repeatable; implies --images; Agent API)."),
    click.option("--image-format", "image_formats", multiple=True, type=click.Choice(IMAGE_FORMATS),
                 help="Images only in this format (repeatable; implies --images; Agent API)."),
    click.option("--people", is_flag=True, help="Search for people (the people_search tool; Agent API)."),
    click.option("--finance", is_flag=True, help="Search financial data: quotes, filings, earnings (the finance_search tool; Agent API)."),
    click.option("--tool-choice", type=click.Choice([*TOOL_CHOICES, *TOOL_OPTIONS]), metavar="auto|none|required|TOOL",
                 help=f"Let the model choose its tools (auto), forbid them (none), require a call (required), or force one TOOL: {', '.join(TOOL_OPTIONS)} (Agent API)."),
    click.option("--force-search", is_flag=True, help="Make the model search the web: --tool-choice web_search (Agent API)."),
    click.option("--skill", "skills", multiple=True, type=click.Choice(SKILLS),
                 help="Load a built-in skill, which also enables the sandbox (repeatable; Agent API)."),
    click.option("--related", is_flag=True, help="Ask for related questions in the metadata (chat API only)."),
    click.option("--reasoning-effort", type=click.Choice(["none", "minimal", "low", "medium", "high", "xhigh"]), help="The model's reasoning effort (Agent API: reasoning.effort)."),
    click.option("--json-schema", metavar="FILE", type=click.Path(dir_okay=False), callback=_load_schema, help="Answer as JSON matching the schema in FILE."),
    click.option(
        "-o", "--option", "overrides", nargs=2, multiple=True, metavar="KEY VALUE", callback=_check_overrides,
        help="Set any request field; a dotted KEY nests; VALUE is JSON if it parses, else a string (repeatable).",
    ),
    click.option("-a", "--attach", "attach", multiple=True, metavar="PATH|URL", type=click.Path(dir_okay=False, allow_dash=True),
                 help="Send a file or image with the prompt (repeatable; '-': stdin, with the prompt as arguments)."),
    click.option("--no-store", is_flag=True, help="Ask the Agent API not to keep the response (store: false)."),
    click.option("--api", type=click.Choice(["agent", "chat", "auto"]), help="Which API: the Agent API, legacy chat completions, or auto (chat, falling back to agent). [env: PPLX_API; default: agent]"),
    connection_options,
)


def stream_mode_option(f):
    return click.option(
        "--stream-mode", type=click.Choice(["full", "concise"]),
        help="Shape of the streamed chunks (chat API). [default: concise]",
    )(f)


#: Where the metadata goes (every command that answers).
meta_options = option_bundle(
    click.option("--meta", "meta_path", metavar="FILE", type=click.Path(dir_okay=False), callback=_check_meta_path, help="Write the metadata JSON to FILE instead of stderr."),
    click.option("--no-meta", is_flag=True, help="Write no metadata."),
    click.option("--meta-style", type=click.Choice(["auto", "json", "summary"]),
                 help="Metadata on stderr as JSON, or as one summary line; auto: a summary when stderr is a terminal. [default: auto]"),
)

#: Options for how the answer and metadata are written (ask, stream, parse, log show).
output_options = option_bundle(
    click.option(
        "--reasoning", type=click.Choice(["hide", "show", "stderr"]),
        help="Reasoning: keep it in the metadata only, print it before the answer, or stream it to stderr. [config: reasoning; default: hide]",
    ),
    click.option("--sources/--no-sources", "sources", default=None,
                 help="After the answer, print the numbered sources on stdout (or not). [config: sources; default: no]"),
    click.option("--citations", type=click.Choice(["keep", "strip"]),
                 help="Keep the [n] citation markers in the printed answer, or strip them. [config: citations; default: keep]"),
    meta_options,
    click.option("--render/--no-render", "render", default=None,
                 help="Render the answer's Markdown (a terminal only, by default; NO_COLOR drops colour, TERM=dumb rendering). [config: render]"),
)

#: Options for conversations and the history (ask, stream).
history_options = option_bundle(
    click.option("-c", "--continue", "continue_", is_flag=True, help="Continue the most recent conversation."),
    click.option("--cid", metavar="ID", shell_complete=complete_cid, help="Continue the conversation with this id (see pplx log)."),
    click.option("--no-log", is_flag=True, help="Do not record this exchange in the history."),
    click.option("--reattach", is_flag=True, help="With -c/--cid: send the conversation's earlier attachments again."),
)

#: Options for runs on the service (ask, stream).
background_options = option_bundle(
    click.option("--background", is_flag=True, help="Run on the service in the background (store: true), so a lost connection resumes; streaming --effort medium, high or xhigh does it by itself."),
    click.option("--detach", is_flag=True, help="With --background: print the run's id and exit at once (see pplx jobs)."),
)

prompt_argument = click.argument("prompt", nargs=-1)

#: Where the files a run shared are saved (ask, stream, jobs wait, jobs files).
files_options = option_bundle(
    click.option("-O", "--output-dir", metavar="DIR", callback=_check_output_dir, shell_complete=complete_dir,
                 help="Save the files the run shared (say, a chart its code made) into DIR, made if missing; never a path outside it."),
    click.option("--force", is_flag=True, help="With -O: replace a file of the same name in DIR (otherwise it is kept, and the file not saved)."),
)

#: Output for listings.
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON Lines, one object per line.")

#: --verify of ask, stream and jobs wait: check the answer's citations once it has arrived.
verify_option = click.option("--verify", is_flag=True,
                             help="Then check the answer's citations as 'pplx verify' does (the report on stderr; exit 1 when a claim is not found).")
