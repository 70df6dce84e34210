"""``pplx jobs``: the background runs this machine started, and picking them up."""

import os

import click

from pplx_cli.commands import make_client, make_writer
from pplx_cli.errors import PplxError
from pplx_cli.output.messages import warn
from pplx_cli.commands.options import (CONTEXT, connection_options, files_options, json_option, output_options,
                                       verify_option)
from pplx_cli.output.stdio import out_lines


def _history(create=False):
    from pplx_cli.store.paths import history_path
    from pplx_cli.store.history import History, HistoryError

    path = history_path(os.environ)
    if not os.path.exists(path):
        return None
    try:
        return History(path, create=create)
    except HistoryError as e:
        raise PplxError(f"cannot read the history: {e}") from None


def _find(rid):
    """The run's record (the newest unfinished one without an id); PplxError if there is none."""
    history = _history()
    record = None
    if history is not None:
        with history:
            record = history.run(rid)
    if record is None and rid is None:
        raise PplxError("no unfinished background run to wait for (see pplx jobs)")
    return record


def _client(p, record):
    """A client for the current connection settings (--base-url, PPLX_BASE_URL, config, the
    default): today's key goes only where today's settings say. A run this machine started on
    another base URL is refused with one line naming both, unless --base-url names it."""
    from pplx_cli.wire.urls import shown_url

    client, settings = make_client(p)
    started_on = (record or {}).get("base_url")
    if started_on and p.get("base_url") is None and started_on.rstrip("/") != client.base_url.rstrip("/"):
        from pplx_cli.errors import UsageError

        raise UsageError(f"the run {record['id']} was started on {shown_url(started_on)}, and pplx now talks to "
                         f"{client.shown}; to send the key there, give --base-url {shown_url(started_on)}")
    return client, settings


@click.group(invoke_without_command=True, context_settings=CONTEXT)
@click.option("-n", "limit", type=click.IntRange(min=1, max=2**63 - 1), default=20, show_default=True, metavar="N", help="At most N runs.")
@json_option
@click.pass_context
def jobs(ctx, limit, as_json):
    """List the background runs this machine started, newest first.

    Each line: the run's id, when it started (UTC), its status as last seen, the model or
    effort, and the start of the prompt. The service has no list of runs: pplx remembers
    the ones it started (in the history database).

    \b
    Examples:
      pplx jobs
      id=$(pplx ask --background --detach "survey of fusion startups") && pplx jobs wait "$id"
      pplx jobs show resp_abc; pplx jobs cancel resp_abc
      pplx jobs files resp_abc -O out
    """
    if ctx.invoked_subcommand is not None:
        return
    from pplx_cli import jsonsafe

    history = _history()
    rows = []
    if history is not None:
        with history:
            rows = history.runs(limit)
    lines = []
    for row in rows:
        if as_json:
            lines.append(jsonsafe.dumps({k: row[k] for k in ("id", "time", "status", "model", "prompt", "cid", "exchange_id")},
                                        ensure_ascii=False))
        else:
            prompt = " ".join(row["prompt"].split())
            prompt = prompt if len(prompt) <= 50 else prompt[:49] + "…"
            lines.append(f"{row['id']}  {row['time'][:19].replace('T', ' ')}  {row['status'] or '-':<12}  "
                         f"{row['model'] or '-':<16}  {prompt}")
    out_lines(lines)


@jobs.command(context_settings=CONTEXT)
@click.argument("run_id", metavar="[ID]", required=False)
@click.option("--stream", "as_stream", is_flag=True, help="Resume the run's event stream instead of polling it.")
@verify_option
@connection_options
@output_options
@files_options
def wait(run_id, as_stream, verify, **p):
    """Wait for a run to end, then print its answer and metadata as 'pplx ask' would.

    ID is a run's id; without it, the newest run not yet seen to end. The polls start at 1 s
    apart and grow to 15 s (a Retry-After wins), and go on through network errors for as long
    as the run lives. The answer is recorded in the history like any other; the exit status
    is the one 'pplx ask' would have had.

    \b
    Examples:
      pplx jobs wait
      pplx jobs wait resp_abc --stream --sources
      pplx jobs wait --verify
      pplx jobs wait resp_abc -O out                 # and save the files it shared
    """
    import time

    from pplx_cli.output.messages import say
    from pplx_cli.dialects.pieces import META, Piece
    from pplx_cli.dialects.stream import PieceStream, body_pieces
    from pplx_cli.commands.params import downloads
    from pplx_cli.runs.resume import phase, poll

    downloads(p)  # --force without -O is refused before anything is sent
    record = _find(run_id)
    rid = run_id or record["id"]
    client, settings = _client(p, record)
    writer = make_writer(p, settings)
    started = time.monotonic()
    status, error, final = 0, None, None
    quiet_say = lambda line: None if client.quiet else say(line)  # noqa: E731
    try:
        if as_stream:
            writer.render(PieceStream(_stream_events(client, rid, quiet_say), api="agent"))
        else:
            final = poll(client, rid, say=quiet_say, on_state=lambda state: writer.status and writer.status.show(phase(state)))
            writer.write(Piece(META, {}))
            writer.render(body_pieces(final, "agent"))
    except BaseException as e:
        from pplx_cli.errors import APIError, Terminated, outcome

        status, error = outcome(e)
        writer.stop_status()
        if isinstance(e, (KeyboardInterrupt, Terminated)):
            quiet_say(f"pplx: note: the run {rid} goes on; 'pplx jobs wait {rid}' picks it up again")
        if isinstance(e, APIError) and e.status == 404:
            raise PplxError(f"no run {rid} on the service ({e.message}); 'pplx jobs' lists the runs started here") from None
        raise
    finally:
        run_status = _final_status(final, writer)
        exchange_id = record["exchange_id"] if record is not None else None
        if record is not None and run_status and not record["exchange_id"]:
            exchange_id = _record(record, writer, status, error, round(time.monotonic() - started, 3), run_status)
        elif run_status:
            _note_status(rid, run_status)
    _save_shared(client, writer, rid, p)
    if verify:
        _verify(writer, rid, record, exchange_id, p)


