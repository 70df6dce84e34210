"""The fake's Search, Context and Embeddings APIs (tests/platform_server.py), over a real socket."""

import base64
import datetime
import re
import uuid

import pytest
import requests

from tests.platform_server import (
    MAX_CHUNKS, RESULT_HOSTS, RESULTS_PER_QUERY, context_page, count_tokens, decode_embedding, embedding_cost,
    encode_embedding, expected_contextualized_embedding, expected_embedding, search_results, truncate_tokens,
)
from tests.server import Reply, json_reply

KEY = "pplx-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
PATHS = ["/search", "/v1/context", "/v1/embeddings", "/v1/contextualizedembeddings"]
#: A valid request body for each path.
VALID = {
    "/search": {"query": "capital of Australia"},
    "/v1/context": {"urls": ["https://example.com/a"]},
    "/v1/embeddings": {"input": "hello world", "model": "pplx-embed-v1-0.6b"},
    "/v1/contextualizedembeddings": {"input": [["first chunk", "second chunk"]], "model": "pplx-embed-context-v1-0.6b"},
}
TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


def post(api, path, body, headers=AUTH):
    """POST a JSON body (or raw bytes) to the fake."""
    if isinstance(body, bytes):
        return requests.post(api.url + path, data=body, headers=headers, timeout=30)
    return requests.post(api.url + path, json=body, headers=headers, timeout=30)


def error(message, param=None, type="invalid_request", status=400):
    err = {"message": message, "type": type, "code": status}
    if param is not None:
        err["param"] = param
    return {"error": err}


def rejected(api, path, body, param, type="invalid_request"):
    """POST a body the service rejects: the 400's error object, after checking its envelope and headers."""
    response = post(api, path, body)
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert int(response.headers["x-ratelimit-used"]) >= 1  # a rejection counts against the limit
    uuid.UUID(response.headers["x-request-id"])
    err = response.json()["error"]
    assert set(err) == {"message", "type", "code", "param"}
    assert (err["type"], err["code"], err["param"]) == (type, 400, param)
    return err


# ---- what all four share ----

