"""The HTTP layer: Retry-After, backoff, error bodies -> exceptions, request headers."""

import email.utils

import pytest
import responses
from responses import matchers

from pplx_cli.wire.client import Client, http_error

from pplx_cli.wire.bodies import summarise_body

from pplx_cli.wire.retrying import backoff, parse_retry_after
from pplx_cli.errors import AgentAPIRequired, APIError, AuthError, RateLimitError


def test_retry_after_seconds_date_and_cap():
    now = 1_000_000.0
    assert parse_retry_after("3", now=now) == 3.0
    assert parse_retry_after("0.5", now=now) == 0.5
    assert parse_retry_after(email.utils.formatdate(now + 7, usegmt=True), now=now) == pytest.approx(7, abs=1)
    assert parse_retry_after(email.utils.formatdate(now - 100, usegmt=True), now=now) == 0.0
    assert parse_retry_after("86400", now=now) == 60.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None


def test_backoff_grows_with_jitter_and_is_capped():
    for attempt, (low, high) in enumerate([(0.5, 1), (1, 2), (2, 4), (4, 8)]):
        waits = [backoff(attempt) for _ in range(200)]
        assert all(low <= w <= high for w in waits)
        assert len(set(waits)) > 100  # jitter
    assert backoff(20) <= 30


def test_summarise_body():
    assert summarise_body(b'{"error": {"message": "Bad", "type": "invalid"}}') == "Bad (invalid)"
    assert summarise_body(b"<html><title> 401\n Unauthorized </title>", "text/html") == "HTML page '401 Unauthorized'"
    assert summarise_body(b"") == "empty body"
    assert summarise_body(b"plain   text\nerror") == "plain text error"
    assert len(summarise_body(b"x" * 1000)) == 203


def test_http_error_classes():
    retired = b'{"error": {"message": "Sonar is now the Agent API.", "type": "chat_completions_not_available", "code": 403}}'
    assert isinstance(http_error(403, retired), AgentAPIRequired)
    assert isinstance(http_error(403, b'{"error": {"code": "agent_api_migration_required", "message": "m"}}'), AgentAPIRequired)
    assert type(http_error(403, b'{"error": {"type": "forbidden"}}')) is AuthError
    assert type(http_error(401, b"<html></html>", "text/html")) is AuthError
    assert type(http_error(429, b"{}")) is RateLimitError
    err = http_error(404, b'{"error": {"message": "nope"}}')
    assert type(err) is APIError and err.status == 404 and err.message == "HTTP 404: nope"


@responses.activate
def test_request_headers_and_body():
    responses.post(
        "https://api.example/chat/completions",
        json={},
        match=[
            matchers.header_matcher({"Authorization": "Bearer pplx-k", "Content-Type": "application/json",
                                     "Accept": "text/event-stream", "Accept-Encoding": "identity"}),
            matchers.json_params_matcher({"model": "sonar", "messages": [{"role": "user", "content": "é"}]}),
        ],
    )
    client = Client(base_url="https://api.example/", api_key="pplx-k")
    response = client.post("/chat/completions", {"model": "sonar", "messages": [{"role": "user", "content": "é"}]}, stream=True)
    assert response.status_code == 200
    assert client.requests_made == 1


@responses.activate
def test_retries_sleep_for_retry_after():
    responses.post("https://api.example/x", status=503, headers={"Retry-After": "2"})
    responses.post("https://api.example/x", status=503, headers={"Retry-After": "2"})
    responses.post("https://api.example/x", json={"ok": 1})
    slept = []
    client = Client(base_url="https://api.example", api_key="k", retries=2, quiet=True, sleep=slept.append)
    assert client.post("/x", {}, stream=False).status_code == 200
    assert slept == [2.0, 2.0]
    assert client.requests_made == 3


def test_retry_wait_honours_the_headers_in_order():
    from pplx_cli.wire.retrying import retry_wait

    now = 1_000_000.0
    assert retry_wait({"Retry-After": "3"}, 429, now) == 3.0
    assert retry_wait({"retry-after-ms": "1500"}, 503, now) == 1.5
    assert retry_wait({"x-ratelimit-reset": str(int(now) + 5)}, 429, now) == 5.0
    assert retry_wait({"x-ratelimit-reset": str(int(now) + 500)}, 429, now) == 60.0  # capped
    assert retry_wait({"x-ratelimit-reset": str(int(now) - 5)}, 429, now) is None  # already past: back off
    assert retry_wait({"x-ratelimit-reset": str(int(now) + 5)}, 503, now) is None  # only a 429 waits for the reset
    assert retry_wait({"Retry-After": "2", "x-ratelimit-reset": str(int(now) + 9)}, 429, now) == 2.0
    assert retry_wait({}, 429, now) is None
