"""The history: every ask and stream exchange in a SQLite database, and conversations.

The database is ``$PPLX_HISTORY``, else ``$XDG_DATA_HOME/pplx/history.db`` (default
``~/.local/share/pplx/history.db``), created on first use with mode 600. Its schema is
versioned with ``PRAGMA user_version`` and migrated forward on open. It runs in WAL mode
with a busy timeout and one short transaction per write, so parallel pplx processes never
lose a row or fail with "database is locked".

Nothing here may break the main job: callers catch :class:`HistoryError` (raised for any
database or file problem) and warn.
"""

import os
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone

from pplx_cli import jsonsafe
from pplx_cli.errors import redact
from pplx_cli.numbers import nonnegative, number, whole
from pplx_cli.store.schema import FTS, MIGRATIONS, SCHEMA_VERSION, _statements

#: How long a writer waits for another process's transaction, in milliseconds.
BUSY_TIMEOUT_MS = 30_000


COLUMNS = ("id", "time", "cid", "api", "model", "system", "prompt", "options", "answer", "reasoning", "meta",
           "duration", "exit_status", "error", "cost", "prompt_tokens", "completion_tokens", "kind", "cost_estimated", "batch")


class HistoryError(Exception):
    """The history could not be read or written; the message says why, in a few words."""


def _describe(exc) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    return text


