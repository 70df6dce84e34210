"""The README and the man page are the contract: every command, option, variable and exit code is in both."""

import re

import click
import pytest

from pplx_cli.cli import cli
from pplx_cli.errors import ExitCode
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()
# roff: "\-" is a literal minus, "\fB...\fR" are font changes
RAW_MAN = (ROOT / "man" / "pplx.1").read_text()
MAN = re.sub(r"\\f[BIRP]", "", RAW_MAN).replace("\\-", "-")

def walk(group, prefix="pplx"):
    """Every command and subcommand: (full name, command)."""
    for name in sorted(group.list_commands(None)):
        command = group.get_command(None, name)
        yield f"{prefix} {name}", command
        if isinstance(command, click.Group):
            yield from walk(command, f"{prefix} {name}")


COMMANDS = [name for name, _ in walk(cli)]


def option_names():
    names = set()
    for _, command in walk(cli):
        for param in command.params:
            if isinstance(param, click.Option):
                names.update(param.opts)
                names.update(param.secondary_opts)
    names.update(["--version", "--help"])
    return sorted(names)


@pytest.mark.parametrize("option", option_names())
def test_every_option_is_documented(option):
    pattern = re.compile(re.escape(option) + r"(?![\w-])")
    assert pattern.search(README), f"{option} missing from README.md"
    assert pattern.search(MAN), f"{option} missing from man/pplx.1"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_documented(command):
    assert command in README
    assert command in MAN or re.search(rf"^\.B {command.split()[-1]}$", MAN, re.M)


@pytest.mark.parametrize("var", ["PPLX_API_KEY", "PERPLEXITY_API_KEY", "PPLX_API_KEY_CMD", "PPLX_BASE_URL", "PERPLEXITY_BASE_URL", "PPLX_API",
                                 "PPLX_MODEL", "PPLX_HISTORY", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME",
                                 "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"])
def test_every_environment_variable_is_documented(var):
    assert var in README and var in MAN


def test_every_variable_the_code_reads_is_in_the_list():
    from pplx_cli.store.config import ENV

    read = {v for names in ENV.values() for v in names}
    assert read == {"PPLX_API_KEY", "PERPLEXITY_API_KEY", "PPLX_API_KEY_CMD", "PPLX_BASE_URL", "PERPLEXITY_BASE_URL", "PPLX_API",
                    "PPLX_MODEL", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"}


@pytest.mark.parametrize("code", [int(c) for c in ExitCode])
def test_every_exit_code_is_documented(code):
    assert re.search(rf"^\| {code} \|", README, re.M), f"exit {code} missing from README.md"
    assert re.search(rf"^\.B {code}$", MAN, re.M), f"exit {code} missing from man/pplx.1"


def test_config_keys_are_documented():
    from pplx_cli.store.config import TYPES

    for key in TYPES:
        assert f"`{key}`" in README and key in MAN


def test_readme_opens_with_the_two_setup_commands():
    block = README.split("```sh", 1)[1].split("```", 1)[0]
    lines = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert lines == ["pip install . && pplx parse examples/quantum.sse", "pip install -e '.[test]' && pytest"]
    assert (ROOT / "examples" / "quantum.sse").exists()


def test_man_page_has_the_sections():
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS", "ENVIRONMENT", "FILES", "EXIT STATUS",
                    "DIAGNOSTICS", "EXAMPLES", "SEE ALSO"):
        assert re.search(rf"^\.SH {section}$", MAN, re.M), section


def test_the_documented_defaults_are_the_code_s():
    from pplx_cli.store.config import DEFAULTS
    from pplx_cli.dialects.request import ANTHROPIC_MAX_OUTPUT_TOKENS, DEFAULT_CHAT_MODEL, DEFAULT_EFFORT

    assert DEFAULTS["api"] == "agent" and "`--api agent` is the default" in README and "default \\fBagent\\fR" in RAW_MAN
    assert f'`"effort": "{DEFAULT_EFFORT}"`' in README and f"effort: {DEFAULT_EFFORT}" in MAN
    assert f"`max_output_tokens: {ANTHROPIC_MAX_OUTPUT_TOKENS}`" in README and f"{ANTHROPIC_MAX_OUTPUT_TOKENS}" in MAN
    assert f"default `{DEFAULT_CHAT_MODEL}`" in README


def test_the_sonar_mapping_is_documented():
    from pplx_cli.dialects.request import SONAR_MODELS

    for name, (field, value) in SONAR_MODELS.items():
        assert f"`-m {name}`" in README, name
        assert f"{field}: {value}" in README or f"`{field}: {value}`" in README
        assert name in MAN and f"{field}: {value}" in MAN, name
