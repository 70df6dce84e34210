"""``pplx batch --remote``: the same lines on Perplexity's Batch API (``/v1/files``,
``/v1/batches``): submit, status, wait, results, cancel."""

import os
import sys
import time

import click

from pplx_cli.errors import PplxError, StreamError, UsageError
from pplx_cli.client import read_object
from pplx_cli.messages import note, say
from pplx_cli.stdio import out_lines

TERMINAL = ("completed", "failed", "expired", "cancelled")


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
        out_lines([_describe(_get(client, rid))])
    elif action == "wait":
        batch = _wait(client, rid, p)
        out_lines([_describe(batch)])
        if batch.get("status") != "completed":
            raise PplxError(f"the batch ended {batch.get('status')}")
    elif action == "results":
        _results(client, rid)
    else:
        answer = read_object(client.post(f"/v1/batches/{_quote(rid)}/cancel", {}, stream=False), "the cancel answer")
        status = answer.get("status")
        out_lines([f"{rid}: {status if isinstance(status, str) and status else 'cancelling'}"])


def _quote(rid):
    from urllib.parse import quote

    return quote(rid, safe="")


def _get(client, rid):
    from pplx_cli.errors import APIError

    try:
        return read_object(client.get(f"/v1/batches/{_quote(rid)}"), "the batch")
    except APIError as e:
        if e.status == 404:
            raise PplxError(f"no batch {rid} on the service ({e.message})") from None
        raise


def _submit(client, path, p):
    """Build the API's JSONL (one /v1/responses request per line, custom_id = the id), upload
    it, create the batch with an Idempotency-Key (one per submit: a create the client retries
    after a lost answer cannot make two batches) and print its id."""
    from pplx_cli import jsonsafe
    from pplx_cli.commands.batch import _check_lines, _read_input
    from pplx_cli.exchange import Exchange
    from pplx_cli.messages import warn
    from pplx_cli.request import build_body

    checked = _check_lines(_read_input(path), dict(p, no_log=True, cid=None, continue_=False, background=False,
                                                    detach=False))
    invalid = [(line, message) for line, mine, message in checked if mine is None]
    if invalid:
        for line, message in invalid:
            warn(f"line {line.number}: {message}")
        raise UsageError(f"{len(invalid)} invalid line{'s' if len(invalid) != 1 else ''}: nothing was sent")
    rows = []
    for line, mine, _ in checked:
        exchange = Exchange("ask", line.prompt, mine, warn=lambda m: None, note=lambda m: None)
        body = build_body("agent", line.prompt, exchange.opts, stream=False)
        rows.append(jsonsafe.dumps({"custom_id": str(line.id), "method": "POST", "url": "/v1/responses", "body": body},
                                   ensure_ascii=False))
    content = ("\n".join(rows) + "\n").encode("utf-8")
    name = "pplx-batch.jsonl" if path in (None, "-") else path.rsplit("/", 1)[-1]
    uploaded = read_object(client.post_file("/v1/files", {"purpose": "batch"}, name, content), "the upload's answer")
    key = "pplx-" + os.urandom(16).hex()
    batch = read_object(client.post("/v1/batches", {"input_file_id": uploaded.get("id"), "endpoint": "/v1/responses",
                                              "completion_window": "24h"}, stream=False,
                              headers={"Idempotency-Key": key}), "the batch")
    if not isinstance(batch.get("id"), str):
        raise StreamError("the service did not say which batch it created")
    out_lines([batch["id"]])


def _describe(batch) -> str:
    counts = batch.get("request_counts") if isinstance(batch.get("request_counts"), dict) else {}
    total, done, failed = (counts.get(k, 0) for k in ("total", "completed", "failed"))
    return f"{batch.get('id')}: {batch.get('status')}, {done}/{total} done, {failed} failed"


def _wait(client, rid, p):
    """Poll until the batch ends (1 s growing to 30 s), with a progress line on a terminal."""
    from pplx_cli.commands import status_line

    line = status_line(p)
    interval = 1.0
    try:
        while True:
            batch = _get(client, rid)
            if batch.get("status") in TERMINAL:
                return batch
            if line:
                line.show(_describe(batch))
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
    any order: the input file says the order)."""
    import io

    from pplx_cli import jsonsafe
    from pplx_cli.client import read_body
    from pplx_cli.errors import outcome
    from pplx_cli.output import AnswerWriter
    from pplx_cli.pieces import body_pieces
    from pplx_cli.records import build_line
    from pplx_cli.stdio import out

    batch = _get(client, rid)
    if batch.get("status") not in TERMINAL:
        raise PplxError(f"the batch {rid} is {batch.get('status')}: 'pplx batch --remote wait {rid}' first")

    def lines(file_id):
        if not isinstance(file_id, str):
            return []
        data = read_body(client.get(f"/v1/files/{_quote(file_id)}/content"))
        out = []
        for raw in data.decode("utf-8", "replace").splitlines():
            try:
                obj = jsonsafe.loads(raw)
            except ValueError:
                continue
            if isinstance(obj, dict):
                out.append(obj)
        return out

    inputs = lines(batch.get("input_file_id"))
    answers = {str(o.get("custom_id")): o for o in lines(batch.get("output_file_id")) + lines(batch.get("error_file_id"))}
    failed = 0
    for request in inputs:
        cid = str(request.get("custom_id"))
        body = request.get("body") if isinstance(request.get("body"), dict) else {}
        prompt = body.get("input") if isinstance(body.get("input"), str) else ""
        writer = AnswerWriter(io.BytesIO(), io.BytesIO(), meta=False)
        status, error = 0, None
        result = answers.get(cid)
        response = result.get("response") if isinstance(result, dict) and isinstance(result.get("response"), dict) else None
        try:
            if result is None:
                raise StreamError("no result for this line")
            if response is None:
                err = result.get("error") if isinstance(result.get("error"), dict) else {}
                raise StreamError(str(err.get("message") or err.get("code") or "no response"))
            code = response.get("status_code")
            if code != 200:
                from pplx_cli.client import http_error

                raise http_error(code if isinstance(code, int) else 500, jsonsafe.dumps(response.get("body")).encode(),
                                 "application/json")
            writer.render(body_pieces(response.get("body"), "agent"))
        except Exception as e:
            status, error = outcome(e)
        failed += status != 0
        record = {"id": int(cid) if cid.isdigit() else cid, "prompt": prompt, "answer": writer.answer(),
                  "meta": writer.metadata(error), "status": status, "error": error}
        out(build_line(record) + "\n")
    say(f"pplx: batch {rid}: {len(inputs) - failed} done, {failed} failed")
    if failed:
        from pplx_cli.errors import Silent

        raise Silent(1)  # the records say why
