"""The history database's schema: its migrations, versioned with ``PRAGMA user_version``,
the full-text index kept in step by triggers, and a SQL script split into statements."""

import sqlite3


#: Schema migrations: MIGRATIONS[n] takes a database from version n to n + 1.
MIGRATIONS = [
    # 1: the exchanges
    """
    CREATE TABLE exchanges (
        id INTEGER PRIMARY KEY,
        time TEXT NOT NULL,
        cid TEXT NOT NULL,
        api TEXT,
        model TEXT,
        system TEXT,
        prompt TEXT NOT NULL,
        options TEXT,
        answer TEXT NOT NULL DEFAULT '',
        reasoning TEXT,
        meta TEXT,
        duration REAL,
        exit_status INTEGER,
        error TEXT
    );
    CREATE INDEX exchanges_cid ON exchanges (cid, id);
    """,
    # 2: cost and tokens as columns, for `log cost` and `log` without parsing every meta
    """
    ALTER TABLE exchanges ADD COLUMN cost REAL;
    ALTER TABLE exchanges ADD COLUMN prompt_tokens INTEGER;
    ALTER TABLE exchanges ADD COLUMN completion_tokens INTEGER;
    UPDATE exchanges SET
        cost = json_extract(meta, '$.usage.cost.total_cost'),
        prompt_tokens = json_extract(meta, '$.usage.prompt_tokens'),
        completion_tokens = json_extract(meta, '$.usage.completion_tokens')
    WHERE json_valid(meta);
    CREATE INDEX exchanges_time ON exchanges (time);
    """,
    # 3: background runs this machine started (the service has no endpoint that lists them)
    """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        time TEXT NOT NULL,
        base_url TEXT,
        cid TEXT,
        model TEXT,
        system TEXT,
        prompt TEXT NOT NULL,
        options TEXT,
        status TEXT,
        seen TEXT,
        exchange_id INTEGER
    );
    CREATE INDEX runs_time ON runs (time);
    """,
    # 4: what kind of exchange (an answer, a search, a fetch, embeddings), and costs that
    # are pplx's estimate (the Search API returns none)
    """
    ALTER TABLE exchanges ADD COLUMN kind TEXT NOT NULL DEFAULT 'answer';
    ALTER TABLE exchanges ADD COLUMN cost_estimated INTEGER NOT NULL DEFAULT 0;
    """,
    # 5: the batch run an exchange was part of (pplx batch; pplx log --batch ID)
    """
    ALTER TABLE exchanges ADD COLUMN batch TEXT;
    CREATE INDEX exchanges_batch ON exchanges (batch, id);
    """,
    # 6: ids never handed out twice. Without AUTOINCREMENT SQLite gives the next row the
    # highest id + 1, so removing the newest exchanges gave their ids to the next ones; a
    # table cannot gain AUTOINCREMENT in place, so it is rebuilt, every id kept (the full-text
    # index's rowids stay right; its triggers, dropped with the old table, are put back by
    # _migrate). The highest id the old database shows was handed out starts the sequence:
    # its newest row, or a background run's answer that was removed since.
    """
    CREATE TABLE exchanges_new (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time TEXT NOT NULL,
        cid TEXT NOT NULL,
        api TEXT,
        model TEXT,
        system TEXT,
        prompt TEXT NOT NULL,
        options TEXT,
        answer TEXT NOT NULL DEFAULT '',
        reasoning TEXT,
        meta TEXT,
        duration REAL,
        exit_status INTEGER,
        error TEXT,
        cost REAL,
        prompt_tokens INTEGER,
        completion_tokens INTEGER,
        kind TEXT NOT NULL DEFAULT 'answer',
        cost_estimated INTEGER NOT NULL DEFAULT 0,
        batch TEXT
    );
    INSERT INTO exchanges_new (id, time, cid, api, model, system, prompt, options, answer, reasoning, meta, duration,
                               exit_status, error, cost, prompt_tokens, completion_tokens, kind, cost_estimated, batch)
        SELECT id, time, cid, api, model, system, prompt, options, answer, reasoning, meta, duration,
               exit_status, error, cost, prompt_tokens, completion_tokens, kind, cost_estimated, batch FROM exchanges;
    DROP TABLE exchanges;
    ALTER TABLE exchanges_new RENAME TO exchanges;
    CREATE INDEX exchanges_cid ON exchanges (cid, id);
    CREATE INDEX exchanges_time ON exchanges (time);
    CREATE INDEX exchanges_batch ON exchanges (batch, id);
    DELETE FROM sqlite_sequence WHERE name = 'exchanges';
    INSERT INTO sqlite_sequence (name, seq) VALUES ('exchanges', MAX(
        COALESCE((SELECT MAX(id) FROM exchanges), 0),
        COALESCE((SELECT MAX(exchange_id) FROM runs WHERE typeof(exchange_id) = 'integer'), 0)));
    """,
    # 7: `log cost` from sums kept a day and model at a time (pplx_cli.store.costs), not from
    # every exchange. The triggers only note which days changed (a key lookup, nothing that
    # can fail on odd values); the reader sums a changed day again from its exchanges, so
    # the sums are what summing every exchange gives. Every day starts changed: nothing is
    # summed here, a migration must not fail on values an older pplx or a hand left. The
    # value columns have no type: a sum is kept as SQLite returned it. (A migration that
    # rebuilds the table, as 6 does, drops these triggers with it: it must create them again.)
    """
    CREATE TABLE cost_days (
        day TEXT NOT NULL,
        model TEXT,
        exchanges,
        cost,
        estimated,
        prompt_tokens,
        completion_tokens
    );
    CREATE INDEX cost_days_day ON cost_days (day, model);
    CREATE TABLE cost_days_changed (day TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;
    INSERT OR IGNORE INTO cost_days_changed (day) SELECT DISTINCT substr(time, 1, 10) FROM exchanges;
    CREATE TRIGGER exchanges_cost_ai AFTER INSERT ON exchanges BEGIN
        INSERT OR IGNORE INTO cost_days_changed (day) VALUES (substr(new.time, 1, 10));
    END;
    CREATE TRIGGER exchanges_cost_ad AFTER DELETE ON exchanges BEGIN
        INSERT OR IGNORE INTO cost_days_changed (day) VALUES (substr(old.time, 1, 10));
    END;
    CREATE TRIGGER exchanges_cost_au AFTER UPDATE OF time, model, cost, cost_estimated, prompt_tokens, completion_tokens
    ON exchanges BEGIN
        INSERT OR IGNORE INTO cost_days_changed (day) VALUES (substr(old.time, 1, 10));
        INSERT OR IGNORE INTO cost_days_changed (day) VALUES (substr(new.time, 1, 10));
    END;
    """,
]


