"""``pplx batch --remote``: the same lines on Perplexity's Batch API (``/v1/files``,
``/v1/batches``): submit, status, wait, results, cancel.

Whatever the service answers, a field of the wrong type is one error line (in a batch
object) or a failed record (in a result line), never a traceback; counts are read and shown
through :mod:`pplx_cli.numbers`.
"""

import time

from pplx_cli.wire.bodies import read_object
from pplx_cli.errors import APIError, PplxError, StreamError, UsageError
from pplx_cli.output.messages import note, say, warn
from pplx_cli.output.stdio import out, out_lines

TERMINAL = ("completed", "failed", "expired", "cancelled")
#: The batch's options, besides its input file (part of the Idempotency-Key).
OPTIONS = {"endpoint": "/v1/responses", "completion_window": "24h"}


def remote_batch(args, p, *, no_log):
    if not args or args[0] not in ("submit", "status", "wait", "results", "cancel"):
        raise UsageError("--remote takes an action: submit FILE, status ID, wait ID, results ID or cancel ID")
    action, rest = args[0], args[1:]
    if len(rest) != 1:
        raise UsageError(f"--remote {action} takes one {'FILE' if action == 'submit' else 'batch ID'}")
    from pplx_cli.commands import make_client

    client, _ = make_client(p)
    if action == "submit":
        return _submit(client, rest[0], p)
    rid = rest[0]
    if action == "status":
        out_lines([_describe(_get(client, rid), rid)])
    elif action == "wait":
        batch = _wait(client, rid, p)
        out_lines([_describe(batch, rid)])
        if batch["status"] != "completed":
            raise PplxError(f"the batch ended {batch['status']}")
    elif action == "results":
        _results(client, rid)
    else:
        answer = read_object(client.post(f"/v1/batches/{_quote(rid)}/cancel", {}, stream=False), "the cancel answer")
        status = answer.get("status")
        out_lines([f"{rid}: {status if isinstance(status, str) and status else 'cancelling'}"])


def _quote(rid):
    from urllib.parse import quote

    return quote(rid, safe="")


def _get(client, rid) -> dict:
    """The batch object; its status is a non-empty string (else StreamError)."""
    try:
        batch = read_object(client.get(f"/v1/batches/{_quote(rid)}"), "the batch")
    except APIError as e:
        if e.status == 404:
            raise PplxError(f"no batch {rid} on the service ({e.message})") from None
        raise
    if not isinstance(batch.get("status"), str) or not batch["status"]:
        raise StreamError(f"the service's answer for batch {rid} has no status")
    return batch


