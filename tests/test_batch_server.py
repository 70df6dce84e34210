"""The fake's enforced rate limit, latency, Files API and Batch API (tests/batch_server.py), over a real socket."""

import concurrent.futures
import math
import time
import uuid

import pytest
import requests

from tests.batch_server import (
    MAX_METADATA, Invalid, RateLogEntry, jsonl, output_order, parse_multipart, per_window, read_jsonl, request_line,
)
from tests.server import AgentRun, Reply, json_reply

KEY = "pplx-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
AGENT = "/v1/responses"
T = 1_790_000_000  # a window's start, for a frozen rate clock
RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "x-ratelimit-used")


def ask(api, body=None, headers=AUTH, path=AGENT):
    return requests.post(api.url + path, json={"input": "q"} if body is None else body, headers=headers, timeout=30)


def limits(response):
    """The x-ratelimit-* headers as ints: (limit, remaining, reset, used)."""
    return tuple(int(response.headers[name]) for name in RATE_HEADERS)


def error(message, type="invalid_request", status=400, param=None):
    err = {"message": message, "type": type, "code": status}
    if param is not None:
        err["param"] = param
    return {"error": err}


def freeze(api, at):
    """Make the rate clock read ``at[0]`` (a one-item list the test moves)."""
    api.rate_clock = lambda: at[0]


def upload(api, content, filename="requests.jsonl", purpose="batch", headers=AUTH):
    return requests.post(api.url + "/v1/files", files={"file": (filename, content)}, data={"purpose": purpose},
                         headers=headers, timeout=30)


def uploaded(api, lines):
    """Upload lines (dicts or raw strings) as JSONL: the file id."""
    response = upload(api, jsonl(lines))
    assert response.status_code == 200, response.text
    return response.json()["id"]


def create(api, file_id, headers=AUTH, **extra):
    body = {"input_file_id": file_id, "endpoint": "/v1/responses", "completion_window": "24h", **extra}
    return requests.post(api.url + "/v1/batches", json=body, headers=headers, timeout=30)


def started(api, lines, **extra):
    """A new batch over these lines: its id."""
    response = create(api, uploaded(api, lines), **extra)
    assert response.status_code == 200, response.text
    return response.json()["id"]


