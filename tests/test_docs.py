"""The README and the manual pages are the contract: every command, option, variable, config
key and exit status is in its page, and every example in the README and the pages runs
against the local server with the exit status it documents."""

import os
import re
import subprocess

import click
import pytest

from pplx_cli.cli import cli
from pplx_cli.commands.help import PAGES
from pplx_cli.errors import ExitCode
from tests.conftest import KEY, ROOT, pplx_executable
from tests.server import FakeAPI

README = (ROOT / "README.md").read_text()
MAN_DIR = ROOT / "man"


def unroff(text: str) -> str:
    """A page's text as read: font changes dropped, escapes as the characters they print."""
    text = re.sub(r"\\f[BIRP]", "", text)
    return text.replace("\\-", "-").replace("\\(aq", "'").replace("\\(dq", '"').replace("\\e", "\\").replace("\\&", "")


PAGE_FILES = {path.name.rsplit(".", 1)[0]: path for path in sorted(MAN_DIR.glob("pplx*.[15]"))}
PAGE_TEXT = {name: unroff(path.read_text()) for name, path in PAGE_FILES.items()}
ALL_PAGES = "\n".join(PAGE_TEXT.values())


def walk(group, prefix="pplx"):
    """Every command and subcommand: (full name, top-level name, command)."""
    for name in sorted(group.list_commands(None)):
        command = group.get_command(None, name)
        yield f"{prefix} {name}", command
        if isinstance(command, click.Group):
            yield from walk(command, f"{prefix} {name}")


COMMANDS = list(walk(cli))


def page_of(full_name: str) -> str:
    return PAGES[full_name.split()[1]]


def test_every_page_pplx_help_opens_exists_and_setup_installs_it():
    setup = (ROOT / "setup.cfg").read_text()
    for page in set(PAGES.values()):
        assert page in PAGE_FILES, page
        section = PAGE_FILES[page].suffix[1:]
        assert f"man/{PAGE_FILES[page].name}" in setup and f"share/man/man{section}" in setup


@pytest.mark.parametrize("full_name, command", COMMANDS, ids=[name for name, _ in COMMANDS])
def test_every_command_and_option_is_in_its_page(full_name, command):
    text = PAGE_TEXT[page_of(full_name)]
    assert full_name.split()[-1] in text
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            for opt in param.opts + param.secondary_opts:
                assert re.search(re.escape(opt) + r"(?![\w-])", text), f"{opt} of {full_name} missing from {page_of(full_name)}"


def test_every_command_is_in_the_readme():
    for name in {full.split()[1] for full, _ in COMMANDS}:
        assert f"pplx {name}" in README, name


