"""``pplx verify``: an answer's claims checked against the pages they cite.

The answer is cut into claims (:mod:`pplx_cli.dialects.claims`), each marker resolved to its
source by :func:`pplx_cli.dialects.citations.sources_by_marker` (what ``--sources`` lists).
Each claim is one Context API request: the URLs of its sources, the ``highlights`` format and
the claim as the highlights query; the claims go through the pool and rate limiter of
``pplx batch`` (:func:`pplx_cli.runs.batch.run`). Each (claim, source) gets the verdict of the
rule (:mod:`pplx_cli.dialects.evidence`) and, with a judge, the verdict of one Agent API call
per claim (:mod:`pplx_cli.dialects.judge`). Nothing here knows click or ``sys.stdout``.
"""

import time
from typing import NamedTuple

from pplx_cli.dialects.claims import units
from pplx_cli.dialects.evidence import GOOD, best_evidence, rank
from pplx_cli.errors import NotSent, PplxError, outcome

#: The most URLs one Context API request takes.
MAX_URLS = 50
#: The most missing terms a reason names.
MAX_MISSING = 8


class Claim(NamedTuple):
    """A claim to check: its number (1-based), its unit of the answer, and for each marker
    it carries ``(key, Source or None)`` (None: the answer lists no such source)."""

    n: int
    unit: object
    cited: tuple


class Plan(NamedTuple):
    """What an answer asks to check: its claims, the units that cite nothing, how many units
    it has, and how many sources its metadata lists."""

    claims: list
    uncited: list
    sentences: int
    sources: int


def build_plan(answer: str, meta: dict) -> Plan:
    """The claims of ``answer``, their markers resolved against ``meta`` (a source cited by
    two markers of one claim is checked once)."""
    from pplx_cli.dialects.citations import sources, sources_by_marker

    found = units(answer or "")
    cited = sources_by_marker(meta if isinstance(meta, dict) else {})
    claims = []
    for unit in (u for u in found if u.markers):
        seen, pairs = set(), []
        for key in unit.markers:
            source = cited.get(key)
            ident = source.label if source is not None else f"?{key}"
            if ident not in seen:
                seen.add(ident)
                pairs.append((key, source))
        claims.append(Claim(len(claims) + 1, unit, tuple(pairs)))
    listed = len(sources(meta)) if isinstance(meta, dict) else 0
    return Plan(claims, [u for u in found if not u.markers], len(found), listed)


def context_bodies(claim: Claim) -> list:
    """The Context API requests of a claim: ``[(urls, body)]``, its sources' http(s) URLs
    (each once) in requests of at most 50."""
    from pplx_cli.runs.platform import build_context_body, is_http_url

    urls = list(dict.fromkeys(s.url for _, s in claim.cited if s is not None and is_http_url(s.url)))
    return [(urls[i:i + MAX_URLS], build_context_body(urls[i:i + MAX_URLS], ["highlights"], {"highlights": claim.unit.text}))
            for i in range(0, len(urls), MAX_URLS)]


def _record(claim: Claim, key, source, **fields) -> dict:
    unit = claim.unit
    record = {"claim": unit.text, "position": {"n": claim.n, "start": unit.start, "end": unit.end}, "kind": unit.kind,
              "label": source.label if source is not None else key, "url": source.url if source is not None else None,
              "title": (source.title or None) if source is not None else None,
              "status": None, "verdict": "unreachable", "score": None, "excerpt": None, "reason": None}
    record.update(fields)
    return record


def passages(page: dict) -> list:
    """A Context API result's highlights as strings (a list of strings or of ``{"text"}``, or one string)."""
    value = page.get("highlights")
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        return []
    return [v if isinstance(v, str) else v.get("text") for v in value
            if isinstance(v, str) or (isinstance(v, dict) and isinstance(v.get("text"), str))]