def poll(api, batch_id):
    response = requests.get(f"{api.url}/v1/batches/{batch_id}", headers=AUTH, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def cancel(api, batch_id):
    return requests.post(f"{api.url}/v1/batches/{batch_id}/cancel", headers=AUTH, timeout=30)


def content(api, file_id):
    response = requests.get(f"{api.url}/v1/files/{file_id}/content", headers=AUTH, timeout=30)
    assert response.status_code == 200, response.text
    return response.content


def finished(api, batch_id):
    """Poll until the batch has ended: its last object."""
    for _ in range(20):
        batch = poll(api, batch_id)
        if batch["status"] in ("completed", "failed", "cancelled", "expired"):
            return batch
    raise AssertionError("the batch never ended")


def without_ids(response):
    """A response object less what differs between two runs of the same request (ids and times)."""
    out = {k: v for k, v in response.items() if k not in ("id", "created_at", "completed_at")}
    out["output"] = [{k: v for k, v in item.items() if k != "id"} for item in response["output"]]
    return out


# ---- the rate limit ----

def test_without_a_limit_nothing_is_enforced_and_the_old_headers_stay(api):
    answers = [ask(api) for _ in range(5)]
    assert [r.status_code for r in answers] == [200] * 5
    assert [limits(r)[3] for r in answers] == [1, 2, 3, 4, 5]  # api.ratelimit's counter, as before
    assert {limits(r)[0] for r in answers} == {50}
    assert api.rate_log == []


def test_a_fixed_window_admits_n_requests_then_429s_until_it_ends(api):
    at = [T + 0.25]
    freeze(api, at)
    api.rate_limit = 3
    answers = [ask(api) for _ in range(3)]
    assert [r.status_code for r in answers] == [200] * 3
    assert [limits(r) for r in answers] == [(3, 2, T + 1, 1), (3, 1, T + 1, 2), (3, 0, T + 1, 3)]
    refused = ask(api)
    assert refused.status_code == 429
    assert refused.json() == {"error": {"message": "Rate limit exceeded", "type": "request_rate_limit_exceeded", "code": 429}}
    assert refused.headers["Content-Type"] == "application/json"
    assert limits(refused) == (3, 0, T + 1, 3)
    uuid.UUID(refused.headers["x-request-id"])
    assert "retry-after" not in refused.headers and "retry-after-ms" not in refused.headers  # like the real 429
    at[0] = T + 0.999
    assert ask(api, {"input": "q", "stream": True}).status_code == 429  # a stream is refused the same way, as JSON
    at[0] = T + 1  # the window's end: a whole new budget
    again = ask(api)
    assert again.status_code == 200 and limits(again) == (3, 2, T + 2, 1)
    assert [(e.accepted, e.window) for e in api.rate_log] == [(True, T)] * 3 + [(False, T)] * 2 + [(True, T + 1)]
    stamps = [e.at for e in api.rate_log]
    assert stamps == sorted(stamps) and all(isinstance(e, RateLogEntry) for e in api.rate_log)
    assert per_window(api) == {T: (3, 2), T + 1: (1, 0)}


def test_retry_after_ms_is_sent_only_when_asked(api):
    freeze(api, [T + 0.25])
    api.rate_limit, api.rate_limit_retry_after = 0, True
    refused = ask(api)
    assert refused.status_code == 429 and refused.headers["retry-after-ms"] == "750"
    assert "retry-after" not in refused.headers


def test_every_answer_to_a_valid_key_counts_a_401_does_not(api):
    freeze(api, [T])
    api.rate_limit = 2
    assert ask(api, headers={}).status_code == 401
    assert api.rate_log == []
    bad = ask(api, {"input": ""})
    assert bad.status_code == 400 and limits(bad) == (2, 1, T + 1, 1)
    queued = api.add("/v1/agent", json_reply({"queued": True}, 201), json_reply({"queued": "second"}))
    assert ask(api, path="/v1/agent").status_code == 201  # the alias shares the window
    assert ask(api, path="/v1/agent").status_code == 429  # the limit comes before any queued reply...
    assert api.routes["/v1/agent"] == [queued[1]]  # ...and the refused request took nothing from the queue
    assert per_window(api) == {T: (2, 1)}


def test_streams_and_background_runs_carry_the_window(api):
    freeze(api, [T + 0.5])
    api.rate_limit = 5
    stream = ask(api, {"input": "q", "stream": True})
    assert stream.headers["Content-Type"] == "text/event-stream" and limits(stream) == (5, 4, T + 1, 1)
    queued = ask(api, {"input": "q", "background": True, "store": True})
    assert queued.json()["status"] == "queued" and limits(queued) == (5, 3, T + 1, 2)


def test_other_paths_show_the_window_without_counting(api):
    freeze(api, [T])
    api.rate_limit = 2
    ask(api)
    searched = requests.post(api.url + "/search", json={"query": "q"}, headers=AUTH, timeout=10)
    listed = requests.get(api.url + "/v1/batches", headers=AUTH, timeout=10)
    assert limits(searched) == limits(listed) == (2, 1, T + 1, 1)
    assert limits(ask(api)) == (2, 0, T + 1, 2)
    assert per_window(api) == {T: (2, 0)}


def test_the_real_clock_cuts_windows_at_whole_seconds(api):
    if time.time() % 1 > 0.5:  # start early in a window, so the burst stays in one
        time.sleep(1.02 - time.time() % 1)
    api.rate_limit = 4
    burst = [ask(api) for _ in range(6)]
    assert [r.status_code for r in burst] == [200] * 4 + [429] * 2
    reset = limits(burst[-1])[2]
    assert reset == math.floor(time.time()) + 1
    time.sleep(max(reset - time.time(), 0) + 0.01)  # a client that waits for the reset is admitted at once
    assert ask(api).status_code == 200
    assert [n for n, _ in per_window(api).values()] == [4, 1]


def test_a_client_that_waits_for_the_reset_gets_everything_through(api):
    api.rate_limit = 4

    def patient(n):
        while True:
            response = ask(api, {"input": f"q{n}"})
            if response.status_code != 429:
                return response.status_code
            time.sleep(max(limits(response)[2] - time.time(), 0) + 0.01)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        assert list(pool.map(patient, range(10))) == [200] * 10
    windows = per_window(api)
    assert sum(accepted for accepted, _ in windows.values()) == 10
    assert all(accepted <= 4 for accepted, _ in windows.values())
    assert len(api.rate_log) == 10 + sum(rejected for _, rejected in windows.values())


# ---- latency ----

def test_latency_delays_each_agent_answer_but_answers_run_in_parallel(api):
    api.latency = 0.2
    began = time.monotonic()
    assert ask(api).status_code == 200
    assert time.monotonic() - began >= 0.2
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        began = time.monotonic()
        codes = list(pool.map(lambda _: ask(api, {"input": "q", "stream": _ % 2 == 0}).status_code, range(16)))
        took = time.monotonic() - began
    assert codes == [200] * 16
    assert 0.2 <= took < 1.0, took  # not 16 * 0.2 s one after another
    began = time.monotonic()
    assert requests.get(api.url + "/v1/models", headers=AUTH, timeout=10).status_code == 200  # other paths do not wait
    assert ask(api, headers={}).status_code == 401  # nor does a bad key
    assert time.monotonic() - began < 0.2


def test_a_429_does_not_wait_for_the_latency(api):
    freeze(api, [T])
    api.rate_limit, api.latency = 0, 1.0
    began = time.monotonic()
    assert ask(api).status_code == 429
    assert time.monotonic() - began < 0.5


# ---- files ----

#: Bytes a multipart parser could trip on: CRLF, a boundary-like line, non-ASCII, a NUL, no final newline.
AWKWARD = '{"custom_id": "é"}\r\n--not-the-boundary\r\n\r\n日本語 🚀\x00'.encode()


def test_an_upload_round_trips_every_byte(api):
    response = upload(api, AWKWARD, filename="my batch.jsonl")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"id", "object", "bytes", "created_at", "filename", "purpose"}
    assert body["id"].startswith("file-") and uuid.UUID(body["id"].removeprefix("file-"))
    assert (body["object"], body["bytes"], body["filename"], body["purpose"]) == ("file", len(AWKWARD), "my batch.jsonl", "batch")
    assert abs(body["created_at"] - time.time()) < 5
    assert int(response.headers["x-ratelimit-used"]) >= 1 and response.headers["x-request-id"]
    meta = requests.get(f"{api.url}/v1/files/{body['id']}", headers=AUTH, timeout=10)
    assert meta.json() == body
    raw = requests.get(f"{api.url}/v1/files/{body['id']}/content", headers=AUTH, timeout=10)
    assert raw.content == AWKWARD and raw.headers["Content-Type"] == "application/octet-stream"
    assert api.files[body["id"]].content == AWKWARD
    assert isinstance(api.requests[0]["body"], bytes)  # the multipart body as it came


