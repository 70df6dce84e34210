"""Background runs, the part of an exchange that outlives a connection (see pplx jobs).

A request runs in the background when asked (``--background``) or when a long effort is
streamed: the service keeps the run, a lost stream is resumed from the last event handled
(:class:`~pplx_cli.runs.resume.ResumingEvents`), a queued answer is polled to its end, Ctrl-C
detaches, and the run is remembered in the history the moment its id is known.
:class:`BackgroundRuns` is mixed into :class:`~pplx_cli.runs.exchange.Exchange`, whose state
(``run``, ``settings``, ``log``, ``note``...) it uses.
"""

from pplx_cli.runs import statuses as runs
from pplx_cli.errors import StreamError, Terminated, UsageError


class BackgroundRuns:
    """The background-run half of an Exchange."""

    def _run_started(self, rid: str, status: str = "in_progress"):
        """A background run has an id: remember it at once, so that it can be picked up later."""
        self.run_id = rid
        self.run_status = status
        if not self.log:
            return
        from pplx_cli.store.history import HistoryError

        try:
            with self._history() as history:
                history.add_run(id=rid, base_url=self.base_url, cid=self.cid, model=self.requested, system=self.opts.system,
                                prompt=self.prompt, options=self.logged_options(), status=status)
        except HistoryError as e:
            self.warn(f"the run is not remembered: {e}")

    def _detached(self, writer=None):
        """Ctrl-C or SIGTERM while a background run goes on: say how to pick it up or stop it."""
        if self.run_id and not runs.ended(self.run_status):
            self.note(f"the run {self.run_id} continues on Perplexity's side: 'pplx jobs wait {self.run_id}' picks it up, "
                      f"'pplx jobs cancel {self.run_id}' stops it")

    def _background(self, api, body, stream):
        """Run in the background (``background`` and ``store`` true) when asked, or when a
        long effort is streamed, so that a lost connection loses nothing."""
        asked = self.run.background or self.run.detach
        # a long effort streamed goes to the background by itself, unless the service is not to
        # keep it (--no-store) or the bytes are dumped as they come (raw: nothing could resume)
        automatic = (stream and self.mode == "stream" and runs.is_long_effort(body.get("effort"))
                     and body.get("store") is not False)
        if not (asked or automatic):
            return
        if api != "agent":
            if asked:
                raise UsageError("--background needs the Agent API (--api agent): chat completions keep no runs")
            return
        if body.get("store") is False:
            raise UsageError("a background run is kept by the service until it ends: it cannot be --no-store")
        body["background"] = True
        body["store"] = True
        if self.run.detach:
            body["stream"] = False
        self.background = True

    def _resuming(self, events):
        from pplx_cli.runs.resume import ResumingEvents

        def say(line):
            if not self.conn.quiet:
                self.warn_line(line)

        return ResumingEvents(self._client, events, retries=int(self.settings.get("retries")), say=say,
                              on_id=self._run_started)

    def _finished(self, writer):
        """Note how a background run ended (for pplx jobs)."""
        if self.run_id:
            finish = writer.meta.get("finish_reason")
            self.run_status = "completed" if finish == "stop" else (finish if runs.ended(finish) else "incomplete")

    def _submit(self, response, writer):
        """--detach: the run's id on stdout, for id=$(pplx ...); it goes on on the service."""
        from pplx_cli.wire.bodies import read_body
        from pplx_cli.jsonsafe import loads

        try:
            obj = loads(read_body(response))
        except ValueError:
            obj = None
        rid = obj.get("id") if isinstance(obj, dict) else None
        if not isinstance(rid, str) or not rid:
            raise StreamError("the service did not say which run it started (no id in its answer)")
        self.log_exchange = False  # the answer is recorded when 'pplx jobs wait' has it
        self._run_started(rid, obj.get("status") if isinstance(obj.get("status"), str) else "queued")
        writer.meta_enabled = False
        writer.stop_status()
        writer.print(rid + "\n")
        writer.delivered = True
        return None

    def _poll_body(self, body: bytes, writer) -> bytes:
        """A background run answered 'queued': poll it to its end (Ctrl-C detaches)."""
        from pplx_cli import jsonsafe
        from pplx_cli.runs.resume import phase, poll

        try:
            obj = jsonsafe.loads(body)
        except ValueError:
            return body
        rid = obj.get("id") if isinstance(obj, dict) else None
        if not isinstance(rid, str) or runs.ended(obj.get("status")):
            return body
        self._run_started(rid, obj.get("status") or "queued")
        try:
            final = poll(self._client, rid, sleep=self._sleep, say=None if self.conn.quiet else self.warn_line,
                         on_state=lambda state: writer.status and writer.status.show(phase(state)))
        except (KeyboardInterrupt, Terminated):
            self._detached()
            raise
        self.run_status = final.get("status") if isinstance(final.get("status"), str) else None
        return jsonsafe.dumps(final).encode()