def _verify(writer, rid, record, exchange_id, p):
    """The answer arrived whole: checked as pplx verify checks it, the report on stderr."""
    from pplx_cli.commands.verify import check_answer

    recorded = {"id": exchange_id, "cid": record["cid"]} if exchange_id is not None and record["cid"] else None
    check_answer(writer.answer(), writer.metadata(), p=p, exchange=recorded,
                 label=f"verify {exchange_id}" if recorded else f"verify {rid}", to_stderr=True)


def _save_shared(client, writer, rid, p):
    """The files the run shared: saved with -O, else said to be there."""
    from pplx_cli.commands.params import downloads
    from pplx_cli.output.messages import note
    from pplx_cli.runs.files import save_shared

    save_shared(client, dict(writer.meta, id=writer.meta.get("id") or rid), downloads(p), note=note, warn=warn,
                quiet=client.quiet)


def _stream_events(client, rid, say):
    """The run's events from its start, resumed across lost connections; a stream the
    service refuses falls back to polling the run to its end."""
    from pplx_cli.wire.bodies import check_stream_type, iter_body
    from pplx_cli.errors import APIError, NetworkError
    from pplx_cli.runs.resume import ResumingEvents, run_path
    from pplx_cli.wire.sse import iter_sse

    events = ResumingEvents(client, iter(()), retries=client.retries, say=say)
    events.id = rid
    try:
        response = client.get(f"{run_path(rid)}?stream=true", stream=True)
        check_stream_type(response)
    except (APIError, NetworkError) as e:
        if isinstance(e, APIError) and e.status != 400:
            raise
        say(f"pplx: note: the run's stream cannot be read ({e.message}); polling it to its end")
        return events.poll_to_end(e)
    events.events = iter_sse(iter_body(response))
    return events


def _final_status(final, writer):
    """The run's status once it is known to have ended: from its final state, else from the
    stream's end; None while it may still be going."""
    from pplx_cli.runs.statuses import ended

    if isinstance(final, dict) and ended(final.get("status")):
        return final["status"]
    finish = writer.meta.get("finish_reason")
    if finish == "stop":
        return "completed"
    return finish if ended(finish) else None


def _record(record, writer, status, error, duration, run_status):
    """The answer as an exchange of the history (once per run: waiting again prints it, but
    its cost is not counted twice), and the run's status beside it; its id (None: not recorded)."""
    from pplx_cli import jsonsafe
    from pplx_cli.store.history import HistoryError

    history = _history(create=True)
    if history is None:
        return None
    try:
        options = jsonsafe.loads(record["options"] or "{}")
    except ValueError:
        options = {}
    try:
        with history:
            exchange_id = history.record(
                cid=record["cid"] or os.urandom(6).hex(), api="agent", model=record["model"], system=record["system"],
                prompt=record["prompt"], options=options, answer=writer.answer(),
                reasoning="".join(writer.reasoning) or None, meta=writer.metadata(error), duration=duration,
                exit_status=status, error=error)
            history.set_run(record["id"], run_status, exchange_id)
    except HistoryError as e:
        warn(f"history not recorded: {e}")
        return None
    return exchange_id


