"""The part of an exchange that is about its conversation and its record: which conversation
it continues (``-c``, ``--cid``), what it sends again (``--reattach``), and the exchange
written to the history when it ends. :class:`Conversations` is mixed into
:class:`~pplx_cli.runs.exchange.Exchange`, whose state (``conversation``, ``settings``,
``opts``, ``log``...) it uses."""

from pplx_cli.errors import UsageError
from pplx_cli.runs import statuses as runs

#: Request options a follow-up takes from its conversation unless -m, --models, --effort or --profile is given.
CONVERSATION_KEYS = ("model", "models", "effort", "profile")


class Conversations:
    def _resolve_conversation(self):
        from pplx_cli.store.config import new_cid
        from pplx_cli.store.paths import history_path

        self.history_path = history_path(self.settings.env)
        wanted = self.conversation.cid
        if not (wanted or self.conversation.continue_):
            self.cid = new_cid()
            return
        from pplx_cli.store.history import HistoryError, history_messages

        try:
            with self._history(create=False) as history:
                cid = wanted or history.latest_cid()
                exchanges = history.conversation(cid) if cid else []
        except HistoryError as e:
            raise UsageError(f"cannot continue: {e}") from None
        if not exchanges:
            raise UsageError(f"no conversation {wanted!r} in the history" if wanted else "no conversation to continue: the history holds no ask or stream exchange")
        self.cid = cid
        self.messages = history_messages(exchanges)
        last = exchanges[-1]
        if self.opts.system is None:
            self.opts.system = last["system"]  # the conversation's system prompt, unless -s replaces it
        answered = [e for e in exchanges if e["answer"]]
        options = _options_of(answered[-1] if answered else last)
        if not self.explicit_model:  # the conversation's model and effort, unless given again
            for key in CONVERSATION_KEYS:
                setattr(self.opts, key, options.get(key))
        if answered:
            self.previous_response_id = _continuable_id(answered[-1])
        if self.conversation.reattach:
            self._reattach(exchanges)

    def _reattach(self, exchanges):
        """--reattach: the conversation's earlier attachments, read again from where they
        were (a file that changed since, by its SHA-256, or is gone is a usage error)."""
        from pplx_cli.runs.attachments import read_attachments

        earlier = [a for e in exchanges for a in (_options_of(e).get("attachments") or []) if isinstance(a, dict)]
        for record in earlier:
            source = record.get("source")
            if not isinstance(source, str) or source == "-":
                raise UsageError(f"cannot reattach {record.get('name')}: it was read from stdin")
            [again] = read_attachments([source])
            if record.get("sha256") and again.sha256 != record["sha256"]:
                raise UsageError(f"cannot reattach {source}: it has changed since it was sent")
            self.attachments.append(again)
            self.opts.attachments.append(again.part)

    def _history(self, create=True):
        """The history as a context manager: the batch's shared one (lent to this thread for
        the block), else this exchange's own, opened for the block."""
        if self.shared_history is not None:
            return self.shared_history.using()
        from pplx_cli.store.history import History

        return History(self.history_path, create=create)

    def logged_options(self) -> dict:
        """The request options worth keeping in the history: the ones set."""
        # the fields as they are (asdict would deep-copy each list and schema, for a record that is only written)
        out = {k: v for k, v in vars(self.opts).items() if v not in (None, False, [], "") and k != "attachments"}
        out.pop("system", None)  # its own column
        if self.attachments:  # what they were, never their bytes
            out["attachments"] = [a.record() for a in self.attachments]
        out["store"] = self.opts.store
        out["api"] = self.api_setting
        return out

    def record(self, writer, exit_status: int, error, duration: float):
        """Write the exchange to the history; a failure is one warning, never an error."""
        if not self.log or not self.log_exchange:
            return
        from pplx_cli.store.history import HistoryError

        fields = dict(cid=self.cid, api=self.api, model=self.requested, system=self.opts.system, prompt=self.prompt,
                      options=self.logged_options(), answer=writer.answer(), reasoning="".join(writer.reasoning) or None,
                      meta=writer.metadata(error), duration=duration, exit_status=exit_status, error=error,
                      batch=self.batch_id)
        try:
            with self._history() as history:
                exchange_id = self.exchange_id = history.record(**fields)
                if self.run_id and runs.ended(self.run_status):
                    history.set_run(self.run_id, self.run_status, exchange_id)
        except HistoryError as e:
            self.warn(f"history not recorded: {e}")


def _options_of(exchange) -> dict:
    from pplx_cli import jsonsafe

    try:
        options = jsonsafe.loads(exchange.get("options") or "{}")
    except ValueError:
        return {}
    return options if isinstance(options, dict) else {}


def _continuable_id(exchange):
    """The response id a follow-up can continue from: an Agent API exchange that completed
    and was stored (``store`` sent as true), else None."""
    from pplx_cli import jsonsafe

    if exchange.get("api") != "agent" or exchange.get("exit_status") != 0 or _options_of(exchange).get("store") is not True:
        return None
    try:
        meta = jsonsafe.loads(exchange.get("meta") or "{}")
    except ValueError:
        return None
    rid = meta.get("id") if isinstance(meta, dict) else None
    return rid if isinstance(rid, str) and rid else None