FILE = ("a.jsonl", b"x")


@pytest.mark.parametrize("parts, message, param", [
    ({"file": FILE}, "validation failed: purpose is required", "purpose"),
    ({"purpose": (None, "fine-tune"), "file": FILE}, 'validation failed: purpose "fine-tune" is not supported; use "batch"', "purpose"),
    ({"purpose": (None, "batch")}, "validation failed: file is required", "file"),
    ({"purpose": (None, "batch"), "file": ("a.jsonl", b"")}, "validation failed: file is empty", "file"),
    ({"purpose": (None, "batch"), "file": FILE, "expires_after": (None, "1")}, 'invalid request body: unknown field "expires_after"',
     "expires_after"),
])
def test_a_bad_upload_is_400(api, parts, message, param):
    response = requests.post(api.url + "/v1/files", files=parts, headers=AUTH, timeout=10)  # always multipart
    assert response.status_code == 400
    assert response.json() == error(message, param=param)
    assert "x-ratelimit-limit" in response.headers
    assert api.files == {}


def test_a_body_that_is_not_multipart_is_400(api):
    as_json = requests.post(api.url + "/v1/files", json={"purpose": "batch", "file": "x"}, headers=AUTH, timeout=10)
    assert as_json.status_code == 400 and as_json.json() == error("invalid request body: expected multipart/form-data")
    cut = requests.post(api.url + "/v1/files", data=b'--b\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch',
                        headers={**AUTH, "Content-Type": "multipart/form-data; boundary=b"}, timeout=10)
    assert cut.status_code == 400 and cut.json() == error("invalid request body: malformed multipart/form-data")