@pytest.mark.parametrize("var", ["PPLX_API_KEY", "PERPLEXITY_API_KEY", "PPLX_API_KEY_CMD", "PPLX_BASE_URL", "PERPLEXITY_BASE_URL",
                                 "PPLX_API", "PPLX_MODEL", "PPLX_HISTORY", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME",
                                 "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "NO_COLOR"])
def test_every_environment_variable_is_in_pplx_1(var):
    assert var in PAGE_TEXT["pplx"]


def test_every_variable_the_code_reads_is_in_the_list():
    from pplx_cli.store.config import ENV

    read = {v for names in ENV.values() for v in names}
    assert read == {"PPLX_API_KEY", "PERPLEXITY_API_KEY", "PPLX_API_KEY_CMD", "PPLX_BASE_URL", "PERPLEXITY_BASE_URL", "PPLX_API",
                    "PPLX_MODEL", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"}


@pytest.mark.parametrize("code", [int(c) for c in ExitCode])
def test_every_exit_code_is_documented(code):
    assert re.search(rf"^\| {code} \|", README, re.M), f"exit {code} missing from README.md"
    assert re.search(rf"^\.B {code}$", PAGE_FILES["pplx"].read_text(), re.M), f"exit {code} missing from pplx.1"


def test_every_config_key_is_in_pplx_config_5():
    from pplx_cli.store.config import TYPES

    for key in TYPES:
        assert re.search(rf"\b{key}\b", PAGE_TEXT["pplx-config"]), key


def test_readme_opens_with_the_two_setup_commands():
    block = README.split("```sh", 1)[1].split("```", 1)[0]
    lines = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert lines == ["pip install . && pplx parse examples/quantum.sse", "pip install -e '.[test]' && pytest"]
    assert (ROOT / "examples" / "quantum.sse").exists()
    assert README.count("\n") <= 260  # the front door; the reference is in the pages


@pytest.mark.parametrize("page", sorted(PAGE_FILES))
def test_every_page_has_its_sections(page):
    raw = PAGE_FILES[page].read_text()
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "EXAMPLES", "SEE ALSO"):
        assert re.search(rf"^\.SH {section}$", raw, re.M), (page, section)
    if page == "pplx":
        for section in ("COMMANDS", "OPTIONS", "ENVIRONMENT", "FILES", "EXIT STATUS", "DIAGNOSTICS"):
            assert re.search(rf"^\.SH {section}$", raw, re.M), section


def test_the_documented_defaults_are_the_code_s():
    from pplx_cli.dialects.request import ANTHROPIC_MAX_OUTPUT_TOKENS, DEFAULT_EFFORT, SONAR_MODELS
    from pplx_cli.store.config import DEFAULTS

    ask = PAGE_TEXT["pplx-ask"]
    assert DEFAULTS["api"] == "agent" and "default agent" in ask
    assert f"effort: {DEFAULT_EFFORT}" in ask and str(ANTHROPIC_MAX_OUTPUT_TOKENS) in ask
    for name, (field, value) in SONAR_MODELS.items():
        assert name in ask and f"{field}: {value}" in ask, name


# ---- every example runs ----


def examples(text: str, roff: bool) -> list:
    """The example command lines of a document: the README's ```sh lines that run pplx, a
    page's .nf/.fi lines in its EXAMPLES section. Each is ``(line, the exit status it says)``
    (``# exit N`` at its end; 0 otherwise)."""
    lines = []
    if roff:
        section = text.split(".SH EXAMPLES", 1)[1].split("\n.SH ", 1)[0]
        for block in re.findall(r"^\.nf\n(.*?)^\.fi", section, re.M | re.S):
            lines += [unroff(line) for line in block.splitlines()]
    else:
        for block in re.findall(r"```sh\n(.*?)```", text, re.S):
            lines += block.splitlines()
    out = []
    for line in lines:
        line = line.strip().removeprefix("$ ")
        if "pplx " not in line or line.split()[0] in ("pip", "python", "python3", "export", "mkdir", "sleep", "eval"):
            continue
        m = re.search(r"#\s*exit (\d+)\s*$", line)
        out.append((line, int(m.group(1)) if m else 0))
    return out


#: Files the examples name, as a user would have them.
SANDBOX = {
    "questions.txt": "What is a qubit?\nWhat is a quantum gate?\n",
    "questions.jsonl": '{"id": "q1", "prompt": "What is a qubit?"}\n{"id": "q2", "prompt": "What is a gate?", "effort": "low"}\n',
    "prompts.txt": "What is a qubit?\nWhat is a quantum gate?\n",
    "person.json": '{"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}\n',
    "notes.tsv": "1\tfirst note\n2\tsecond note\n",
    "chapters.txt": "First chunk of chapter one.\nSecond chunk.\n\nChapter two, one chunk.\n",
    "companies.csv": "Perplexity,AI\nAcme,anvils\n",
    "lines.txt": "first line\nsecond line\n",
    "data.csv": "a,b\n1,2\n",
    "report.pdf": "%PDF-1.4 not really\n",
    "urls.txt": "https://example.com/a\nhttps://example.com/b\n",
}


def documents():
    docs = [("README.md", README, False)] + [(path.name, path.read_text(), True) for path in PAGE_FILES.values()]
    return [(name, text, roff) for name, text, roff in docs if examples(text, roff)]


@pytest.mark.parametrize("name, text, roff", documents(), ids=[d[0] for d in documents()])
def test_every_example_runs_with_its_documented_status(name, text, roff, tmp_path):
    """The examples of one document, in order, in one shell (a variable one sets, such as a
    run's id, serves the next), each line's status checked."""
    for file, content in SANDBOX.items():
        (tmp_path / file).write_text(content)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    home = tmp_path / "home"
    home.mkdir()
    status_file = tmp_path / "statuses"
    lines = examples(text, roff)
    script = "\n".join(f"{line}\necho $? >> {status_file}" for line, _ in lines)
    with FakeAPI() as api:
        api.rate_limit = 1000  # a window per second, as the service's headers count it
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PPLX_", "PERPLEXITY_", "XDG_"))}
        env.update(HOME=str(home), PPLX_API_KEY=KEY, PPLX_BASE_URL=api.url, PATH=f"{os.path.dirname(pplx_executable())}:{env['PATH']}",
                   MANPAGER="cat", PAGER="cat")
        done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=240)
    statuses = [int(s) for s in status_file.read_text().split()] if status_file.exists() else []
    failed = [(line, want, got) for (line, want), got in zip(lines, statuses) if want != got]
    assert len(statuses) == len(lines) and failed == [], (failed, done.stderr.decode()[-3000:])
