"""``pplx batch``: many prompts from a file, in parallel on one rate limit, resumable; and
``pplx batch --remote``: the same on Perplexity's Batch API."""

import os
import sys

import click

from pplx_cli.commands import status_line as make_status_line, write_stdout as _out
from pplx_cli.commands.batch_input import check_lines, read_input, read_shared_attachments, with_attachments
from pplx_cli.errors import Silent, UsageError
from pplx_cli.output.messages import note, warn
from pplx_cli.commands.options import CONTEXT, check_rate, request_options

REMOTE_ACTIONS = ("submit", "status", "wait", "results", "cancel")


@click.command(context_settings=CONTEXT)
@click.argument("args", nargs=-1, metavar="[FILE] | --remote ACTION ARG")
@click.option("-j", "--jobs", type=click.IntRange(1, 256), default=4, show_default=True, metavar="N",
              help="Requests in flight at once (threads sharing one connection pool and one rate limiter).")
@click.option("--rate", callback=check_rate, metavar="N/s", help="At most N requests a second.")
@click.option("--unordered", is_flag=True, help="Write each record as it completes, not in input order.")
@click.option("--answers-only", is_flag=True, help="Write only the answers, separated by a blank line (or NUL with -0).")
@click.option("-0", "--null", "null", is_flag=True, help="With --answers-only: end each answer with NUL.")
@click.option("--output", "output_path", metavar="FILE",
              help="Append the records to FILE; run again with the same FILE to retry only what did not succeed.")
@click.option("--skip-invalid", is_flag=True, help="Report invalid lines (status 2 records) and run the rest.")
@click.option("--remote", is_flag=True, help="Use Perplexity's Batch API: ACTION is submit FILE, status ID, wait ID, results ID or cancel ID.")
@click.option("--no-log", is_flag=True, help="Do not record the exchanges in the history.")
@request_options
def batch(args, jobs, rate, unordered, answers_only, null, output_path, skip_invalid, remote, no_log, **p):
    """Ask many questions: one per line of FILE (or stdin), in parallel.

    A plain line is a prompt; a JSON line is an object with "prompt", an optional "id" and
    any request option by its long name ("model", "effort", "system", "domain", ...). The
    command line's options are every line's defaults. Each line gives one JSON record on
    stdout, in input order: id, prompt, answer, meta (the metadata ask writes), status
    (the exit status the line would have had) and error. A 429 pauses every worker until
    the reset time. Exit 0 when every line succeeded, 1 when any failed (3 when the key
    was refused: no further line is sent), 2 for invalid input or an --output FILE another
    batch is writing (nothing is sent), 74 when --output FILE cannot be written (what it
    could not take goes to stdout). SIGTERM and SIGHUP stop a batch as Ctrl-C does.

    \b
    Examples:
      pplx batch questions.txt > answers.jsonl
      cut -d, -f1 companies.csv | sed 's/^/What does /' | pplx batch -j 8 --answers-only
      pplx batch --output done.jsonl questions.jsonl   # again after Ctrl-C: only the rest
      pplx log --batch b-1a2b3c4d
      id=$(pplx batch --remote submit questions.txt) && pplx batch --remote wait "$id"
    """
    if remote:
        from pplx_cli.commands.remote_batch import remote_batch

        local = [name for name, given in (("-j", jobs != 4), ("--rate", rate), ("--unordered", unordered),
                                          ("--answers-only", answers_only), ("-0", null), ("--output", output_path),
                                          ("--skip-invalid", skip_invalid)) if given]
        if local:
            raise UsageError(f"{', '.join(local)}: local batches only, not with --remote")
        return remote_batch(args, p, no_log=no_log)
    if len(args) > 1:
        raise UsageError("pplx batch takes one FILE (or stdin); --remote for the Batch API's actions")
    if null and not answers_only:
        raise UsageError("-0 ends answers with NUL: it needs --answers-only")
    p = dict(p, no_log=no_log, cid=None, continue_=False, background=False, detach=False)
    from pplx_cli.commands import make_client

    make_client(p)  # the key, the base URL and the config file: one error for the whole batch
    lines = read_input(args[0] if args else None)
    checked = check_lines(lines, dict(p, attachments=read_shared_attachments(p, args[0] if args else None)))
    invalid = [line for line in checked if line[1] is None]
    if invalid and not skip_invalid:
        for line, _, message in invalid:
            warn(f"line {line.number}: {message}")
        raise UsageError(f"{len(invalid)} invalid line{'s' if len(invalid) != 1 else ''}: nothing was sent "
                         "(--skip-invalid runs the rest)")
    _run(checked, p, jobs=jobs, rate=rate, ordered=not unordered, answers_only=answers_only, null=null,
         output_path=output_path)


