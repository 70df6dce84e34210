"""Answers of any shape from the endpoints of the last wave: the Search, Context and
Embeddings APIs, the model list and a background run's state. Their realistic answers, with
values replaced by ones of another type (or raw JSON Python reads and JSON forbids: NaN,
1e999, integers past any float, nesting too deep to parse), go through the commands
in-process: the exit status is a documented one, stderr is one ``pplx:`` line a message
and the metadata, every JSON line written is valid JSON, and nothing else is raised.
"""

import base64
import json

import pytest
import responses
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pplx_cli.cli import cli
from tests.test_shapes import damaged, random_texts, strict_loads

BASE = "https://api.perplexity.ai"
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture, HealthCheck.large_base_example])
DOCUMENTED = {0, 1, 2, 3, 4, 5, 74}

SEARCH = {"id": "5b9c", "server_time": "2026-11-30T10:00:00", "results": [
    {"title": "Open LLM Leaderboard", "url": "https://www.vellum.ai/open-llm-leaderboard", "snippet": "updated ...",
     "date": "2025-11-19", "last_updated": "2026-02-23T12:12:34"},
    {"title": "Open LLMs", "url": "https://github.com/eugeneyan/open-llms", "snippet": "", "date": None, "last_updated": None}]}
CONTEXT = {"id": "ctx_1", "results": [
    {"url": "https://a.example/x", "status": {"type": "ok"}, "markdown": "# A\n\nBody.\n",
     "metadata": {"source_url": "https://a.example/x", "title": "A", "language": "en", "origin": "cached"}},
    {"url": "https://b.example/y", "status": {"type": "not_found", "message": "404"}}]}
EMBEDDINGS = {"object": "list", "model": "pplx-embed-v1-0.6b", "data": [  # 128 int8 dimensions each, in any order
    {"object": "embedding", "index": 1, "embedding": base64.b64encode(bytes(range(128))).decode()},
    {"object": "embedding", "index": 0, "embedding": base64.b64encode(bytes(range(128, 256))).decode()}],
    "usage": {"prompt_tokens": 4, "total_tokens": 4, "cost": {"currency": "USD", "input_cost": 1.6e-8, "total_cost": 1.6e-8}}}
MODELS = {"object": "list", "data": [
    {"id": "perplexity/sonar", "object": "model", "created": 0, "owned_by": "perplexity",
     "pricing": {"input": 0.25, "output": 2.5, "cache_read": 0.0625, "unit": "usd_per_1m_tokens"}},
    {"id": "openai/gpt-5.1", "object": "model", "created": 0, "owned_by": "openai", "pricing": {"input": 1.25, "output": 10}}]}
RUN = {"id": "resp_r", "object": "response", "created_at": 1786099678, "status": "in_progress", "background": True,
       "model": "medium", "output": [{"type": "search_results", "queries": ["q"], "results": [{"id": 1, "url": "https://x.example"}]}],
       "usage": None, "error": None}

CASES = {
    "search": ("POST", "/search", SEARCH, [["search", "q"], ["search", "q", "--json"], ["search", "q", "--urls"]]),
    "fetch": ("POST", "/v1/context", CONTEXT, [["fetch", "https://a.example/x", "https://b.example/y"],
                                                 ["fetch", "https://a.example/x", "https://b.example/y", "--json"]]),
    "embed": ("POST", "/v1/embeddings", EMBEDDINGS, [["embed", "--dimensions", "128", "one", "two"]]),
    "models": ("GET", "/v1/models", MODELS, [["models"], ["models", "--json"]]),
    "run": ("GET", "/v1/responses/resp_r", RUN, [["jobs", "show", "resp_r"], ["jobs", "show", "resp_r", "--json"]]),
}


@pytest.fixture
def env(tmp_path, monkeypatch):
    for var in ("PPLX_BASE_URL", "PERPLEXITY_BASE_URL", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "PPLX_HISTORY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PPLX_API_KEY", "pplx-test-0123456789abcdef")
    return tmp_path


def run(method, path, body: str, args):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(method, BASE + path, body=body.encode("utf-8", "surrogatepass"), status=200, content_type="application/json")
        return CliRunner().invoke(cli, [*args, "--meta-style", "json"] if args[0] not in ("models", "jobs") else args,
                                  prog_name="pplx")


def contract(result, args):
    """What every answer of any shape must give."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in DOCUMENTED, result.exit_code
    lines = result.stderr.splitlines()
    for line in lines:
        assert line.startswith(("pplx: ", "{")), line
        if line.startswith("{"):
            assert isinstance(strict_loads(line), dict)
    assert sum(1 for line in lines if line.startswith("pplx: error: ")) <= 1
    if "--json" in args:
        for line in result.stdout.splitlines():
            strict_loads(line)
    if args[0] == "embed":
        for line in result.stdout.splitlines():
            record = strict_loads(line)
            assert len(record["embedding"]) == 128 and all(isinstance(x, (int, float)) for x in record["embedding"])
    if "--urls" in args:
        assert all(line.startswith(("http://", "https://")) for line in result.stdout.splitlines())


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_realistic_answer_works(env, case):
    method, path, body, commands = CASES[case]
    for args in commands:
        result = run(method, path, json.dumps(body), args)
        contract(result, args)
        assert result.exit_code == (1 if case == "fetch" else 0), result.stderr  # fetch: one page failed, as the answer says
        if case == "embed":
            assert [json.loads(line)["embedding"][:2] for line in result.stdout.splitlines()] == [[-128, -127], [0, 1]]


@SETTINGS
@given(data=st.data())
def test_any_answer_shape(env, data):
    case = data.draw(st.sampled_from(sorted(CASES)), label="endpoint")
    method, path, body, commands = CASES[case]
    args = data.draw(st.sampled_from(commands), label="command")
    text = damaged(data, body) if data.draw(st.integers(0, 4)) else data.draw(random_texts, label="random answer")
    contract(run(method, path, text, args), args)
