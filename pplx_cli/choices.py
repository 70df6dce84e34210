"""What a user chose on the command line, as typed, immutable values.

A command turns its click parameters into these once (:mod:`pplx_cli.commands.params`);
every layer below takes them, never a dict of options. Unset values are None: the settings
(environment, config file, defaults) resolve them. Named tuples rather than frozen
dataclasses: as immutable and as typed, and built in a fifth of the time at start-up
(1 ms against 5, measured), which every command pays.
"""

from typing import NamedTuple


class Connection(NamedTuple):
    """How to reach the service: every command that sends."""

    base_url: str = None
    timeout: float = None
    retries: int = None
    verbose: bool = False
    quiet: bool = False
    allow_http: bool = False
    dry_run: bool = False
    cacert: str = None


class Request(NamedTuple):
    """What to ask for and how: ask, stream, raw, and each line of a batch."""

    model: str = None
    models: tuple = None
    effort: str = None
    preset: str = None
    system: str = None
    max_tokens: int = None
    temperature: float = None
    top_p: float = None
    search_type: str = None
    max_results: int = None
    country: str = None
    domains: tuple = ()
    excluded: tuple = ()
    recency: str = None
    after: str = None
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
    overrides: tuple = ()
    no_store: bool = False
    api: str = None
    stream_mode: str = None
    code: bool = False
    image_domains: tuple = ()
    image_formats: tuple = ()
    people: bool = False
    finance: bool = False
    tool_choice: str = None
    force_search: bool = False
    profile: dict = None
    skills: tuple = ()


class Conversation(NamedTuple):
    """Which conversation an exchange belongs to, and whether it is recorded."""

    continue_: bool = False
    cid: str = None
    no_log: bool = False
    reattach: bool = False


class Downloads(NamedTuple):
    """Where the files a run shared are saved (-O/--output-dir), and whether one already
    there may be replaced (--force). No directory: they are only listed."""

    directory: str = None
    force: bool = False


class Background(NamedTuple):
    """Whether the run goes on on the service's side."""

    background: bool = False
    detach: bool = False
