"""Options -> request bodies: plain equality, both APIs."""

import pytest

from pplx_cli.errors import UsageError
from pplx_cli.dialects.request import (
    ANTHROPIC_MAX_OUTPUT_TOKENS,
    RequestOptions,
    agent_unmapped,
    apply_overrides,
    build_agent_body,
    build_chat_body,
    chat_unmapped,
    parse_date,
    parse_override,
)


def test_minimal_chat_bodies():
    opts = RequestOptions()
    assert build_chat_body("hi", opts, stream=False) == {
        "model": "sonar", "messages": [{"role": "user", "content": "hi"}], "stream": False,
    }
    assert build_chat_body("hi", opts, stream=True) == {
        "model": "sonar", "messages": [{"role": "user", "content": "hi"}], "stream": True, "stream_mode": "concise",
    }


def full_options(**kw):
    base = dict(
        model="sonar-pro", system="Be brief.", max_tokens=100, temperature=0.2, top_p=0.9, search_mode="academic",
        domains=["arxiv.org", "-reddit.com"], recency="week", after="3/1/2025", before="12/31/2025",
        context_size="high", images=True, related=True, reasoning_effort="low",
        json_schema={"type": "object"}, stream_mode="full",
    )
    base.update(kw)
    return RequestOptions(**base)


def test_every_chat_option_reaches_its_field():
    assert build_chat_body("q", full_options(), stream=True) == {
        "model": "sonar-pro",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "q"}],
        "stream": True,
        "stream_mode": "full",
        "max_tokens": 100,
        "temperature": 0.2,
        "top_p": 0.9,
        "search_mode": "academic",
        "search_recency_filter": "week",
        "search_after_date_filter": "3/1/2025",
        "search_before_date_filter": "12/31/2025",
        "reasoning_effort": "low",
        "search_domain_filter": ["arxiv.org", "-reddit.com"],
        "web_search_options": {"search_context_size": "high"},
        "return_images": True,
        "return_related_questions": True,
        "response_format": {"type": "json_schema", "json_schema": {"schema": {"type": "object"}}},
    }


def test_no_search_chat():
    assert build_chat_body("q", RequestOptions(no_search=True), stream=False)["disable_search"] is True


def test_every_chat_only_new_option_is_mapped_where_chat_has_it():
    body = build_chat_body("q", RequestOptions(country="DE", updated_after="1/2/2025", updated_before="2/3/2025",
                                               context_size="low"), stream=False)
    assert body["web_search_options"] == {"search_context_size": "low", "user_location": {"country": "DE"}}
    assert (body["last_updated_after_filter"], body["last_updated_before_filter"]) == ("1/2/2025", "2/3/2025")
    assert chat_unmapped(RequestOptions(effort="low", models=["a/b"], search_type="fast", max_results=3, fetch=True)) == [
        "--effort", "--models", "--search-type", "--max-results", "--fetch"]


def test_every_agent_option_reaches_its_field():
    body = build_agent_body("q", full_options(model="sonar", updated_after="1/2/2025", updated_before="2/3/2025",
                                              search_type="fast", max_results=5, country="FR", fetch=True), stream=True)
    assert body == {
        "model": "perplexity/sonar",
        "input": "q",
        "instructions": "Be brief.",
        "stream": True,
        "store": True,
        "tools": [{
            "type": "web_search",
            "filters": {
                "search_domain_filter": ["arxiv.org", "-reddit.com"],
                "search_recency_filter": "week",
                "search_after_date_filter": "3/1/2025",
                "search_before_date_filter": "12/31/2025",
                "last_updated_after_filter": "1/2/2025",
                "last_updated_before_filter": "2/3/2025",
            },
            "search_context_size": "high",
            "search_type": "fast",
            "max_results": 5,
            "user_location": {"country": "FR"},
        }, {"type": "fetch_url"}, {"type": "image_search"}],  # --images: the image_search tool
        "max_output_tokens": 100,
        "temperature": 0.2,
        "top_p": 0.9,
        "reasoning": {"effort": "low"},
        "response_format": {"type": "json_schema", "json_schema": {"schema": {"type": "object"}}},
    }


@pytest.mark.parametrize(
    "model, expected",
    [
        (None, {"effort": "fast"}),
        ("sonar", {"model": "perplexity/sonar", "tools": [{"type": "web_search"}]}),
        ("sonar-pro", {"effort": "low"}),
        ("sonar-reasoning", {"effort": "low"}),
        ("sonar-reasoning-pro", {"effort": "low"}),
        ("sonar-deep-research", {"effort": "medium"}),
        ("openai/gpt-5", {"model": "openai/gpt-5", "tools": [{"type": "web_search"}]}),
        ("anthropic/claude-opus-4-5", {"model": "anthropic/claude-opus-4-5", "tools": [{"type": "web_search"}],
                                       "max_output_tokens": ANTHROPIC_MAX_OUTPUT_TOKENS}),
    ],
)
def test_agent_model_mapping(model, expected):
    body = build_agent_body("q", RequestOptions(model=model), stream=False)
    assert body == {**expected, "input": "q", "stream": False, "store": True}


def test_agent_effort_and_model_combine_and_explicit_effort_wins_over_a_sonar_name():
    assert build_agent_body("q", RequestOptions(model="xai/grok-4", effort="high"), stream=False) == {
        "model": "xai/grok-4", "effort": "high", "input": "q", "stream": False, "store": True,
    }
    assert build_agent_body("q", RequestOptions(model="sonar-pro", effort="xhigh"), stream=False)["effort"] == "xhigh"