def test_parse_multipart_keeps_filenames_and_bytes():
    body = (b'preamble\r\n--XyZ\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
            b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a b.jsonl"\r\nContent-Type: application/jsonl\r\n\r\n'
            b'line\r\n--XyZx\r\n\r\n--XyZ--\r\nepilogue')
    assert parse_multipart('multipart/form-data; boundary="XyZ"', body) == {
        "purpose": (None, b"batch"), "file": ("a b.jsonl", b"line\r\n--XyZx\r\n")}
    with pytest.raises(Invalid):
        parse_multipart("multipart/form-data; boundary=XyZ", body.replace(b'name="purpose"', b'name="file"'))


def test_unknown_files_are_404(api):
    for path in ("/v1/files/file-nope", "/v1/files/file-nope/content", "/v1/files/x/y"):
        response = requests.get(api.url + path, headers=AUTH, timeout=10)
        assert response.status_code == 404
        assert response.json() == error("resource not found", "not_found", 404)
        assert "x-ratelimit-limit" in response.headers


# ---- batches ----

def test_a_batch_goes_through_its_steps_and_its_output_comes_shuffled(api):
    ids = [f"req-{n}" for n in range(6)]
    file_id = uploaded(api, [request_line(c) for c in ids])
    created = create(api, file_id, metadata={"job": "nightly"})
    assert created.status_code == 200 and created.headers["x-request-id"]
    batch = created.json()
    assert batch["id"].startswith("batch_") and uuid.UUID(batch["id"].removeprefix("batch_"))
    assert set(batch) == {"id", "object", "endpoint", "errors", "input_file_id", "completion_window", "status",
                          "output_file_id", "error_file_id", "created_at", "in_progress_at", "expires_at",
                          "finalizing_at", "completed_at", "failed_at", "expired_at", "cancelling_at", "cancelled_at",
                          "request_counts", "metadata"}
    assert (batch["object"], batch["status"], batch["endpoint"], batch["input_file_id"], batch["completion_window"]) == \
        ("batch", "validating", "/v1/responses", file_id, "24h")
    assert batch["request_counts"] == {"total": 0, "completed": 0, "failed": 0}
    assert batch["metadata"] == {"job": "nightly"} and batch["errors"] is None
    assert batch["expires_at"] == batch["created_at"] + 86_400
    seen = [poll(api, batch["id"]) for _ in range(3)]
    assert [b["status"] for b in seen] == ["in_progress", "finalizing", "completed"]
    assert [b["request_counts"]["completed"] for b in seen] == [0, 6, 6]
    assert {b["request_counts"]["total"] for b in seen} == {6} and {b["request_counts"]["failed"] for b in seen} == {0}
    done = seen[-1]
    assert all(isinstance(done[k], int) for k in ("in_progress_at", "finalizing_at", "completed_at"))
    assert done["failed_at"] is done["cancelled_at"] is done["error_file_id"] is None
    assert poll(api, batch["id"]) == done  # it stays completed
    meta = requests.get(f"{api.url}/v1/files/{done['output_file_id']}", headers=AUTH, timeout=10).json()
    assert (meta["purpose"], meta["filename"]) == ("batch_output", f"{batch['id']}_output.jsonl")
    lines = read_jsonl(content(api, done["output_file_id"]))
    order = [line["custom_id"] for line in lines]
    assert order == output_order(ids) and order != ids and sorted(order) == sorted(ids)
    reference = ask(api, {"input": "question req-0"}).json()  # what the POST itself answers
    for line in lines:
        assert set(line) == {"id", "custom_id", "response", "error"} and line["error"] is None
        assert line["id"].startswith("batch_req_")
        response = line["response"]
        assert set(response) == {"status_code", "request_id", "body"} and response["status_code"] == 200
        assert response["request_id"] == response["body"]["id"].removeprefix("resp_")
        assert without_ids(response["body"]) == without_ids(reference)
        stored = requests.get(f"{api.url}/v1/responses/{response['body']['id']}", headers=AUTH, timeout=10)
        assert stored.json() == response["body"]  # a batch's responses are stored like any other