class History:
    """One open history database. Use as a context manager."""

    def __init__(self, path: str, create: bool = True, threads: bool = False):
        self.path = path
        self.fts = False
        try:
            if not os.path.exists(path):
                if not create:
                    raise HistoryError(f"no history yet at {path}")
                parent = os.path.dirname(path) or "."
                if os.path.exists(parent) and not os.path.isdir(parent):
                    raise HistoryError(f"{parent} is not a directory ({path})")
                os.makedirs(parent, mode=0o700, exist_ok=True)
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))  # mode 600 before sqlite writes a byte
            # threads: used from several, one at a time (SharedHistory's lock)
            self.db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=not threads)
            self.db.row_factory = sqlite3.Row
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if self.db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = NORMAL")
            self._migrate()
        except sqlite3.Error as e:
            raise HistoryError(f"{_describe(e)} ({path})") from None
        except OSError as e:
            raise HistoryError(f"{_describe(e)} ({path})") from None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.db.close()

    def _migrate(self):
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version < SCHEMA_VERSION:
            self.db.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait, then see it done
            try:
                version = self.db.execute("PRAGMA user_version").fetchone()[0]
                for step in range(version, SCHEMA_VERSION):
                    for statement in _statements(MIGRATIONS[step]):
                        self.db.execute(statement)
                if self._has_fts():  # a rebuilt table lost the index's triggers: back in the same transaction
                    for statement in _statements(FTS):
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        elif version > SCHEMA_VERSION:
            raise HistoryError(f"the history was written by a newer pplx (schema {version})")
        self.fts = self._ensure_fts()

    def _has_fts(self) -> bool:
        return self.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'exchanges_fts'").fetchone() is not None

    def _ensure_fts(self) -> bool:
        if self._has_fts():
            return True
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                if not self._has_fts():
                    for statement in _statements(FTS):
                        self.db.execute(statement)
                    self.db.execute("INSERT INTO exchanges_fts (exchanges_fts) VALUES ('rebuild')")
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as e:
            if "fts5" in str(e).lower():
                return False  # this SQLite was built without FTS5: search falls back to LIKE
            raise
        return True

    # ---- writing ----

    def record(self, **fields) -> int:
        """Insert one exchange; return its id. The metadata may hold anything a response
        sent: its JSON is always valid, and its cost and token counts are kept in their
        columns only when they are quantities (see pplx_cli.numbers: a finite cost, a whole
        count from 0 that SQLite can hold), else NULL."""
        meta = fields.get("meta") if isinstance(fields.get("meta"), dict) else {}
        usage = meta.get("usage") if isinstance(meta.get("usage"), dict) else {}
        cost = usage.get("cost") if isinstance(usage.get("cost"), dict) else {}
        model = meta.get("model")
        row = {
            "time": fields.get("time") or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "cid": fields["cid"],
            "api": fields.get("api"),
            "model": model if isinstance(model, str) and model else fields.get("model"),
            "system": fields.get("system"),
            "prompt": fields["prompt"],
            "options": jsonsafe.dumps(fields.get("options") or {}, ensure_ascii=False),
            # a server that echoes the key into its answer must not put it in the history
            "answer": redact(fields.get("answer") or ""),
            "reasoning": redact(fields["reasoning"]) if fields.get("reasoning") else None,
            "meta": redact(jsonsafe.dumps(meta, ensure_ascii=False)),
            "duration": number(fields.get("duration")),
            "exit_status": fields.get("exit_status"),
            "error": redact(str(fields["error"])) if fields.get("error") else None,
            "cost": nonnegative(cost.get("total_cost")),
            "prompt_tokens": whole(usage.get("prompt_tokens")),
            "completion_tokens": whole(usage.get("completion_tokens")),
            "kind": fields.get("kind") or "answer",
            "cost_estimated": 1 if cost.get("estimated") is True else 0,
            "batch": fields.get("batch"),
        }
        # every text column redacted (a server may put the key in the model's name too); SQLite
        # stores UTF-8: a lone surrogate (JSON can carry one) becomes '?'
        row = {k: redact(v).encode("utf-8", "replace").decode("utf-8") if isinstance(v, str) else v for k, v in row.items()}
        names = ", ".join(row)
        marks = ", ".join(f":{k}" for k in row)
        try:
            cursor = self.db.execute(f"INSERT INTO exchanges ({names}) VALUES ({marks})", row)
        except sqlite3.Error as e:
            raise HistoryError(f"{_describe(e)} ({self.path})") from None
        return cursor.lastrowid

    # ---- reading ----

    def _query(self, sql, params=()):
        try:
            return [dict(r) for r in self.db.execute(sql, params).fetchall()]
        except sqlite3.Error as e:
            raise HistoryError(f"{_describe(e)} ({self.path})") from None

    def latest_cid(self, answered: bool = True):
        """The latest conversation of the user's own ask or stream (never a batch line, a
        search, fetch or embed); with ``answered`` (what ``-c`` continues) the latest that got
        an answer, not one that failed before any text. None if there is none."""
        rows = self._query("SELECT cid FROM exchanges WHERE kind = 'answer' AND batch IS NULL"
                           + (" AND answer != ''" if answered else "") + " ORDER BY id DESC LIMIT 1")
        return rows[0]["cid"] if rows else None

    def conversation(self, cid: str) -> list:
        """The exchanges of a conversation, oldest first."""
        return self._query("SELECT * FROM exchanges WHERE cid = ? AND kind = 'answer' ORDER BY id", (cid,))

    def get(self, exchange_id=None):
        """One exchange by id (the latest when None), or None."""
        if exchange_id is None:
            rows = self._query("SELECT * FROM exchanges ORDER BY id DESC LIMIT 1")
        else:
            rows = self._query("SELECT * FROM exchanges WHERE id = ?", (exchange_id,))
        return rows[0] if rows else None

    def list(self, limit=20, since=None, model=None, cid=None, batch=None) -> list:
        """Recent exchanges, newest first, filtered."""
        where, params = _filters(since, model, cid, batch=batch)
        return self._query(f"SELECT * FROM exchanges{where} ORDER BY id DESC LIMIT ?", (*params, limit))

    def search(self, terms, limit=20, since=None, model=None, cid=None) -> list:
        """Exchanges whose prompt or answer has every term, newest first."""
        where, params = _filters(since, model, cid, table="e")
        if self.fts:
            # each term a phrase; "term*" a prefix
            query = " ".join('"' + t.rstrip("*").replace('"', '""') + '"' + ("*" if t.endswith("*") and t.strip("*") else "")
                             for t in terms)
            sql, narrowing = _newest_matches(where, cid, since)
            rows = self._query(sql, (query, *params, *narrowing, limit))
            if rows:
                return rows
            # nothing by words: a substring search finds text without word breaks (CJK, say)
        terms = [t.rstrip("*") or t for t in terms]
        likes = " AND ".join("(e.prompt LIKE ? ESCAPE '\\' OR e.answer LIKE ? ESCAPE '\\')" for _ in terms)
        values = []
        for term in terms:
            pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            values += [pattern, pattern]
        sql = f"SELECT e.* FROM exchanges e WHERE {likes}{where.replace(' WHERE ', ' AND ')} ORDER BY e.id DESC LIMIT ?"
        return self._query(sql, (*values, *params, limit))

    # ---- keeping it tidy ----

    def select(self, ids=(), cid=None, before=None) -> list:
        """The exchanges ``remove`` would remove, newest first."""
        where, params = self._which(ids, cid, before)
        return self._query(f"SELECT * FROM exchanges WHERE {where} ORDER BY id DESC", params)

    def remove(self, ids=(), cid=None, before=None) -> int:
        """Delete exchanges by id, by conversation or older than a time (the full-text index
        follows by its triggers), then compact the file; how many went."""
        where, params = self._which(ids, cid, before)
        try:
            count = self.db.execute(f"DELETE FROM exchanges WHERE {where}", params).rowcount
            if count:
                self.db.execute("VACUUM")
        except sqlite3.Error as e:
            raise HistoryError(f"{_describe(e)} ({self.path})") from None
        return count

    @staticmethod
    def _which(ids, cid, before):
        if ids:
            return f"id IN ({', '.join('?' for _ in ids)})", list(ids)
        if cid:
            return "cid = ?", [cid]
        return "time < ?", [before]

    # ---- background runs ----

    def add_run(self, **fields):
        """Remember a background run this machine started (its id is the response id)."""
        row = {"id": fields["id"], "time": _now(), "base_url": fields.get("base_url"), "cid": fields.get("cid"),
               "model": fields.get("model"), "system": fields.get("system"), "prompt": fields["prompt"],
               "options": jsonsafe.dumps(fields.get("options") or {}, ensure_ascii=False),
               "status": fields.get("status") or "queued", "seen": _now(), "exchange_id": None}
        row = {k: v.encode("utf-8", "replace").decode("utf-8") if isinstance(v, str) else v for k, v in row.items()}
        self._execute(f"INSERT OR REPLACE INTO runs ({', '.join(row)}) VALUES ({', '.join(':' + k for k in row)})", row)

    def set_run(self, rid: str, status: str = None, exchange_id: int = None):
        """Note a run's status as last seen (and the exchange its answer was recorded as)."""
        self._execute("UPDATE runs SET status = COALESCE(?, status), seen = ?, exchange_id = COALESCE(?, exchange_id) "
                      "WHERE id = ?", (status, _now(), exchange_id, rid))

    def runs(self, limit=20) -> list:
        """The runs, newest first."""
        return self._query("SELECT * FROM runs ORDER BY time DESC, rowid DESC LIMIT ?", (limit,))

    def run(self, rid: str = None):
        """One run by id, or (None) the newest that has not been seen to end; None if none."""
        if rid is not None:
            rows = self._query("SELECT * FROM runs WHERE id = ?", (rid,))
        else:
            rows = self._query("SELECT * FROM runs WHERE status NOT IN ('completed', 'failed', 'incomplete', 'cancelled', "
                               "'requires_action') OR status IS NULL ORDER BY time DESC, rowid DESC LIMIT 1")
        return rows[0] if rows else None

    def _execute(self, sql, params):
        try:
            self.db.execute(sql, params)
        except sqlite3.Error as e:
            raise HistoryError(f"{_describe(e)} ({self.path})") from None

    def cost(self, since=None, model=None) -> list:
        """Cost and tokens summed by day (UTC) and model, oldest first (see pplx_cli.store.costs)."""
        from pplx_cli.store.costs import read_costs

        try:
            return read_costs(self.db, since, model)
        except sqlite3.Error as e:
            raise HistoryError(f"{_describe(e)} ({self.path})") from None