SCHEMA_VERSION = len(MIGRATIONS)


#: The full-text index, added when this SQLite has FTS5 (kept in step by triggers).
FTS = """
CREATE VIRTUAL TABLE IF NOT EXISTS exchanges_fts USING fts5(prompt, answer, content='exchanges', content_rowid='id');
CREATE TRIGGER IF NOT EXISTS exchanges_ai AFTER INSERT ON exchanges BEGIN
    INSERT INTO exchanges_fts (rowid, prompt, answer) VALUES (new.id, new.prompt, new.answer);
END;
CREATE TRIGGER IF NOT EXISTS exchanges_ad AFTER DELETE ON exchanges BEGIN
    INSERT INTO exchanges_fts (exchanges_fts, rowid, prompt, answer) VALUES ('delete', old.id, old.prompt, old.answer);
END;
CREATE TRIGGER IF NOT EXISTS exchanges_au AFTER UPDATE ON exchanges BEGIN
    INSERT INTO exchanges_fts (exchanges_fts, rowid, prompt, answer) VALUES ('delete', old.id, old.prompt, old.answer);
    INSERT INTO exchanges_fts (rowid, prompt, answer) VALUES (new.id, new.prompt, new.answer);
END;
"""


def _statements(script):
    """Split a SQL script into statements (a trigger's inner ';' does not end it).

    executescript() would do this, but it commits first, and migrations must run inside
    the transaction that checks the schema version.
    """
    out, current = [], ""
    for line in script.strip().splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    return out