def weigh_pages(claim: Claim, pages: dict, failed: str = None) -> list:
    """The records of a claim: one per source, from ``pages`` (URL -> its Context API result,
    or None: no result for it); ``failed``: why the request for them failed."""
    from pplx_cli.runs.platform import is_http_url, page_failure, page_ok

    records = []
    for key, source in claim.cited:
        if source is None:
            records.append(_record(claim, key, None, reason=f"the answer lists no source [{key}]"))
        elif not is_http_url(source.url):
            records.append(_record(claim, key, source, reason="not an http(s) URL: not fetched"))
        elif failed is not None:
            records.append(_record(claim, key, source, reason=failed))
        elif pages.get(source.url) is None:
            records.append(_record(claim, key, source, reason="no result for it in the Context API's answer"))
        elif not page_ok(pages[source.url]):
            page = pages[source.url]
            status = page.get("status", {}).get("type") if isinstance(page.get("status"), dict) else None
            records.append(_record(claim, key, source, status=status if isinstance(status, str) else None,
                                   reason=page_failure(page)))
        else:
            evidence = best_evidence(claim.unit.text, passages(pages[source.url]))
            records.append(_record(claim, key, source, status=pages[source.url]["status"]["type"], verdict=evidence.verdict,
                                   score=evidence.score, excerpt=evidence.excerpt, reason=_reason(evidence)))
    return records


def _reason(evidence) -> str:
    if not evidence.excerpt:
        return "the page gave no passage for it"
    if evidence.score is None:
        return "the claim has no words to look for"
    if not evidence.missing:
        return None
    shown = ", ".join(evidence.missing[:MAX_MISSING]) + (", …" if len(evidence.missing) > MAX_MISSING else "")
    return f"missing: {shown}"


class Checker:
    """Checks one claim at a time (from any thread): ``check(claim) -> result``. A result is
    ``{"n", "verdict", "records", "status", "error", "meta"}``: the claim's verdict (its best
    source's), its records, the exit status and message of a request that failed (0, None
    when none did), and the judge's usage (for the pool's cost)."""

    def __init__(self, client, judge: str = None):
        self.client = client
        self.judge = judge

    def post(self, path: str, body: dict) -> dict:
        from pplx_cli.wire.bodies import read_object

        return read_object(self.client.post(path, body, stream=False), f"the answer of {path}")

    def check(self, claim: Claim):
        """The claim's result; None when the pool stopped before it was sent."""
        from pplx_cli.runs.platform import CONTEXT_PATH, pair_results

        pages, status, error = {}, 0, None
        try:
            for urls, body in context_bodies(claim):
                answer = self.post(CONTEXT_PATH, body)
                results = answer.get("results")
                if not isinstance(results, list):
                    raise PplxError("the Context API's answer has no results list")
                pages.update(zip(urls, pair_results(urls, results)))
        except NotSent:
            return None
        except Exception as e:  # one claim's failure is its records, never the whole check's
            status, error = outcome(e)
        records = weigh_pages(claim, pages, failed=error)
        cost = None
        if self.judge and status == 0:
            try:
                cost = self.judged(claim, records, pages)
            except NotSent:
                return None
            except Exception as e:
                status, error = outcome(e)
                for record in records:
                    if record["status"] in ("ok", "not_modified"):
                        record["reason"] = f"the judge failed: {error}"
        verdict = min((r["verdict"] for r in records), key=rank) if records else "unreachable"
        return {"n": claim.n, "verdict": verdict, "records": records, "status": status, "error": error,
                "meta": {"usage": {"cost": {"total_cost": cost}}} if cost is not None else {}}

    def judged(self, claim: Claim, records: list, pages: dict):
        """Ask the judge about the pages read, and put its verdicts in ``records``; its cost."""
        from pplx_cli.dialects.judge import build_judge_body, read_judgement
        from pplx_cli.dialects.request import API_PATHS

        read = [r for r in records if r["status"] in ("ok", "not_modified")]
        if not read:
            return None
        given = [(r["label"], passages(pages[r["url"]])) for r in read]
        verdicts, cost = read_judgement(self.post(API_PATHS["agent"], build_judge_body(self.judge, claim.unit.text, given)))
        for record in read:
            verdict, reason = verdicts.get(record["label"], ("not addressed", "the judge said nothing of this source"))
            record.update(rule=record["verdict"], verdict=verdict, reason=reason or None)
        return cost