@pytest.mark.parametrize("order, expected", [("input", ["a", "b", "c"]), ("reversed", ["c", "b", "a"])])
def test_the_output_order_can_be_chosen(api, order, expected):
    api.batch_output_order = order
    done = finished(api, started(api, [request_line(c) for c in "abc"]))
    assert [line["custom_id"] for line in read_jsonl(content(api, done["output_file_id"]))] == expected


def test_shuffled_is_never_the_input_order():
    for ids in (["a", "b"], ["b", "a"], [str(n) for n in range(10)]):
        assert output_order(ids) != ids and sorted(output_order(ids)) == sorted(ids)
    assert output_order(["only"]) == ["only"]


def test_polls_per_step_spreads_the_lines_over_the_polls(api):
    api.batch_polls_per_step = 2
    batch_id = started(api, [request_line(str(n)) for n in range(4)])
    seen = [(b["status"], b["request_counts"]["completed"]) for b in (poll(api, batch_id) for _ in range(6))]
    assert seen == [("validating", 0), ("in_progress", 0), ("in_progress", 2), ("finalizing", 4), ("finalizing", 4), ("completed", 4)]


def test_zero_polls_per_step_ends_at_the_first_poll_and_none_waits_for_advance(api):
    api.batch_polls_per_step = 0
    assert poll(api, started(api, [request_line("a")]))["status"] == "completed"
    api.batch_polls_per_step = None
    batch_id = started(api, [request_line("a")])
    assert [poll(api, batch_id)["status"] for _ in range(3)] == ["validating"] * 3
    api.batches[batch_id].advance(2)
    assert poll(api, batch_id)["status"] == "finalizing"
    api.batches[batch_id].advance()
    assert poll(api, batch_id)["status"] == "completed"
    assert api.batches[batch_id].polls == 5


def test_the_same_idempotency_key_gets_the_same_batch(api):
    file_id = uploaded(api, [request_line("a")])
    first = create(api, file_id, headers={**AUTH, "Idempotency-Key": "k1"}).json()
    poll(api, first["id"])
    again = create(api, file_id, headers={**AUTH, "Idempotency-Key": "k1"})
    assert again.status_code == 200
    assert again.json()["id"] == first["id"] and again.json()["status"] == "in_progress"  # the batch as it is now
    assert len(api.batches) == 1
    other = create(api, file_id, headers={**AUTH, "Idempotency-Key": "k2"}).json()
    assert other["id"] != first["id"] and len(api.batches) == 2
    changed = create(api, file_id, headers={**AUTH, "Idempotency-Key": "k1"}, metadata={"x": "y"})
    assert changed.status_code == 400
    assert changed.json() == error("the Idempotency-Key was already used with a different request")
    assert create(api, file_id).json()["id"] not in (first["id"], other["id"])  # no key: always a new batch


