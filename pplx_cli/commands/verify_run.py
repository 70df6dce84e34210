"""One run of ``pplx verify`` (or ``--verify``): the claims checked in the pool, each
claim's report printed as it is done (in order), then the sentences that cite nothing, the
summary line, the record in the history and the exit status."""

import os
import sys
import time

from pplx_cli.errors import Silent, Terminated, outcome
from pplx_cli.output.messages import note, say, warn


class Run:
    """A plan about to be checked with ``client``, and where its report goes."""

    def __init__(self, plan, client, *, jobs: int, rate, judge, uncited: bool, as_json: bool, to_stderr: bool, quiet):
        from pplx_cli.output.stdio import stderr, stdout
        from pplx_cli.output.tty import wants_color, width
        from pplx_cli.output.verify_report import Layout
        from pplx_cli.runs.parallel import share_client

        self.plan, self.client, self.jobs, self.judge = plan, client, jobs, judge
        self.uncited, self.as_json, self.to_stderr = uncited, as_json, to_stderr
        share_client(client, rate, jobs, say=None if quiet else note)
        self.channel = stderr() if to_stderr else stdout()
        stream = sys.stderr if to_stderr else sys.stdout
        self.layout = Layout(width=width(stream, os.environ) if self.channel.terminal else None,
                             terminal=self.channel.terminal)
        self.color = wants_color(stream, os.environ)
        self.results, self.plain, self.said = [], [], set()

    def on_done(self, result):
        """A claim is done (in any order): a request that failed is said at once, once per reason."""
        if result["status"] and result["error"] not in self.said:
            self.said.add(result["error"])
            warn(f"claim {result['n']}: {result['error']}")

    def on_result(self, result):
        """A claim's turn has come: its report (the claims before it are out already)."""
        from pplx_cli.output.verify_report import Layout, claim_lines, json_lines

        self.results.append(result)
        self.plain += claim_lines(result, Layout())
        if self.as_json:
            self.channel.lines(json_lines(result))
        else:
            self.channel.styled(claim_lines(result, self.layout), self.color)

    def stopping(self, in_flight):
        self.client.limiter.stop()
        note(f"stopping: no new request is sent; the {in_flight} in flight finish (Ctrl-C again abandons them)"
             if in_flight else "stopping: no new request is sent")

    def go(self, *, exchange, label: str, log: bool):
        """Check every claim, print, record; end with the exit status (Silent) unless it is 0."""
        from pplx_cli.runs.batch import Abandoned, Signals
        from pplx_cli.runs.parallel import noting_signals
        from pplx_cli.runs.verify import Checker, check_all

        started = time.monotonic()
        signals, stopped = Signals(), None
        try:
            with noting_signals(signals):
                check_all(self.plan, Checker(self.client, self.judge), jobs=self.jobs, on_result=self.on_result,
                          on_done=self.on_done, signals=signals, on_stop=self.stopping)
        except (KeyboardInterrupt, Terminated, Abandoned) as e:
            stopped = e
        status, error = self.status(stopped)
        line = self.finish(stopped is not None)
        if log:
            self.record(exchange, label, line, status, error, started)
        if isinstance(stopped, Abandoned):
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)  # the threads still waiting on the network are not joined
        if status:
            raise Silent(status)

    def status(self, stopped):
        """``(exit status, error)``: a signal's, else the first failed request's (the key
        refused first), else 1 when a claim did not check out, else 0."""
        from pplx_cli.runs.batch import Abandoned
        from pplx_cli.runs.verify import all_good

        if stopped is not None:
            return outcome(stopped.signal if isinstance(stopped, Abandoned) else stopped)
        failed = [r for r in self.results if r["status"]]
        if failed:
            first = next((r for r in failed if r["status"] == 3), failed[0])
            return first["status"], first["error"]
        return (0, None) if all_good(self.results) else (1, None)

    def finish(self, interrupted: bool) -> str:
        """The sentences that cite nothing and the summary line, after the claims; the summary."""
        from pplx_cli.output.verify_report import Layout, summary, summary_spans, uncited_json, uncited_lines
        from pplx_cli.runs.verify import cost_of

        line = summary(self.results, self.plan, cost_of(self.results), interrupted=interrupted)
        self.plain += uncited_lines(self.plan, self.uncited, Layout()) + [[("", line)]]
        if self.as_json:
            if self.uncited:
                self.channel.lines(uncited_json(self.plan))
            say(f"pplx: {line}")
        else:
            self.channel.styled(uncited_lines(self.plan, self.uncited, self.layout) + [summary_spans(line)], self.color)
        return line

    def record(self, exchange, label, line, status, error, started):
        from pplx_cli.dialects.evidence import tally
        from pplx_cli.output.verify_report import plain
        from pplx_cli.runs.verify import cost_of, record
        from pplx_cli.store.config import new_cid

        cost = cost_of(self.results)
        meta = {"kind": "verify", "exchange": exchange["id"] if exchange else None, "claims": len(self.plan.claims),
                "checked": len(self.results), "sentences": self.plan.sentences, "uncited": len(self.plan.uncited),
                "verdicts": tally([r["verdict"] for r in self.results]), "judge": self.judge, "summary": line}
        if cost is not None:
            meta["usage"] = {"cost": {"currency": "USD", "total_cost": cost}}
        meta["records"] = [rec for r in self.results for rec in r["records"]]
        options = {"exchange": exchange["id"] if exchange else None, "judge": self.judge, "jobs": self.jobs}
        record(prompt=label, cid=exchange["cid"] if exchange else new_cid(), report=plain(self.plain),
               meta=meta, model=self.judge or "context", status=status, error=error, started=started,
               options={k: v for k, v in options.items() if v is not None}, warn=warn)