def _submit(client, path, p):
    """Build the API's JSONL (one /v1/responses request per line, custom_id = the id), upload
    it, create the batch and print its id.

    The Idempotency-Key is the SHA-256 of the uploaded lines and the batch's options, and the
    batch carries that digest in its metadata (``pplx_sha256``): a create the client retries,
    or the same submit run again after its answer was lost, makes no second batch. A service
    that refuses the key because the body differs (a new upload has a new file id) is asked
    for its recent batches, and the one with the digest is the answer."""
    import hashlib
    import json

    from pplx_cli import jsonsafe
    from pplx_cli.commands.batch_input import check_lines, read_input, read_shared_attachments, with_attachments
    from pplx_cli.commands.params import exchange as make_exchange
    from pplx_cli.dialects.request import build_body

    lines = read_input(path)
    checked = check_lines(lines, dict(p, no_log=True, cid=None, continue_=False, background=False, detach=False,
                                      attachments=read_shared_attachments(p, path)))
    invalid = [(line, message) for line, mine, message in checked if mine is None]
    if invalid:
        for line, message in invalid:
            warn(f"line {line.number}: {message}")
        raise UsageError(f"{len(invalid)} invalid line{'s' if len(invalid) != 1 else ''}: nothing was sent")
    rows = []
    for line, mine, _ in checked:
        exchange = make_exchange("ask", line.prompt, with_attachments(mine), warn=lambda m: None, note=lambda m: None)
        body = build_body("agent", line.prompt, exchange.opts, stream=False)
        rows.append(jsonsafe.dumps({"custom_id": str(line.id), "method": "POST", "url": "/v1/responses", "body": body},
                                   ensure_ascii=False))
    content = ("\n".join(rows) + "\n").encode("utf-8")
    digest = hashlib.sha256(content + b"\n" + json.dumps(OPTIONS, sort_keys=True).encode()).hexdigest()
    name = "pplx-batch.jsonl" if path in (None, "-") else path.rsplit("/", 1)[-1]
    uploaded = read_object(client.post_file("/v1/files", {"purpose": "batch"}, name, content), "the upload's answer")
    if not isinstance(uploaded.get("id"), str) or not uploaded["id"]:
        raise StreamError("the upload's answer names no file id")
    try:
        batch = read_object(client.post("/v1/batches", dict(OPTIONS, input_file_id=uploaded["id"],
                                                             metadata={"pplx_sha256": digest}),
                                         stream=False, headers={"Idempotency-Key": "pplx-" + digest}), "the batch")
    except APIError as e:
        earlier = _submitted_before(client, digest) if e.status in (400, 409, 422) else None
        if earlier is None:
            raise
        note(f"these lines were submitted before, as {earlier}: no second batch")
        return out_lines([earlier])
    if not isinstance(batch.get("id"), str) or not batch["id"]:
        raise StreamError("the service did not say which batch it created")
    out_lines([batch["id"]])


def _submitted_before(client, digest):
    """The id of one of the 100 most recent batches made from the same lines and options, or None."""
    try:
        listing = read_object(client.get("/v1/batches?limit=100"), "the list of batches")
    except PplxError:
        return None
    batches = listing.get("data") if isinstance(listing.get("data"), list) else []
    for batch in batches:
        metadata = batch.get("metadata") if isinstance(batch, dict) else None
        if isinstance(metadata, dict) and metadata.get("pplx_sha256") == digest and isinstance(batch.get("id"), str) \
                and batch["id"]:
            return batch["id"]
    return None


def _describe(batch, rid) -> str:
    from pplx_cli.numbers import thousands

    counts = batch.get("request_counts") if isinstance(batch.get("request_counts"), dict) else {}
    total, done, failed = (thousands(counts.get(k, 0)) for k in ("total", "completed", "failed"))
    return f"{rid}: {batch['status']}, {done}/{total} done, {failed} failed"


def _wait(client, rid, p):
    """Poll until the batch ends (1 s growing to 30 s), with a progress line on a terminal."""
    from pplx_cli.commands import status_line

    line = status_line(p)
    interval = 1.0
    try:
        while True:
            batch = _get(client, rid)
            if batch["status"] in TERMINAL:
                return batch
            if line:
                line.show(_describe(batch, rid))
            time.sleep(interval)
            interval = min(interval * 1.5, 30.0)
    except KeyboardInterrupt:
        note(f"the batch {rid} goes on; 'pplx batch --remote wait {rid}' picks it up again")
        raise
    finally:
        if line:
            line.stop()