def _run(checked, p, *, jobs, rate, ordered, answers_only, null, output_path):
    from pplx_cli.commands import _isatty, make_client
    from pplx_cli.errors import Terminated, outcome
    from pplx_cli.runs.batch import Abandoned, Signals, run
    from pplx_cli.runs.parallel import noting_signals, share_client
    from pplx_cli.runs.records import Sink

    client, settings = make_client(p)
    if p.get("dry_run"):  # each line's request, in order; nothing sent, nothing recorded, FILE untouched
        return _dry_run([item for item in checked if str(item[0].id) not in _done_ids(output_path)], client)
    record_file, todo = _todo(checked, output_path)
    skipped = len(checked) - len(todo)
    share_client(client, rate, jobs, say=None if p.get("quiet") else note)
    batch_id = "b-" + os.urandom(4).hex()
    history = _open_history() if not p.get("no_log") and settings.get("log") else None
    work = _worker(client, batch_id, history)
    sink = Sink(record_file, answers_only=answers_only, null=null)
    status_line = make_status_line(p)
    if status_line is not None and _isatty(sys.stdout):
        sink.status = status_line
    watch = _Watch(client, sink, status_line, todo)
    records = []
    signals = Signals()
    try:
        with noting_signals(signals):
            records = run(todo, work, jobs=jobs, on_record=lambda r: (records.append(r), sink.write(r)), on_done=watch.done,
                          on_progress=(lambda progress: status_line.show(progress.line())) if status_line else None,
                          on_stop=watch.stopping, stop_after=watch.stop_after, ordered=ordered, signals=signals)
    except (KeyboardInterrupt, Terminated, Abandoned) as e:
        if status_line:
            status_line.stop()
        _summary(batch_id, records, len(todo), skipped, interrupted=True)
        if isinstance(e, Abandoned):
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(outcome(e.signal)[0])  # the threads still waiting on the network are not joined
        raise
    finally:
        if status_line:
            status_line.stop()
        sink.close()
        if history is not None:
            history.close()
    _summary(batch_id, records, len(todo), skipped)
    if sink.failure is not None:
        raise sink.failure
    # the records and warnings said why: exit 3 when the key was refused, 1 when any line failed
    if any(r["status"] == 3 for r in records):
        raise Silent(3)
    if any(r["status"] != 0 for r in records):
        raise Silent(1)


def _todo(checked, output_path):
    """``(the locked --output file or None, the lines not done before)``: a re-run skips the
    ids an earlier run recorded with status 0."""
    from pplx_cli.runs.records import RecordFile

    record_file = RecordFile(output_path) if output_path else None  # locked until the batch ends
    try:
        done_before = record_file.done_ids() if record_file else set()
    except OSError as e:
        record_file.close()
        raise UsageError(f"cannot read {output_path}: {e.strerror}") from None
    return record_file, [item for item in checked if str(item[0].id) not in done_before]


def _worker(client, batch_id, history):
    """``work(item) -> record``: one line as one exchange, recorded in ``history`` (a
    SharedHistory; None: not recorded); a warning or note said once per batch."""
    import threading

    said, lock = set(), threading.Lock()

    def once(say):
        def speak(message):
            with lock:
                if message not in said:
                    said.add(message)
                    say(message)
        return speak

    def work(item):
        return _ask(item, client, batch_id, once(warn), once(note), history)

    return work


