"""``pplx verify``: check what an answer's citations say; and ``--verify`` of ask, stream
and jobs wait, which check the answer they just printed (:func:`check_answer`)."""

import sys

import click

from pplx_cli.commands import make_client
from pplx_cli.commands.log_view import EXCHANGE_ID, in_sqlite
from pplx_cli.commands.options import CONTEXT, check_rate, connection_options
from pplx_cli.dialects.judge import DEFAULT_JUDGE
from pplx_cli.errors import PplxError, UsageError
from pplx_cli.output.messages import note

#: Claims checked at once when -j is not given (and by --verify).
JOBS = 4


def _check_judge(ctx, param, value):
    if value is None:
        return None
    if value.isascii() and value.isdigit():  # 'pplx verify --judge 42': the ID, not a model (the command sorts it)
        return value
    from pplx_cli.dialects.request import agent_model

    try:
        kind, model = agent_model(value.strip())
    except UsageError as e:
        raise click.BadParameter(e.message) from None
    if kind != "model":  # a Sonar name that stands for an effort: the judge is a model
        raise click.BadParameter(f"{value!r} stands for an effort; the judge is a model id (e.g. perplexity/sonar)")
    return model


@click.command(context_settings=CONTEXT)
@click.argument("exchange_id", metavar="[ID]", type=EXCHANGE_ID, required=False)
@click.option("--from", "from_file", metavar="FILE", type=click.Path(dir_okay=False, allow_dash=True),
              help="Check what 'pplx raw' or 'pplx ask --raw' saved in FILE ('-': stdin), not an exchange of the history.")
@click.option("-j", "--jobs", type=click.IntRange(1, 256), default=JOBS, show_default=True, metavar="N",
              help="Claims checked at once (requests in flight, on one rate limiter as pplx batch's).")
@click.option("--rate", callback=check_rate, metavar="N/s", help="At most N requests a second.")
@click.option("--judge", metavar="[MODEL]", is_flag=False, flag_value=DEFAULT_JUDGE, callback=_check_judge,
              help="Also ask MODEL (an Agent API call per claim, structured output) whether the passages support "
                   "each claim; give ID before it. [default MODEL: perplexity/sonar]")
@click.option("--uncited", is_flag=True, help="List the sentences that cite nothing.")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON Lines, one record per claim and source (with --uncited, one per uncited sentence too).")
@click.option("--no-log", is_flag=True, help="Do not record this verification in the history.")
@connection_options
def verify(exchange_id, from_file, jobs, rate, judge, uncited, as_json, no_log, **p):
    """Check what an answer's citations actually say.

    ID is an exchange from 'pplx log' (without it, the latest answer). Each sentence, list
    item or table cell that carries markers ([1], [web:1]) is a claim; the Context API is
    asked, one request per claim, for the passages of its sources that bear on it, and each
    (claim, source) gets a verdict: found, weak, not found, or unreachable (the page could
    not be read). A number must match exactly: 3.2% is not 32% (pplx help verify has the
    rule). Exit 0 when every claim is found (or, with --judge, supported), 1 when any is not.

    \b
    Examples:
      pplx verify
      pplx verify 42 --uncited
      pplx verify --json | jq -r 'select(.verdict != "found") | .url'
      pplx raw "Who founded Perplexity?" > q.sse && pplx verify --from q.sse
      pplx verify --judge || echo check the sources
    """
    if judge is not None and judge.isdigit():  # --judge took the ID as its MODEL
        if exchange_id is not None:
            raise UsageError(f"--judge {judge}: {judge} is not a model id (give --judge MODEL, or ID before --judge)")
        exchange_id, judge = int(judge), DEFAULT_JUDGE
    if from_file is not None and exchange_id is not None:
        raise UsageError("give an exchange ID or --from FILE, not both")
    if from_file is not None:
        answer, meta = _read_file(from_file)
        row = None
    else:
        row = _exchange(exchange_id)
        answer, meta = row["answer"], row["meta"] if isinstance(row["meta"], dict) else {}
    label = f"verify {row['id']}" if row else f"verify --from {from_file}"
    check_answer(answer, meta, p=dict(p, no_log=no_log), exchange=row, label=label, jobs=jobs, rate=rate, judge=judge,
                 uncited=uncited, as_json=as_json)


def _exchange(exchange_id):
    """The exchange to check, decoded: ID's, or the latest answer."""
    import os

    from pplx_cli.store.history import History, HistoryError, decode_record
    from pplx_cli.store.paths import history_path
    from pplx_cli.store.verifications import latest_answer

    path, row = history_path(os.environ), None
    try:
        if os.path.exists(path):
            with History(path, create=False) as history:
                if exchange_id is None:
                    row = latest_answer(history)
                elif in_sqlite(exchange_id):  # an id past 64 bits names no exchange
                    row = history.get(exchange_id)
    except HistoryError as e:
        raise PplxError(f"cannot read the history: {e}") from None
    if row is None:
        raise PplxError(f"no exchange {exchange_id} in the history" if exchange_id is not None
                        else "no answer in the history to verify (see pplx log)")
    if row["kind"] != "answer":
        raise PplxError(f"exchange {exchange_id} is a {row['kind']}, not an answer: nothing to verify")
    return decode_record(row)


def _read_file(path):
    from pplx_cli.runs.verify import read_saved

    if path == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("--from - reads stdin, and stdin is a terminal")
        data = sys.stdin.buffer.read()
    else:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise UsageError(f"cannot read {path}: {e.strerror}") from None
    return read_saved(data)


def check_answer(answer: str, meta: dict, *, p: dict, exchange=None, label: str, jobs: int = JOBS, rate=None,
                 judge=None, uncited=False, as_json=False, to_stderr=False):
    """Check an answer's claims and print the report (stdout; ``to_stderr`` for --verify,
    whose stdout is the answer's), record it, and end with its exit status (Silent). ``p``:
    the command's connection options and ``no_log``; ``exchange``: the history's record of
    the answer (None: not from the history)."""
    from pplx_cli.runs.verify import build_plan

    plan = build_plan(answer, meta)
    if not plan.claims or not plan.sources:
        return _nothing_to_check(plan, uncited, as_json, to_stderr, p)
    client, settings = make_client(p)
    if p.get("dry_run"):  # every request, in order; nothing sent, nothing recorded
        from pplx_cli.output.stdio import out
        from pplx_cli.runs.verify import dry_run

        return dry_run(plan, client, between=lambda: out("\n"))
    from pplx_cli.commands.verify_run import Run

    log = not p.get("no_log") and settings.get("log")
    Run(plan, client, jobs=jobs, rate=rate, judge=judge, uncited=uncited, as_json=as_json, to_stderr=to_stderr,
        quiet=p.get("quiet")).go(exchange=exchange, label=label, log=log)


def _nothing_to_check(plan, uncited, as_json, to_stderr, p):
    """An answer with no marker, or no source for its markers: said, exit 0, nothing sent."""
    from pplx_cli.output.stdio import stderr, stdout
    from pplx_cli.output.verify_report import Layout, uncited_json, uncited_lines

    if not p.get("quiet"):
        if not plan.claims:
            note(f"the answer cites nothing ({plan.sentences} sentence{'s' if plan.sentences != 1 else ''}, no marker): "
                 "nothing to check")
        else:
            note("the answer has markers but its metadata lists no sources: nothing to check")
    if uncited:
        channel = stderr() if to_stderr else stdout()
        if as_json:
            channel.lines(uncited_json(plan))
        else:
            channel.styled(uncited_lines(plan, True, Layout(terminal=channel.terminal)))