@pytest.mark.parametrize("lines, problems", [
    (['{"custom_id": "a", '], [("invalid_json_line", None, 1)]),
    ([request_line("a"), "", request_line("b")], [("invalid_json_line", None, 2)]),
    ([request_line("a"), request_line("a")], [("duplicate_custom_id", "custom_id", 2)]),
    ([request_line("")], [("missing_custom_id", "custom_id", 1)]),
    ([{"method": "POST", "url": "/v1/responses", "body": {"input": "q"}}], [("missing_custom_id", "custom_id", 1)]),
    ([request_line("a", method="GET")], [("invalid_method", "method", 1)]),
    ([request_line("a", url="/v1/chat/completions")], [("invalid_url", "url", 1)]),
    ([request_line("a", body="q")], [("invalid_body", "body", 1)]),
    ([request_line("a", extra=1)], [("invalid_line", "extra", 1)]),
    (["[1, 2]", request_line("b", method="PUT", url="/x")], [("invalid_line", None, 1), ("invalid_method", "method", 2),
                                                              ("invalid_url", "url", 2)]),
])
def test_a_bad_input_file_fails_the_batch_with_its_errors(api, lines, problems):
    batch_id = started(api, lines)
    failed = poll(api, batch_id)
    assert failed["status"] == "failed" and isinstance(failed["failed_at"], int)
    assert failed["errors"]["object"] == "list"
    assert [(e["code"], e["param"], e["line"]) for e in failed["errors"]["data"]] == problems
    assert all(set(e) == {"code", "message", "param", "line"} and e["message"] for e in failed["errors"]["data"])
    assert failed["request_counts"] == {"total": 0, "completed": 0, "failed": 0}
    assert failed["output_file_id"] is failed["error_file_id"] is failed["in_progress_at"] is None
    assert poll(api, batch_id)["status"] == "failed"
    assert cancel(api, batch_id).status_code == 400


def test_an_input_file_that_is_not_utf8_fails_at_its_line(api):
    response = upload(api, jsonl([request_line("a")]) + b'{"custom_id": "\xff"}\n')
    failed = poll(api, create(api, response.json()["id"]).json()["id"])
    assert [(e["code"], e["line"]) for e in failed["errors"]["data"]] == [("invalid_json_line", 2)]


def test_failing_lines_go_to_the_error_file_with_their_status(api):
    api.batch_fail_lines = {"boom": (500, "the upstream model failed"), "slow": (429, "Rate limit exceeded", "custom_type")}
    api.batch_runs = {"sad": AgentRun(status="failed", error="search backend down")}
    lines = [request_line("ok"), request_line("boom"), request_line("empty", {"input": ""}),
             request_line("stream", {"input": "q", "stream": True}), request_line("sad"), request_line("slow"),
             request_line("unknown", {"input": "q", "top_k": 3})]
    done = finished(api, started(api, lines))
    assert done["status"] == "completed" and done["request_counts"] == {"total": 7, "completed": 2, "failed": 5}
    output = {line["custom_id"]: line for line in read_jsonl(content(api, done["output_file_id"]))}
    errors = {line["custom_id"]: line for line in read_jsonl(content(api, done["error_file_id"]))}
    assert set(output) == {"ok", "sad"} and set(errors) == {"boom", "empty", "stream", "slow", "unknown"}
    sad = output["sad"]["response"]  # a failed run still came back 200, with its status in the body
    assert sad["status_code"] == 200 and sad["body"]["status"] == "failed"
    assert sad["body"]["error"] == {"message": "search backend down", "type": "internal_error", "code": 500}
    assert {c: (e["response"]["status_code"], e["response"]["body"]) for c, e in errors.items()} == {
        "boom": (500, error("the upstream model failed", "internal_error", 500)),
        "slow": (429, error("Rate limit exceeded", "custom_type", 429)),
        "empty": (400, error("validation failed: input cannot be empty")),
        "stream": (400, error("validation failed: stream is not supported in a batch", param="stream")),
        "unknown": (400, error('invalid request body: json: unknown field "top_k"', param="top_k")),
    }
    for line in errors.values():
        assert line["error"] is None and line["id"].startswith("batch_req_") and line["response"]["request_id"]
    assert [line["custom_id"] for line in read_jsonl(content(api, done["error_file_id"]))] == \
        output_order(["boom", "empty", "stream", "slow", "unknown"])


def test_a_batch_of_only_failures_has_no_output_file(api):
    api.batch_fail_lines = {"a": (500, "no")}
    done = finished(api, started(api, [request_line("a")]))
    assert done["output_file_id"] is None and done["error_file_id"]