class _Watch:
    """What the batch hears as it runs: when it stops, what stops it, each finished record."""

    def __init__(self, client, sink, status_line, todo):
        self.client, self.sink, self.status_line = client, sink, status_line
        self.numbers = {str(line.id): line.number for line, _, _ in todo}

    def stopping(self, in_flight):
        self.client.limiter.stop()
        if self.status_line:
            self.status_line.stop()
        note(f"stopping: no new request is sent; the {in_flight} in flight finish (Ctrl-C again abandons them)"
             if in_flight else "stopping: no new request is sent")

    def stop_after(self, record) -> bool:
        if self.sink.failure is not None:  # FILE cannot take more: what is paid for goes to stdout, nothing more is sent
            return True
        if record["status"] == 3:  # the key was refused: every other line would be too
            warn(f"the key was refused ({record['error']}): no further line is sent")
            return True
        return False

    def done(self, record):
        self.sink.done(record)
        if record["status"] != 0:
            line = self.numbers.get(str(record["id"]))
            warn(f"line {line} (id {record['id']}): {record['error']}" if line else f"id {record['id']}: {record['error']}")


def _done_ids(path) -> set:
    """The ids an earlier run recorded in ``path`` with status 0 (read only: for --dry-run)."""
    from pplx_cli.runs.records import read_done_ids

    if not path or not os.path.isfile(path):  # not /dev/stdout, a fifo: nothing to resume from
        return set()
    try:
        with open(path, "rb") as f:
            return read_done_ids(f)
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror}") from None


def _open_history():
    """The history every line is recorded in, opened (created, migrated) once before the
    workers: opening it for each line cost more CPU than the INSERT, and a first use from
    many threads at once would race to switch it to WAL mode. None, said once, when it
    cannot be opened: the batch runs unrecorded (not each line trying again)."""
    from pplx_cli.store.paths import history_path
    from pplx_cli.store.history import HistoryError, SharedHistory

    try:
        return SharedHistory(history_path(os.environ))
    except HistoryError as e:
        warn(f"history not recorded: {e}")
        return None


def _dry_run(todo, client):
    import io

    from pplx_cli.errors import DryRun
    from pplx_cli.commands.params import exchange as make_exchange
    from pplx_cli.output.writer import AnswerWriter

    first = True
    for line, p, _ in todo:
        if p is None:
            continue
        if not first:
            _out("\n")  # a blank line between the requests
        first = False
        exchange = make_exchange("ask", line.prompt, dict(with_attachments(p), no_log=True), warn=lambda m: None,
                            note=lambda m: None)
        exchange.shared_client = client
        try:
            exchange.ask(AnswerWriter(io.BytesIO(), io.BytesIO(), meta=False))
        except DryRun:
            pass


def _ask(item, client, batch_id, warn_once, note_once, history) -> dict:
    """One line as one ask exchange: its record (in ``history`` too, if not None)."""
    import io

    from pplx_cli.errors import NotSent, outcome
    from pplx_cli.commands.params import exchange as make_exchange
    from pplx_cli.output.writer import AnswerWriter

    line, p, message = item
    if p is None:
        return {"id": line.id, "prompt": line.prompt, "answer": "", "meta": None, "status": 2, "error": message}
    writer = AnswerWriter(io.BytesIO(), io.BytesIO(), meta=False)
    status, error = 0, None
    try:
        exchange = make_exchange("ask", line.prompt, with_attachments(p), warn=warn_once, note=note_once)
        exchange.shared_client = client
        exchange.shared_history = history
        exchange.log = exchange.log and history is not None  # not opened (said once): not recorded
        exchange.batch_id = batch_id
        exchange.ask(writer)
    except NotSent:
        return None
    except Exception as e:  # one line's failure is its record, never the batch's
        status, error = outcome(e)
    return {"id": line.id, "prompt": line.prompt, "answer": writer.answer(), "meta": writer.metadata(error),
            "status": status, "error": error}


def _summary(batch_id, records, total, skipped, interrupted=False):
    from pplx_cli.runs.batch import _cost
    from pplx_cli.output.messages import say
    from pplx_cli.numbers import dollars

    failed = sum(1 for r in records if r["status"] != 0)
    cost = sum(_cost(r) for r in records)
    parts = [f"{len(records) - failed} done", f"{failed} failed"]
    if interrupted or len(records) < total:
        parts.append(f"{total - len(records)} not done")
    if skipped:
        parts.append(f"{skipped} already done")
    say(f"pplx: batch {batch_id}: " + ", ".join(parts) + f", {dollars(cost) if cost else '$0.0000'}")