def test_agent_effort_with_filters_gets_both_of_its_tools():
    body = build_agent_body("q", RequestOptions(effort="fast", recency="day"), stream=False)
    assert body["tools"] == [{"type": "web_search", "filters": {"search_recency_filter": "day"}}, {"type": "fetch_url"}]


def test_agent_no_search():
    assert "tools" not in build_agent_body("q", RequestOptions(model="a/b", no_search=True, recency="day"), stream=False)
    body = build_agent_body("q", RequestOptions(no_search=True, recency="day"), stream=False)
    assert body["max_tool_calls"] == 0 and "tools" not in body


@pytest.mark.parametrize("opts, message", [
    (RequestOptions(model="sonarx"), "model 'sonarx' is not a model id: did you mean sonar\\?"),
    (RequestOptions(model="gpt-5"), "model 'gpt-5' is not an Agent API model id"),
    (RequestOptions(models=["a/b", "sonar-deep-research"]), "--models takes model ids"),
    (RequestOptions(no_search=True, fetch=True), "--no-search with an effort"),
])
def test_agent_requests_that_cannot_be_sent(opts, message):
    with pytest.raises(UsageError, match=message):
        build_agent_body("q", opts, stream=False)


def test_agent_sends_nothing_chat_only():
    body = build_agent_body("q", RequestOptions(search_mode="sec", related=True, stream_mode="full"), stream=True)
    assert set(body) == {"effort", "input", "stream", "store"}
    assert agent_unmapped(RequestOptions(search_mode="sec", images=True, related=True)) == ["--search-mode", "--related"]


def test_agent_previous_response_id_replaces_the_input_list():
    body = build_agent_body("c", RequestOptions(), stream=False, previous_response_id="resp_9")
    assert body["previous_response_id"] == "resp_9" and body["input"] == "c"


def test_agent_history_becomes_input_list():
    history = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]
    body = build_agent_body("c", RequestOptions(), stream=False, history=history)
    assert body["input"] == history + [{"role": "user", "content": "c"}]


def test_overrides_nest_and_win_on_both_apis():
    overrides = [parse_override("web_search_options.user_location.country", "DE"), parse_override("top_k", "5"),
                 parse_override("model", '"sonar-pro"')]
    chat = build_chat_body("q", RequestOptions(context_size="low", overrides=overrides), stream=False)
    assert chat["web_search_options"] == {"search_context_size": "low", "user_location": {"country": "DE"}}
    assert chat["top_k"] == 5 and chat["model"] == "sonar-pro"
    agent = build_agent_body("q", RequestOptions(overrides=[parse_override("language_preference", "de")]), stream=False)
    assert agent["language_preference"] == "de"


def test_override_values_json_or_string():
    assert parse_override("a", "true") == ("a", True)
    assert parse_override("a", "[1, 2]") == ("a", [1, 2])
    assert parse_override("a", "null") == ("a", None)
    assert parse_override("a", "hello world") == ("a", "hello world")


@pytest.mark.parametrize("key", ["", ".a", "a.", "a..b", "a b", "ä"])
def test_malformed_override_keys(key):
    with pytest.raises(ValueError):
        parse_override(key, "1")


def test_apply_overrides_replaces_a_scalar_parent():
    assert apply_overrides({"a": 1}, [("a.b", 2)]) == {"a": {"b": 2}}


@pytest.mark.parametrize("text, sent", [("2025-03-01", "3/1/2025"), ("3/1/2025", "3/1/2025"), ("12/31/2024", "12/31/2024"), ("2024-02-29", "2/29/2024")])
def test_dates(text, sent):
    assert parse_date(text) == sent


@pytest.mark.parametrize("text", ["2025-02-30", "13/1/2025", "2023-02-29", "yesterday", "2025/03/01", "1-2-2025"])
def test_impossible_or_malformed_dates(text):
    with pytest.raises(ValueError):
        parse_date(text)


def test_overrides_index_into_lists():
    body = {"tools": [{"type": "web_search", "user_location": {"country": "DE"}}, {"type": "fetch_url"}]}
    apply_overrides(body, [parse_override("tools.0.user_location.city", "Berlin"), parse_override("tools.1.max_urls", "3"),
                           parse_override("tools.0.filters.search_domain_filter", '["a.org"]')])
    assert body == {"tools": [{"type": "web_search", "user_location": {"country": "DE", "city": "Berlin"},
                               "filters": {"search_domain_filter": ["a.org"]}},
                              {"type": "fetch_url", "max_urls": 3}]}
    assert apply_overrides({"a": 1}, [("a.b", "x")]) == {"a": {"b": "x"}}  # a value that is not an object: replaced
    with pytest.raises(UsageError, match="'name' is not an index of the 1-item list there"):
        apply_overrides({"tools": [1]}, [("tools.name", "x")])
    with pytest.raises(UsageError, match="'3' is not an index of the 1-item list there"):
        apply_overrides({"tools": [{}]}, [("tools.3.x", 1)])
    with pytest.raises(UsageError, match="there is no list at 'tools' to index"):
        apply_overrides({"effort": "fast"}, [("tools.0.user_location.city", "Berlin")])


def test_override_values_that_are_not_json_are_strings_and_deep_ones_are_refused():
    assert parse_override("temperature", "NaN") == ("temperature", "NaN")
    assert parse_override("x", "Infinity") == ("x", "Infinity")
    assert parse_override("x", "[1.5, null]") == ("x", [1.5, None])
    with pytest.raises(ValueError, match="the value of x nests too deeply"):
        parse_override("x", "[" * 100000 + "]" * 100000)