def test_cancel_keeps_what_was_answered_and_the_rest_is_batch_cancelled(api):
    api.batch_polls_per_step = 2
    batch_id = started(api, [request_line(str(n)) for n in range(4)])
    assert [poll(api, batch_id)["request_counts"]["completed"] for _ in range(3)] == [0, 0, 2]
    cancelling = cancel(api, batch_id)
    assert cancelling.status_code == 200 and "x-ratelimit-limit" in cancelling.headers
    assert cancelling.json()["status"] == "cancelling" and isinstance(cancelling.json()["cancelling_at"], int)
    assert cancel(api, batch_id).json()["status"] == "cancelling"  # again while cancelling: the same
    cancelled = poll(api, batch_id)
    assert cancelled["status"] == "cancelled" and isinstance(cancelled["cancelled_at"], int)
    assert cancelled["request_counts"] == {"total": 4, "completed": 2, "failed": 0}
    assert sorted(line["custom_id"] for line in read_jsonl(content(api, cancelled["output_file_id"]))) == ["0", "1"]
    unrun = read_jsonl(content(api, cancelled["error_file_id"]))
    assert sorted(line["custom_id"] for line in unrun) == ["2", "3"]
    for line in unrun:
        assert line["response"] is None
        assert line["error"] == {"code": "batch_cancelled", "message": "the batch was cancelled before this request ran"}
    again = cancel(api, batch_id)
    assert again.status_code == 400 and again.json() == error("the batch is already cancelled and cannot be cancelled")


def test_a_completed_batch_cannot_be_cancelled_and_a_validating_one_ends_with_nothing_run(api):
    done = finished(api, started(api, [request_line("a")]))
    refused = cancel(api, done["id"])
    assert refused.status_code == 400 and refused.json() == error("the batch is already completed and cannot be cancelled")
    batch_id = started(api, [request_line("a")])
    assert cancel(api, batch_id).json()["status"] == "cancelling"
    ended = poll(api, batch_id)
    assert ended["status"] == "cancelled" and ended["output_file_id"] is ended["error_file_id"] is None
    assert ended["request_counts"]["total"] == 0  # it was never validated


def test_expire_ends_a_batch_with_the_unrun_lines_as_batch_expired(api):
    batch_id = started(api, [request_line("a"), request_line("b")])
    poll(api, batch_id)
    assert api.batches[batch_id].expire() is True
    expired = poll(api, batch_id)
    assert expired["status"] == "expired" and isinstance(expired["expired_at"], int)
    assert {line["error"]["code"] for line in read_jsonl(content(api, expired["error_file_id"]))} == {"batch_expired"}
    assert api.batches[batch_id].expire() is False


@pytest.mark.parametrize("change, message, param", [
    ({"model": "x"}, 'invalid request body: json: unknown field "model"', "model"),
    ({"input_file_id": None}, "validation failed: input_file_id is required", "input_file_id"),
    ({"endpoint": None}, "validation failed: endpoint is required", "endpoint"),
    ({"completion_window": None}, "validation failed: completion_window is required", "completion_window"),
    ({"endpoint": "/v1/chat/completions"}, 'validation failed: endpoint "/v1/chat/completions" is not supported; use /v1/responses',
     "endpoint"),
    ({"completion_window": "48h"}, 'validation failed: completion_window "48h" is not supported; use 24h', "completion_window"),
    ({"input_file_id": "file-nope"}, 'validation failed: input_file_id "file-nope" is not a file', "input_file_id"),
    ({"metadata": {"a": 1}}, None, "metadata"),
    ({"metadata": {str(n): "v" for n in range(MAX_METADATA + 1)}}, None, "metadata"),
    ({"metadata": {"k" * 65: "v"}}, None, "metadata"),
])
def test_a_bad_batch_request_is_400(api, change, message, param):
    body = {"input_file_id": uploaded(api, [request_line("a")]), "endpoint": "/v1/responses", "completion_window": "24h"}
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    response = requests.post(api.url + "/v1/batches", json=body, headers=AUTH, timeout=10)
    assert response.status_code == 400
    err = response.json()["error"]
    assert (err["type"], err["code"], err["param"]) == ("invalid_request", 400, param)
    assert message is None or err["message"] == message
    assert api.batches == {}