@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer "}, {"Authorization": KEY}, {"Authorization": f"Basic {KEY}"}])
def test_a_request_without_a_bearer_key_is_401_before_anything_else(api, path, headers):
    queued = api.add(path, json_reply({"queued": True}))
    response = post(api, path, {"bogus": 1}, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": {"message": "Invalid API key", "type": "invalid_api_key", "code": 401}}
    assert "x-ratelimit-used" not in response.headers
    assert api.routes[path] == [queued]  # the queued reply is still there for the next request


@pytest.mark.parametrize("path", PATHS)
def test_unknown_fields_are_400_naming_the_first_in_sorted_order(api, path):
    err = rejected(api, path, {**VALID[path], "zeta": 1, "top_k": 3}, "top_k")
    assert err["message"] == 'invalid request body: json: unknown field "top_k"'


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("body", [b"[1, 2]", b"not json", b'"a string"'])
def test_a_body_that_is_not_a_json_object_is_400(api, path, body):
    response = post(api, path, body)
    assert response.status_code == 400
    assert response.json() == error("invalid request body: not a JSON object")


@pytest.mark.parametrize("path", PATHS)
def test_a_queued_reply_wins_once_then_the_default_answers_again(api, path):
    api.add(path, json_reply({"error": {"message": "slow down", "type": "request_rate_limit_exceeded", "code": 429}}, 429,
                             {"retry-after": "1"}),
            Reply(status=500, parts=[b"oops"], headers={"Content-Type": "text/plain"}, framing="length"))
    first, second, third, fourth = (post(api, path, VALID[path]) for _ in range(4))
    assert (first.status_code, first.headers["retry-after"]) == (429, "1")
    assert first.json()["error"]["type"] == "request_rate_limit_exceeded"
    assert (second.status_code, second.text) == (500, "oops")
    assert third.status_code == fourth.status_code == 200
    assert api.routes[path] == []
    assert api.paths() == [path] * 4
    assert [r["body"] for r in api.requests] == [VALID[path]] * 4


@pytest.mark.parametrize("path", PATHS)
def test_a_queued_reply_is_sent_even_for_a_request_the_service_would_reject(api, path):
    api.add(path, json_reply({"ok": True}))
    assert post(api, path, {"bogus": 1}).json() == {"ok": True}
    assert post(api, path, {"bogus": 1}).status_code == 400


@pytest.mark.parametrize("path", PATHS)
def test_strict_off_makes_these_paths_plain_queued_routes(api, path):
    api.strict = False
    assert post(api, path, VALID[path]).status_code == 404
    api.add(path, json_reply({"ok": True}))
    assert [post(api, path, {"bogus": 1}, headers={}).json() for _ in range(2)] == [{"ok": True}] * 2  # the last one repeats


@pytest.mark.parametrize("path", PATHS)
def test_only_post_is_answered(api, path):
    assert requests.get(api.url + path, headers=AUTH, timeout=10).status_code == 404


@pytest.mark.parametrize("path", PATHS)
def test_a_null_field_counts_as_not_sent(api, path):
    body = {**VALID[path], {"/search": "max_results", "/v1/context": "formats"}.get(path, "dimensions"): None}
    assert post(api, path, body).status_code == 200


def test_answers_count_against_the_rate_limit_and_carry_a_request_id(api):
    api.ratelimit = {"limit": 3, "used": 0, "reset": 1791572841}
    answers = [post(api, path, VALID[path]) for path in PATHS] + [post(api, "/search", {"query": ""})]
    assert [r.headers["x-ratelimit-used"] for r in answers] == ["1", "2", "3", "4", "5"]
    assert [r.headers["x-ratelimit-remaining"] for r in answers] == ["2", "1", "0", "0", "0"]
    assert {r.headers["x-ratelimit-reset"] for r in answers} == {"1791572841"}
    ids = [r.headers["x-request-id"] for r in answers]
    assert len(set(ids)) == 5 and all(uuid.UUID(i) for i in ids)
    assert answers[0].json()["id"] == ids[0] and answers[1].json()["id"] == ids[1]


# ---- the Search API ----

def test_search_answers_a_query_with_its_results(api):
    response = post(api, "/search", {"query": "capital of Australia"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"id", "results", "server_time"}
    assert body["id"] == response.headers["x-request-id"] and uuid.UUID(body["id"])
    assert body["server_time"] is None
    assert body["results"] == search_results("capital of Australia")
    assert len(body["results"]) == 10
    first = body["results"][0]
    assert first == {"title": "Result 1: capital of Australia", "url": "https://en.wikipedia.org/capital-of-australia/1",
                     "snippet": "What page 1 says about capital of Australia.", "date": first["date"],
                     "last_updated": first["last_updated"]}
    for result in body["results"]:
        assert set(result) == {"title", "url", "snippet", "date", "last_updated"}
        for name in ("date", "last_updated"):
            assert result[name] is None or datetime.date.fromisoformat(result[name])
    assert [r["date"] is None for r in body["results"]] == [n % 3 == 0 for n in range(1, 11)]
    assert [r["last_updated"] is None for r in body["results"]] == [n % 4 == 0 for n in range(1, 11)]
    assert body["results"][1]["title"] == "Café «capital of Australia» — naïve résumé"
    assert body["results"][1]["snippet"] == "Première ligne sur capital of Australia.\nSecond line: 日本語のテキスト 🚀"
    assert {r["url"].split("/")[2] for r in body["results"]} == set(RESULT_HOSTS)


def test_search_results_are_the_same_for_the_same_query_and_differ_by_query(api):
    one, two = (post(api, "/search", {"query": "tides"}).json() for _ in range(2))
    assert one["results"] == two["results"] and one["id"] != two["id"]
    assert post(api, "/search", {"query": "moon"}).json()["results"] != one["results"]


@pytest.mark.parametrize("max_results, count", [(1, 1), (3, 3), (15, 15), (20, RESULTS_PER_QUERY)])
def test_max_results_caps_the_results(api, max_results, count):
    results = post(api, "/search", {"query": "q", "max_results": max_results}).json()["results"]
    assert len(results) == count
    assert results == search_results("q", max_results)


def test_a_list_of_queries_gets_a_list_of_results_per_query(api):
    queries = ["solar power", "wind energy", "tidal power"]
    body = post(api, "/search", {"query": queries, "max_results": 2}).json()
    assert body["results"] == [search_results(q, 2) for q in queries]
    assert all(isinstance(results, list) and len(results) == 2 for results in body["results"])
    assert post(api, "/search", {"query": ["only one"]}).json()["results"] == [search_results("only one")]


def test_display_server_time(api):
    assert TIME.fullmatch(post(api, "/search", {"query": "q", "display_server_time": True}).json()["server_time"])
    assert post(api, "/search", {"query": "q", "display_server_time": False}).json()["server_time"] is None
    api.search_server_time = "2026-11-05T12:00:00Z"
    assert post(api, "/search", {"query": "q", "display_server_time": True}).json()["server_time"] == "2026-11-05T12:00:00Z"


def test_a_domain_filter_chooses_the_hosts(api):
    included = post(api, "/search", {"query": "q", "search_domain_filter": ["nasa.gov", "esa.int"]}).json()["results"]
    assert [r["url"].split("/")[2] for r in included[:4]] == ["nasa.gov", "esa.int", "nasa.gov", "esa.int"]
    excluded = post(api, "/search", {"query": "q", "search_domain_filter": ["-wikipedia.org", "-example.com"]}).json()["results"]
    assert {r["url"].split("/")[2] for r in excluded} == {"docs.example.org", "news.example.net"}


def test_tests_can_supply_the_exact_results(api):
    mine = [{"title": "T", "url": "https://t.example/", "snippet": "s", "date": None, "last_updated": None, "extra": 1}]
    api.search_results = mine
    assert post(api, "/search", {"query": "anything", "max_results": 1}).json()["results"] == mine
    assert post(api, "/search", {"query": ["a", "b"]}).json()["results"] == [mine, mine]
    api.search_results = {"a": [], "b": mine}
    assert post(api, "/search", {"query": ["a", "b", "c"], "max_results": 2}).json()["results"] == [[], mine, search_results("c", 2)]


def test_every_documented_search_field_is_accepted(api):
    body = {"query": ["q1", "q2"], "max_results": 20, "max_tokens": 10000, "max_tokens_per_page": 4096, "search_type": "people",
            "search_context_size": "high", "search_mode": "sec", "search_domain_filter": ["a.com"] * 20,
            "search_language_filter": ["en", "fr"], "search_after_date_filter": "1/1/2024", "search_before_date_filter": "12/31/2024",
            "last_updated_after_filter": "03/05/2025", "last_updated_before_filter": "3/5/2026", "country": "AU",
            "display_server_time": True}
    assert post(api, "/search", body).status_code == 200
    for recency in ("hour", "day", "week", "month", "year"):
        assert post(api, "/search", {"query": "q", "search_recency_filter": recency, "country": "au"}).status_code == 200


SEARCH_REJECTED = {
    "no query": ({"query": None}, "query"),
    "empty query": ({"query": ""}, "query"),
    "blank query": ({"query": "   "}, "query"),
    "empty query list": ({"query": []}, "query"),
    "six queries": ({"query": ["q"] * 6}, "query"),
    "an empty query in the list": ({"query": ["q", ""]}, "query"),
    "a query that is a number": ({"query": 42}, "query"),
    "a number in the query list": ({"query": ["q", 42]}, "query"),
    "max_results 0": ({"max_results": 0}, "max_results"),
    "max_results 21": ({"max_results": 21}, "max_results"),
    "max_results as a string": ({"max_results": "5"}, "max_results"),
    "max_results as a float": ({"max_results": 5.0}, "max_results"),
    "max_results as a boolean": ({"max_results": True}, "max_results"),
    "max_tokens 0": ({"max_tokens": 0}, "max_tokens"),
    "max_tokens too many": ({"max_tokens": 1_000_001}, "max_tokens"),
    "max_tokens_per_page 0": ({"max_tokens_per_page": 0}, "max_tokens_per_page"),
    "unknown search_type": ({"search_type": "deep"}, "search_type"),
    "unknown search_context_size": ({"search_context_size": "huge"}, "search_context_size"),
    "unknown search_mode": ({"search_mode": "news"}, "search_mode"),
    "domain filter not a list": ({"search_domain_filter": "a.com"}, "search_domain_filter"),
    "21 domains": ({"search_domain_filter": ["a.com"] * 21}, "search_domain_filter"),
    "an empty domain": ({"search_domain_filter": [""]}, "search_domain_filter"),
    "a three-letter language": ({"search_language_filter": ["eng"]}, "search_language_filter"),
    "an upper-case language": ({"search_language_filter": ["EN"]}, "search_language_filter"),
    "21 languages": ({"search_language_filter": ["en"] * 21}, "search_language_filter"),
    "unknown recency": ({"search_recency_filter": "decade"}, "search_recency_filter"),
    "an ISO date": ({"search_after_date_filter": "2024-01-01"}, "search_after_date_filter"),
    "month 13": ({"search_before_date_filter": "13/1/2024"}, "search_before_date_filter"),
    "31 February": ({"last_updated_after_filter": "2/31/2024"}, "last_updated_after_filter"),
    "a date that is a number": ({"last_updated_before_filter": 20240101}, "last_updated_before_filter"),
    "a three-letter country": ({"country": "AUS"}, "country"),
    "display_server_time as a string": ({"display_server_time": "yes"}, "display_server_time"),
    "recency with an after date": ({"search_recency_filter": "week", "search_after_date_filter": "1/1/2024"}, "search_recency_filter"),
    "recency with a before date": ({"search_recency_filter": "week", "search_before_date_filter": "1/1/2024"}, "search_recency_filter"),
    "recency with last updated after": ({"search_recency_filter": "day", "last_updated_after_filter": "1/1/2024"}, "search_recency_filter"),
    "recency with last updated before": ({"search_recency_filter": "day", "last_updated_before_filter": "1/1/2024"},
                                         "search_recency_filter"),
}


@pytest.mark.parametrize("name", list(SEARCH_REJECTED))
def test_search_rejects(api, name):
    fields, param = SEARCH_REJECTED[name]
    err = rejected(api, "/search", {k: v for k, v in {"query": "q", **fields}.items() if v is not None}, param)
    assert err["message"].startswith("validation failed: ")


def test_search_rejection_messages(api):
    assert rejected(api, "/search", {"query": "q", "search_recency_filter": "week", "last_updated_after_filter": "1/1/2024"},
                    "search_recency_filter")["message"] == \
        "validation failed: search_recency_filter cannot be used with last_updated_after_filter"
    assert rejected(api, "/search", {"query": "q", "max_results": 0}, "max_results")["message"] == \
        "validation failed: max_results must be an integer between 1 and 20"


# ---- the Context API ----

def test_context_answers_each_url_in_order_as_markdown_by_default(api):
    urls = ["https://example.com/b", "https://example.com/a", "https://example.com/b"]
    response = post(api, "/v1/context", {"urls": urls})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "results"} and body["id"] == response.headers["x-request-id"]
    assert [r["url"] for r in body["results"]] == urls
    first = body["results"][0]
    assert set(first) == {"url", "status", "markdown", "metadata"}
    assert first["status"] == {"type": "ok"}
    assert first["metadata"]["title"] == "Title for https://example.com/b"
    assert first["markdown"] == "# Title for https://example.com/b\n\nBody of https://example.com/b.\n"
    page = context_page("https://example.com/b")
    metadata = first["metadata"]
    assert TIME.fullmatch(metadata.pop("fetched_at"))
    assert metadata == {"source_url": "https://example.com/b", "title": page["title"],
                        "description": "Description of https://example.com/b", "language": "en", "author": page["author"],
                        "published_date": page["published_date"], "content_type": "text/html", "origin": "cached"}


def test_context_sends_every_format_asked_for(api):
    url = "https://example.com/docs/page?x=1&y=2"
    body = {"urls": [url], "formats": ["html", "links", "highlights", "markdown", "links"], "highlights": {"query": "tides"}}
    result = post(api, "/v1/context", body).json()["results"][0]
    page = context_page(url, "tides")
    assert set(result) == {"url", "status", "markdown", "html", "links", "highlights", "metadata"}
    assert result["html"] == page["html"] and "x=1&amp;y=2" in result["html"]
    assert result["links"] == ["https://example.com/about", "https://example.com/contact", "https://example.org/"]
    assert result["highlights"] == [f"Body of {url}.", "Matched: tides"]
    assert result["markdown"] == page["markdown"]


def test_max_age_zero_fetches_live_else_a_cached_copy(api):
    def fetched(max_age):
        metadata = post(api, "/v1/context", {"urls": ["https://example.com/"], "max_age_seconds": max_age}).json()["results"][0]["metadata"]
        when = datetime.datetime.strptime(metadata["fetched_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
        return metadata["origin"], (datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()

    origin, age = fetched(0)
    assert origin == "live" and -1 <= age <= 5
    origin, age = fetched(600)
    assert origin == "cached" and 599 <= age <= 605


def test_max_tokens_per_url_cuts_the_content(api):
    url = "https://example.com/long"
    result = post(api, "/v1/context", {"urls": [url], "formats": ["markdown", "html"], "max_tokens_per_url": 3}).json()["results"][0]
    assert result["markdown"] == "# Title for"
    assert result["html"] == truncate_tokens(context_page(url)["html"], 3)
    assert count_tokens(result["html"]) == 3


def test_each_url_has_its_own_status(api):
    api.context_failures = {"https://example.com/secret": ("forbidden", "the site answered 403"), "https://example.com/gone": "not_found"}
    api.context_not_modified = {"https://example.com/same"}
    urls = ["https://example.com/ok", "https://fail.example.com/", "https://example.com/blocked", "https://example.com/timeout",
            "https://example.com/secret", "https://example.com/gone", "https://example.com/same", "ftp://example.com/file"]
    results = post(api, "/v1/context", {"urls": urls}).json()["results"]
    assert [r["status"] for r in results] == [
        {"type": "ok"},
        {"type": "fetch_failed", "message": "the page could not be fetched"},
        {"type": "blocked", "message": "the site does not allow fetching"},
        {"type": "timeout", "message": "the page did not load in time"},
        {"type": "forbidden", "message": "the site answered 403"},
        {"type": "not_found", "message": "not found: https://example.com/gone"},
        {"type": "not_modified"},
        {"type": "invalid_url", "message": "the URL must start with http:// or https://"},
    ]
    for result in results:
        if result["status"]["type"] in ("ok", "not_modified"):
            assert set(result) == {"url", "status", "markdown", "metadata"}
        else:
            assert set(result) == {"url", "status"}  # no content and no metadata for a failure


def test_tests_can_set_a_pages_content(api):
    api.context_pages = {"https://example.com/x": {"title": "Mine", "markdown": "# Mine\n", "author": None}}
    result = post(api, "/v1/context", {"urls": ["https://example.com/x"]}).json()["results"][0]
    assert (result["metadata"]["title"], result["markdown"]) == ("Mine", "# Mine\n")
    assert (result["metadata"]["title"], result["metadata"]["author"]) == ("Mine", None)


CONTEXT_REJECTED = {
    "no urls": ({"urls": None}, "urls", "invalid_request"),
    "no url in the list": ({"urls": []}, "urls", "invalid_request"),
    "51 urls": ({"urls": ["https://example.com/"] * 51}, "urls", "invalid_request"),
    "a url that is a number": ({"urls": ["https://example.com/", 7]}, "urls", "invalid_request"),
    "an empty url": ({"urls": [""]}, "urls", "invalid_request"),
    "urls as a string": ({"urls": "https://example.com/"}, "urls", "invalid_request"),
    "an unknown format": ({"formats": ["markdown", "pdf"]}, "formats", "unsupported_format"),
    "formats as a string": ({"formats": "markdown"}, "formats", "invalid_request"),
    "no format": ({"formats": []}, "formats", "invalid_request"),
    "highlights without a query": ({"formats": ["highlights"]}, "highlights", "invalid_request"),
    "highlights with an empty query": ({"formats": ["highlights"], "highlights": {"query": ""}}, "highlights", "invalid_request"),
    "highlights not an object": ({"highlights": "tides"}, "highlights", "invalid_request"),
    "highlights with an unknown key": ({"highlights": {"query": "q", "top": 3}}, "highlights", "invalid_request"),
    "max_tokens_per_url 0": ({"max_tokens_per_url": 0}, "max_tokens_per_url", "invalid_request"),
    "max_tokens_per_url as a string": ({"max_tokens_per_url": "100"}, "max_tokens_per_url", "invalid_request"),
    "max_age_seconds -1": ({"max_age_seconds": -1}, "max_age_seconds", "invalid_request"),
    "max_age_seconds as a float": ({"max_age_seconds": 1.5}, "max_age_seconds", "invalid_request"),
}


@pytest.mark.parametrize("name", list(CONTEXT_REJECTED))
def test_context_rejects(api, name):
    fields, param, type = CONTEXT_REJECTED[name]
    rejected(api, "/v1/context", {k: v for k, v in {"urls": ["https://example.com/"], **fields}.items() if v is not None}, param, type)


def test_an_unknown_format_is_named(api):
    err = rejected(api, "/v1/context", {"urls": ["https://example.com/"], "formats": ["pdf"]}, "formats", "unsupported_format")
    assert err["message"] == 'unsupported format "pdf"'


def test_fifty_urls_are_accepted(api):
    assert len(post(api, "/v1/context", {"urls": ["https://example.com/"] * 50}).json()["results"]) == 50


# ---- the Embeddings API ----

def test_embeddings_of_one_string_at_full_size_in_int8(api):
    response = post(api, "/v1/embeddings", {"input": "hello big world", "model": "pplx-embed-v1-0.6b"})
    assert response.status_code == 200
    body = response.json()
    assert body == {"object": "list", "model": "pplx-embed-v1-0.6b",
                    "data": [{"object": "embedding", "index": 0, "embedding": body["data"][0]["embedding"]}],
                    "usage": {"prompt_tokens": 3, "total_tokens": 3,
                              "cost": {"currency": "USD", "input_cost": 1.2e-08, "total_cost": 1.2e-08}}}
    raw = base64.b64decode(body["data"][0]["embedding"])
    assert len(raw) == 1024
    values = decode_embedding(body["data"][0]["embedding"])
    assert values == expected_embedding("hello big world", 1024)
    assert min(values) >= -128 and max(values) <= 127 and min(values) < 0 < max(values)
    assert "x-request-id" in response.headers and "x-ratelimit-used" in response.headers


def test_embeddings_of_a_list_with_fewer_dimensions(api):
    texts = ["one", "two words", "three more words"]
    body = post(api, "/v1/embeddings", {"input": texts, "model": "pplx-embed-v1-4b", "dimensions": 256,
                                        "encoding_format": "base64_int8"}).json()
    assert body["model"] == "pplx-embed-v1-4b"
    assert [item["index"] for item in body["data"]] == [0, 1, 2]
    assert [decode_embedding(item["embedding"]) for item in body["data"]] == [expected_embedding(t, 256) for t in texts]
    assert body["usage"] == {"prompt_tokens": 6, "total_tokens": 6,
                             "cost": {"currency": "USD", "input_cost": 1.8e-07, "total_cost": 1.8e-07}}
    assert embedding_cost("pplx-embed-v1-4b", 6) == 1.8e-07
    # Matryoshka: a smaller size is a prefix of the full one
    assert expected_embedding("one", 256) == expected_embedding("one", 2560)[:256]


def test_binary_embeddings_are_packed_bits_of_the_int8_signs(api):
    body = post(api, "/v1/embeddings", {"input": ["hello", "héllo wörld 🚀"], "model": "pplx-embed-v1-0.6b", "dimensions": 136,
                                        "encoding_format": "base64_binary"}).json()
    for item, text in zip(body["data"], ["hello", "héllo wörld 🚀"]):
        assert len(base64.b64decode(item["embedding"])) == 17
        bits = decode_embedding(item["embedding"], "base64_binary")
        assert bits == expected_embedding(text, 136, "base64_binary")
        assert bits == [1 if v > 0 else 0 for v in expected_embedding(text, 136)]
        assert encode_embedding(bits, "base64_binary") == item["embedding"]
    first = base64.b64decode(body["data"][0]["embedding"])[0]
    assert [(first >> k) & 1 for k in range(8)] == decode_embedding(body["data"][0]["embedding"], "base64_binary")[:8]  # LSB first


def test_full_size_binary_on_the_big_model(api):
    item = post(api, "/v1/embeddings", {"input": "x", "model": "pplx-embed-v1-4b", "encoding_format": "base64_binary"}).json()["data"][0]
    assert len(base64.b64decode(item["embedding"])) == 2560 // 8


def test_512_inputs_are_accepted_and_513_are_not(api):
    texts = [f"text {i}" for i in range(512)]
    body = post(api, "/v1/embeddings", {"input": texts, "model": "pplx-embed-v1-0.6b", "dimensions": 128}).json()
    assert [item["index"] for item in body["data"]] == list(range(512))
    assert decode_embedding(body["data"][511]["embedding"]) == expected_embedding("text 511", 128)
    assert body["usage"]["prompt_tokens"] == 1024
    rejected(api, "/v1/embeddings", {"input": ["t"] * 513, "model": "pplx-embed-v1-0.6b"}, "input")


def test_token_limits(api):
    model = {"model": "pplx-embed-v1-0.6b", "dimensions": 128}
    assert post(api, "/v1/embeddings", {"input": "w " * 32_000, **model}).status_code == 200
    err = rejected(api, "/v1/embeddings", {"input": ["short", "w " * 32_001], **model}, "input")
    assert err["message"] == "validation failed: input 1 has 32001 tokens; the limit is 32000"
    assert post(api, "/v1/embeddings", {"input": ["w " * 30_000] * 4, **model}).status_code == 200
    err = rejected(api, "/v1/embeddings", {"input": ["w " * 30_000] * 4 + ["w"], **model}, "input")
    assert err["message"] == "validation failed: the input has 120001 tokens; the limit is 120000"


EMBEDDINGS_REJECTED = {
    "no input": ({"input": None}, "input"),
    "an empty string": ({"input": ""}, "input"),
    "an empty list": ({"input": []}, "input"),
    "an empty string in the list": ({"input": ["a", ""]}, "input"),
    "a number in the list": ({"input": ["a", 3]}, "input"),
    "a list of lists": ({"input": [["a"]]}, "input"),
    "no model": ({"model": None}, "model"),
    "an unknown model": ({"model": "pplx-embed-v2"}, "model"),
    "a contextualized model": ({"model": "pplx-embed-context-v1-0.6b"}, "model"),
    "127 dimensions": ({"dimensions": 127}, "dimensions"),
    "1025 dimensions on the small model": ({"dimensions": 1025}, "dimensions"),
    "dimensions as a string": ({"dimensions": "256"}, "dimensions"),
    "an unknown encoding": ({"encoding_format": "float"}, "encoding_format"),
    "binary with dimensions not a multiple of 8": ({"dimensions": 132, "encoding_format": "base64_binary"}, "dimensions"),
}


@pytest.mark.parametrize("name", list(EMBEDDINGS_REJECTED))
def test_embeddings_reject(api, name):
    fields, param = EMBEDDINGS_REJECTED[name]
    body = {k: v for k, v in {"input": "text", "model": "pplx-embed-v1-0.6b", **fields}.items() if v is not None}
    rejected(api, "/v1/embeddings", body, param)


def test_embeddings_rejection_messages(api):
    assert rejected(api, "/v1/embeddings", {"input": "t", "model": "pplx-embed-v2"}, "model")["message"] == \
        'validation failed: model "pplx-embed-v2" is not supported'
    assert rejected(api, "/v1/embeddings", {"input": ["t", ""], "model": "pplx-embed-v1-0.6b"}, "input")["message"] == \
        "validation failed: input cannot contain empty strings"
    assert rejected(api, "/v1/embeddings", {"input": "t", "model": "pplx-embed-v1-4b", "dimensions": 2561}, "dimensions")["message"] == \
        "validation failed: dimensions must be an integer between 128 and 2560 for pplx-embed-v1-4b"


# ---- the Contextualized Embeddings API ----

def test_contextualized_embeddings_one_entry_per_document(api):
    documents = [["Curiosity begins in childhood.", "It drives science."], ["The rover explores Mars."]]
    response = post(api, "/v1/contextualizedembeddings", {"input": documents, "model": "pplx-embed-context-v1-4b", "dimensions": 512})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"object", "model", "data", "usage"}
    assert (body["object"], body["model"]) == ("list", "pplx-embed-context-v1-4b")
    assert [(doc["object"], doc["index"], [(c["object"], c["index"]) for c in doc["data"]]) for doc in body["data"]] == \
        [("list", 0, [("embedding", 0), ("embedding", 1)]), ("list", 1, [("embedding", 0)])]
    for doc, chunks in zip(body["data"], documents):
        for item in doc["data"]:
            assert decode_embedding(item["embedding"]) == expected_contextualized_embedding(chunks, item["index"], 512)
    assert body["usage"] == {"prompt_tokens": 11, "total_tokens": 11,
                             "cost": {"currency": "USD", "input_cost": 5.5e-07, "total_cost": 5.5e-07}}


def test_a_chunks_vector_depends_on_its_document(api):
    body = post(api, "/v1/contextualizedembeddings", {"input": [["same", "a"], ["same", "b"]], "model": "pplx-embed-context-v1-0.6b",
                                                      "encoding_format": "base64_binary"}).json()
    first, second = (decode_embedding(doc["data"][0]["embedding"], "base64_binary") for doc in body["data"])
    assert len(first) == 1024 and first != second
    assert first == expected_contextualized_embedding(["same", "a"], 0, 1024, "base64_binary")
    assert body["usage"]["cost"]["total_cost"] == embedding_cost("pplx-embed-context-v1-0.6b", 4) == 3.2e-08


def test_contextualized_limits(api):
    model = {"model": "pplx-embed-context-v1-0.6b", "dimensions": 128, "encoding_format": "base64_binary"}
    assert len(post(api, "/v1/contextualizedembeddings", {"input": [["d"]] * 512, **model}).json()["data"]) == 512
    rejected(api, "/v1/contextualizedembeddings", {"input": [["d"]] * 513, **model}, "input")
    many = [["c"] * 500] * 32
    assert post(api, "/v1/contextualizedembeddings", {"input": many, **model}).status_code == 200  # 16,000 chunks
    err = rejected(api, "/v1/contextualizedembeddings", {"input": many + [["one more"]], **model}, "input")
    assert err["message"] == f"validation failed: input has {MAX_CHUNKS + 1} chunks; the limit is {MAX_CHUNKS}"
    err = rejected(api, "/v1/contextualizedembeddings", {"input": [["w " * 16_000, "w " * 16_001]], **model}, "input")
    assert err["message"] == "validation failed: document 0 has 32001 tokens; the limit is 32000"
    err = rejected(api, "/v1/contextualizedembeddings", {"input": [["w " * 30_000]] * 4 + [["w"]], **model}, "input")
    assert err["message"] == "validation failed: the input has 120001 tokens; the limit is 120000"


CONTEXTUALIZED_REJECTED = {
    "no input": ({"input": None}, "input"),
    "a string": ({"input": "text"}, "input"),
    "a flat list": ({"input": ["a", "b"]}, "input"),
    "no document": ({"input": []}, "input"),
    "an empty document": ({"input": [["a"], []]}, "input"),
    "an empty chunk": ({"input": [["a", ""]]}, "input"),
    "a chunk that is a number": ({"input": [["a", 1]]}, "input"),
    "no model": ({"model": None}, "model"),
    "a plain embedding model": ({"model": "pplx-embed-v1-0.6b"}, "model"),
    "2561 dimensions on the big model": ({"model": "pplx-embed-context-v1-4b", "dimensions": 2561}, "dimensions"),
    "1025 dimensions on the small model": ({"dimensions": 1025}, "dimensions"),
    "an unknown encoding": ({"encoding_format": "base64_float"}, "encoding_format"),
    "binary with dimensions not a multiple of 8": ({"dimensions": 129, "encoding_format": "base64_binary"}, "dimensions"),
}


@pytest.mark.parametrize("name", list(CONTEXTUALIZED_REJECTED))
def test_contextualized_embeddings_reject(api, name):
    fields, param = CONTEXTUALIZED_REJECTED[name]
    body = {k: v for k, v in {"input": [["chunk"]], "model": "pplx-embed-context-v1-0.6b", **fields}.items() if v is not None}
    rejected(api, "/v1/contextualizedembeddings", body, param)


# ---- the helpers themselves ----

def test_helpers_round_trip_and_refuse_what_the_service_refuses():
    values = expected_embedding("x", 128)
    assert decode_embedding(encode_embedding(values)) == values
    assert len(expected_embedding("x", 2560)) == 2560 and expected_embedding("x", 128) != expected_embedding("y", 128)
    with pytest.raises(ValueError):
        expected_embedding("x", 132, "base64_binary")
    with pytest.raises(ValueError):
        expected_embedding("x", 128, "float")
    assert count_tokens("  two\nwords ") == 2
    assert truncate_tokens("a  b\nc d", 3) == "a  b\nc" and truncate_tokens("a b", 5) == "a b"