def _results(client, rid):
    """The results as local mode writes them, in input order (the output file's lines come in
    any order: the input file says the order). The files are read a line at a time as they
    arrive, and each record is written as soon as its turn comes (see batch.InOrder): a
    results file of any size is written with bounded memory."""
    from pplx_cli.runs.batch import InOrder
    from pplx_cli.runs.records import build_line

    batch = _get(client, rid)
    if batch["status"] not in TERMINAL:
        raise PplxError(f"the batch {rid} is {batch['status']}: 'pplx batch --remote wait {rid}' first")
    input_id = _file_id(batch, "input_file_id", required=True)
    result_ids = [_file_id(batch, "output_file_id"), _file_id(batch, "error_file_id")]
    prompts, unreadable = {}, 0  # custom_id -> prompt, in input order: the small file held, the large one streamed
    for request in _objects(client, input_id):
        cid = request.get("custom_id") if isinstance(request, dict) else None
        if not isinstance(cid, str) or not cid or cid in prompts:
            unreadable += 1
            continue
        prompts[cid] = _prompt_of(request.get("body"))
    if unreadable:
        warn(f"{unreadable} line{'s' if unreadable != 1 else ''} of the input file are not requests pplx can read; "
             "they have no record")
    failed = 0
    with InOrder(list(prompts), out) as order:
        for file_id in filter(None, result_ids):
            for result in _objects(client, file_id):
                cid = result.get("custom_id") if isinstance(result, dict) else None
                if isinstance(cid, str) and cid in prompts and not order.has(cid):
                    record = _record(cid, prompts[cid], result)
                    failed += record["status"] != 0
                    order.add(cid, build_line(record) + "\n")
        for cid in order.missing():
            record = _record(cid, prompts[cid], None)
            failed += 1
            order.add(cid, build_line(record) + "\n")
    say(f"pplx: batch {rid}: {len(prompts) - failed} done, {failed} failed")
    if failed:
        from pplx_cli.errors import Silent

        raise Silent(1)  # the records say why


def _file_id(batch, field, required=False):
    """A file id the batch names (None: it names none); StreamError for one of another type."""
    value = batch.get(field)
    if (value is None and not required) or (isinstance(value, str) and value):
        return value
    raise StreamError(f"the batch's {field} is not a file id")


def _objects(client, file_id):
    """Each line of a file's content as JSON (None for a line that is not), read as it arrives:
    the file is never held whole."""
    from itertools import chain

    from pplx_cli import jsonsafe
    from pplx_cli.wire.bodies import iter_body
    from pplx_cli.wire.sse import iter_lines

    response = client.get(f"/v1/files/{_quote(file_id)}/content")
    for line in iter_lines(chain(iter_body(response), [b"\n"])):  # the last line needs no newline
        if line.strip():
            try:
                yield jsonsafe.loads(line)
            except ValueError:
                yield None


def _prompt_of(body) -> str:
    """A request body's prompt: its input, or the text of its user message (with attachments)."""
    given = body.get("input") if isinstance(body, dict) else None
    if isinstance(given, str):
        return given
    for item in reversed(given if isinstance(given, list) else []):
        content = item.get("content") if isinstance(item, dict) and item.get("role") == "user" else None
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return "".join(part["text"] for part in content if isinstance(part, dict)
                           and part.get("type") == "input_text" and isinstance(part.get("text"), str))
    return ""


def _record(cid, prompt, result) -> dict:
    """The record of one result line (None: the line has none), as local mode writes it."""
    import io

    from pplx_cli import jsonsafe
    from pplx_cli.wire.client import http_error
    from pplx_cli.errors import outcome
    from pplx_cli.numbers import whole
    from pplx_cli.output.writer import AnswerWriter
    from pplx_cli.dialects.stream import body_pieces
    from pplx_cli.wire.bodies import error_message

    writer = AnswerWriter(io.BytesIO(), io.BytesIO(), meta=False)
    status, error = 0, None
    try:
        if result is None:
            raise StreamError("no result for this line")
        response = result.get("response")
        if response is None:
            raise StreamError("no response" if result.get("error") is None else error_message(result["error"]))
        if not isinstance(response, dict):
            raise StreamError("the result's response is not an object")
        code = whole(response.get("status_code"))
        if code is None:
            raise StreamError("the result's status_code is not a number")
        if not 200 <= code < 300:
            raise http_error(code, jsonsafe.dumps(response.get("body")).encode(), "application/json")
        writer.render(body_pieces(response.get("body"), "agent"))
    except Exception as e:  # one line's failure is its record
        status, error = outcome(e)
    return {"id": _record_id(cid), "prompt": prompt, "answer": writer.answer(), "meta": writer.metadata(error),
            "status": status, "error": error}


def _record_id(cid: str):
    """The id as the line gave it: a number's own digits come back as that number."""
    if cid.isascii() and cid.isdigit() and len(cid) <= 18 and str(int(cid)) == cid:
        return int(cid)
    return cid