@jobs.command(context_settings=CONTEXT)
@click.argument("run_id", metavar="ID")
@connection_options
@json_option
def show(run_id, as_json, **p):
    """Print a run's current state (status, time since this machine started it, searches so far) without waiting.

    \b
    Examples:
      pplx jobs show resp_abc
      pplx jobs show resp_abc --json | jq .status
    """
    import time

    from pplx_cli import jsonsafe
    from pplx_cli.runs.resume import get_run, searches
    from pplx_cli.runs.statuses import ended

    record = _history_run(run_id)
    client, _ = _client(p, record)
    state, _wait = get_run(client, run_id)
    _note_status(run_id, state.get("status"))
    if as_json:
        out_lines([jsonsafe.dumps(state, ensure_ascii=False)])
        return
    rid, status = state.get("id"), state.get("status")
    lines = [f"id: {rid if isinstance(rid, str) and rid else run_id}", f"status: {status if isinstance(status, str) and status else '-'}"]
    # a poll's created_at is not when the run began (recorded polls of one run went back in
    # time): the time is this machine's, from the history, or not said at all
    started = _started(record)
    if started is not None:
        if ended(state.get("status")):
            lines.append(f"started: {record['time'][:19].replace('T', ' ')} UTC")
        else:
            lines.append(f"elapsed: {max(time.time() - started, 0):.0f}s")
    lines.append(f"searches: {searches(state)}")
    if record is not None:
        lines.append(f"prompt: {' '.join(record['prompt'].split())[:200]}")
    out_lines(lines)


@jobs.command(context_settings=CONTEXT)
@click.argument("run_id", metavar="ID")
@connection_options
def cancel(run_id, **p):
    """Cancel a run; cancelling one that already ended says so (exit 1).

    \b
    Examples:
      pplx jobs cancel resp_abc
    """
    from pplx_cli.errors import APIError
    from pplx_cli.runs.resume import cancel as cancel_run

    record = _history_run(run_id)
    client, _ = _client(p, record)
    try:
        answer = cancel_run(client, run_id)
    except APIError as e:
        if e.status == 400:
            raise PplxError(f"the run {run_id} cannot be cancelled: it has ended, or the service does not know it "
                            f"({e.message})") from None
        if e.status == 404:
            raise PplxError(f"no run {run_id} on the service ({e.message})") from None
        raise
    _note_status(run_id, answer.get("status") if isinstance(answer.get("status"), str) else "cancelling")
    status = answer.get("status")
    out_lines([f"{run_id}: {status if isinstance(status, str) and status else 'cancelling'}"])


@jobs.command(context_settings=CONTEXT)
@click.argument("run_id", metavar="ID")
@files_options
@connection_options
@json_option
def files(run_id, as_json, **p):
    """List the files a run's code shared, or save them into DIR with -O.

    Each line: the file's id, its size in bytes, and its name. With -O each file is written
    into DIR (made if missing) under its name reduced to a base name, complete or not at
    all, and its path printed; a file already there is kept unless --force.

    \b
    Examples:
      pplx jobs files resp_abc
      pplx jobs files resp_abc -O out
      pplx jobs files resp_abc --json | jq -r .filename
    """
    from pplx_cli import jsonsafe
    from pplx_cli.commands.params import downloads
    from pplx_cli.errors import APIError, UsageError
    from pplx_cli.runs.files import file_error, list_files, raise_failures, save_files

    downloads(p)  # --force without -O is refused before anything is sent
    if as_json and p.get("output_dir"):
        raise UsageError("--json lists the files, -O saves them: give one")
    client, _ = _client(p, _history_run(run_id))
    try:
        listed = list_files(client, run_id)
    except APIError as e:
        if e.status == 404:
            raise PplxError(f"no run {run_id} on the service, or none with files kept ({e.message})") from None
        raise
    if not p.get("output_dir"):
        out_lines([jsonsafe.dumps(f, ensure_ascii=False) if as_json
                   else f"{f['id']}  {f['bytes'] if 'bytes' in f else '-'}  {_shown(f.get('filename', '-'))}" for f in listed])
    elif listed:
        errors = []
        save_files(client, run_id, listed, p["output_dir"], force=p.get("force"),
                   saved=lambda path, size: out_lines([path]), failed=lambda entry, e: errors.append(file_error(entry, e)))
        raise_failures(errors, len(listed), warn)
    if not listed and not client.quiet:
        from pplx_cli.output.messages import note

        note(f"the run {run_id} shared no files")


def _shown(name: str) -> str:
    """A name from the network on one line of a listing, whatever it holds."""
    import re

    return re.sub(r"[\x00-\x1f\x7f-\x9f]", "?", name)


def _started(record):
    """When this machine started a run (epoch seconds), from its history record; else None."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(record["time"].replace("Z", "+00:00")).timestamp()
    except (TypeError, KeyError, ValueError, AttributeError):
        return None


def _history_run(rid):
    history = _history()
    if history is None:
        return None
    with history:
        return history.run(rid)


def _note_status(rid, status):
    from pplx_cli.store.history import HistoryError

    history = _history()
    if history is None or not isinstance(status, str):
        return
    try:
        with history:
            history.set_run(rid, status)
    except HistoryError:
        pass