def test_a_batch_needs_an_uploaded_batch_file_and_a_json_body(api):
    done = finished(api, started(api, [request_line("a")]))
    output = create(api, done["output_file_id"])
    assert output.status_code == 400
    assert output.json() == error("validation failed: the input file's purpose must be batch", param="input_file_id")
    raw = requests.post(api.url + "/v1/batches", data=b"not json", headers=AUTH, timeout=10)
    assert raw.status_code == 400 and raw.json() == error("invalid request body: not a JSON object")
    assert create(api, uploaded(api, [request_line("a")]), metadata=None).json()["metadata"] is None  # null is not sent


def test_the_list_is_newest_first_in_pages_and_does_not_move_batches(api):
    ids = [started(api, [request_line("a")]) for _ in range(3)]
    listed = requests.get(api.url + "/v1/batches", headers=AUTH, timeout=10).json()
    assert listed["object"] == "list" and listed["has_more"] is False
    assert [b["id"] for b in listed["data"]] == ids[::-1]
    assert (listed["first_id"], listed["last_id"]) == (ids[2], ids[0])
    assert {b["status"] for b in listed["data"]} == {"validating"}
    page = requests.get(api.url + "/v1/batches?limit=2", headers=AUTH, timeout=10).json()
    assert [b["id"] for b in page["data"]] == [ids[2], ids[1]] and page["has_more"] is True
    rest = requests.get(f"{api.url}/v1/batches?limit=2&after={page['last_id']}", headers=AUTH, timeout=10).json()
    assert [b["id"] for b in rest["data"]] == [ids[0]] and rest["has_more"] is False
    assert requests.get(api.url + "/v1/batches?limit=0", headers=AUTH, timeout=10).json()["error"]["param"] == "limit"
    assert requests.get(api.url + "/v1/batches?after=batch_x", headers=AUTH, timeout=10).json()["error"]["param"] == "after"
    assert all(state.polls == 0 for state in api.batches.values())
    empty = requests.get(api.url + "/v1/batches?after=" + ids[0], headers=AUTH, timeout=10).json()
    assert empty == {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}


def test_unknown_batches_and_paths_are_404(api):
    for method, path in [("GET", "/v1/batches/batch_nope"), ("POST", "/v1/batches/batch_nope/cancel"),
                         ("GET", "/v1/batches/batch_nope/cancel"), ("GET", "/v1/files"), ("POST", "/v1/batches/x/y")]:
        response = requests.request(method, api.url + path, headers=AUTH, timeout=10)
        assert response.status_code == 404, path
        assert response.json() == error("resource not found", "not_found", 404)


@pytest.mark.parametrize("method, path", [("POST", "/v1/files"), ("GET", "/v1/files/file-x"), ("GET", "/v1/files/file-x/content"),
                                          ("POST", "/v1/batches"), ("GET", "/v1/batches"), ("GET", "/v1/batches/batch_x"),
                                          ("POST", "/v1/batches/batch_x/cancel")])
@pytest.mark.parametrize("headers", [{}, {"Authorization": KEY}, {"Authorization": "Bearer "}])
def test_every_new_path_needs_a_bearer_key(api, method, path, headers):
    response = requests.request(method, api.url + path, headers=headers, timeout=10)
    assert response.status_code == 401
    assert response.json() == error("Invalid API key", "invalid_api_key", 401)
    assert "x-ratelimit-used" not in response.headers


def test_a_queued_reply_is_sent_once_after_the_key_check(api):
    batch_id = started(api, [request_line("a")])
    api.add(f"/v1/batches/{batch_id}",
            Reply(status=502, parts=[b"bad gateway"], headers={"Content-Type": "text/plain"}, framing="length"))
    first = requests.get(f"{api.url}/v1/batches/{batch_id}", headers=AUTH, timeout=10)
    assert (first.status_code, first.text) == (502, "bad gateway")
    assert api.batches[batch_id].polls == 0  # the queued reply did not poll
    assert poll(api, batch_id)["status"] == "in_progress"


def test_strict_off_makes_the_new_paths_plain_routes(api):
    api.strict = False
    assert requests.get(api.url + "/v1/batches", timeout=10).status_code == 404
    api.add("/v1/batches", json_reply({"ok": True}))
    assert [requests.get(api.url + "/v1/batches", timeout=10).json() for _ in range(2)] == [{"ok": True}] * 2