class SharedHistory:
    """One history for the threads of a batch: opened (created, migrated) once and closed at
    the end, not once a line. ``using()`` lends it to one thread at a time; each record is
    still its own transaction, committed before the line's record is handed on."""

    def __init__(self, path: str):
        import threading

        self.path = path
        self.history = History(path, threads=True)  # HistoryError: the caller says it once
        self.lock = threading.Lock()

    @contextmanager
    def using(self):
        """The History, this thread's alone until the block ends (it stays open)."""
        with self.lock:
            if self.history is None:
                raise HistoryError(f"closed ({self.path})")
            yield self.history

    def close(self):
        """Close it once whoever is using it is done; a later ``using()`` is a HistoryError."""
        with self.lock:
            if self.history is not None:
                self.history.db.close()
                self.history = None


def _newest_matches(where: str, cid, since):
    """``(sql, parameters)`` of the full-text search for the newest matches first: the index
    is read newest first (FTS5 walks its rowids down cheaply) and the join stops at LIMIT,
    so a word in every answer costs a few rows, not a sort of all of them (ordered by
    ``e.id``, SQLite cannot see that the index gives that order, and sorts every match).

    ``where`` (the filters on ``e``) decides what matches; a conversation and a time also
    narrow what the index reads, so a few matching exchanges among many matches of the word
    are found without walking every match: the conversation's ids (a handful), and ids from
    the lowest of those since the time on (``id + 0``: MIN(id) would walk the table by id,
    not the time index). The SQL's parameters: the query, ``where``'s, these, the limit."""
    narrow, parameters = "", []
    if cid:
        narrow += " AND exchanges_fts.rowid IN (SELECT id FROM exchanges WHERE cid = ?)"
        parameters.append(cid)
    if since:
        narrow += " AND exchanges_fts.rowid >= (SELECT MIN(id + 0) FROM exchanges WHERE time >= ?)"
        parameters.append(since)
    sql = (f"SELECT e.* FROM exchanges_fts JOIN exchanges e ON e.id = exchanges_fts.rowid "
           f"WHERE exchanges_fts MATCH ?{where.replace(' WHERE ', ' AND ')}{narrow} ORDER BY exchanges_fts.rowid DESC LIMIT ?")
    return sql, parameters


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _filters(since, model, cid, table="", batch=None):
    prefix = f"{table}." if table else ""
    clauses, params = [], []
    if batch:
        clauses.append(f"{prefix}batch = ?")
        params.append(batch)
    if since:
        clauses.append(f"{prefix}time >= ?")
        params.append(since)
    if model:
        clauses.append(f"{prefix}model = ?")
        params.append(model)
    if cid:
        clauses.append(f"{prefix}cid = ?")
        params.append(cid)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def history_messages(exchanges) -> list:
    """The messages that replay a conversation: user and assistant, alternating.

    Exchanges with no answer (failed before any text) are left out whole, so the roles
    still alternate; reasoning is never sent back.
    """
    messages = []
    for exchange in exchanges:
        if exchange["answer"]:
            messages.append({"role": "user", "content": exchange["prompt"]})
            messages.append({"role": "assistant", "content": exchange["answer"]})
    return messages


def decode_record(row: dict) -> dict:
    """An exchange as JSON-ready data: options and meta decoded (kept as text when they are
    not JSON, e.g. written by hand; NaN and Infinity read as null)."""
    out = {k: row.get(k) for k in COLUMNS}
    for key in ("options", "meta"):
        try:
            out[key] = jsonsafe.loads(row[key]) if row.get(key) else None
        except (ValueError, TypeError):  # TypeError: a number or blob where text belongs
            pass
    return out