def check_all(plan: Plan, checker: Checker, *, jobs: int, on_result, signals, on_done=None, on_stop=None) -> list:
    """Check every claim of ``plan`` in a pool of ``jobs`` (see :func:`pplx_cli.runs.batch.run`,
    whose signals, stopping and order it keeps): ``on_done(result)`` as each is done,
    ``on_result(result)`` in claim order. A key refused stops the sending. The results handed on."""
    from pplx_cli.runs.batch import run

    return run(plan.claims, checker.check, jobs=jobs, on_record=on_result, on_done=on_done, on_stop=on_stop,
               stop_after=lambda result: result["status"] == 3, ordered=True, signals=signals)


def dry_run(plan: Plan, client, between):
    """Print (on the client's dry-run channel) every Context API request the check would
    send; ``between()`` is called between two."""
    from pplx_cli.errors import DryRun
    from pplx_cli.runs.platform import CONTEXT_PATH

    first = True
    for claim in plan.claims:
        for _, body in context_bodies(claim):
            if not first:
                between()
            first = False
            try:
                client.post(CONTEXT_PATH, body, stream=False)
            except DryRun:
                pass


def cost_of(results: list):
    """The judge's cost over ``results`` in dollars; None when no call gave one."""
    costs = [r["meta"]["usage"]["cost"]["total_cost"] for r in results if r.get("meta")]
    return round(sum(costs), 10) if costs else None


def all_good(results: list) -> bool:
    """Whether every claim checked out (``found``, or ``supported`` by the judge)."""
    return all(r["verdict"] in GOOD for r in results)


def record(*, prompt: str, cid: str, report: str, meta: dict, model: str, status: int, error, started: float,
           options: dict, warn):
    """Keep the verification in the history (kind ``verify``, in the conversation of the
    exchange it checked, whose id ``options`` names); a history that cannot be written is
    one warning."""
    import os

    from pplx_cli.store.history import History, HistoryError
    from pplx_cli.store.paths import history_path

    try:
        with History(history_path(os.environ)) as history:
            history.record(kind="verify", cid=cid, api="context", model=model, prompt=prompt, options=options,
                           answer=report, meta=meta, duration=round(time.monotonic() - started, 3), exit_status=status,
                           error=error)
    except HistoryError as e:
        warn(f"history not recorded: {e}")


def read_saved(data: bytes) -> tuple:
    """``(answer, metadata)`` of what ``pplx raw`` saved (an event stream), what ``pplx ask
    --raw`` saved (a response body) or an exchange as ``pplx log --json`` and ``pplx batch``
    print it (``answer`` and ``meta``); either API is recognised from what it sent. The
    answer is read as ``pplx parse`` reads it; nothing is printed. A StreamError when it is
    none of these."""
    import io

    from pplx_cli import jsonsafe
    from pplx_cli.dialects.stream import PieceStream, body_pieces
    from pplx_cli.errors import StreamError
    from pplx_cli.output.writer import AnswerWriter
    from pplx_cli.wire.sse import iter_sse

    collector = AnswerWriter(io.BytesIO(), io.BytesIO(), meta=False)
    if data.lstrip()[:1] in (b"{", b"["):
        try:
            obj = jsonsafe.loads(data)
        except ValueError:
            raise StreamError("the input is not an event stream, a response body or an exchange (not JSON)") from None
        if not isinstance(obj, dict):
            raise StreamError("the input is not an event stream, a response body or an exchange (not a JSON object)")
        if isinstance(obj.get("answer"), str) and isinstance(obj.get("meta"), dict):
            return obj["answer"], obj["meta"]
        pieces = body_pieces(obj, "agent" if obj.get("object") == "response" or "output" in obj else "chat")
    else:
        pieces = PieceStream(iter_sse(iter([data])))
    try:
        for piece in pieces:
            collector.write(piece)
    except PplxError as e:
        if not collector.answer():  # a failed run keeps what it said before failing
            raise StreamError(f"the input holds no answer ({e.message})") from None
    return collector.answer(), collector.metadata()
