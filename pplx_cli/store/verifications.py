"""The history's verifications (``pplx verify``): the answer to check by default, and the
latest verification of an exchange.

A verification is an exchange of kind ``verify`` in the conversation (``cid``) of the
exchange it checked, whose id its options name (``{"exchange": 42}``): found through the
conversation's index, never by reading every exchange.
"""

import sqlite3

from pplx_cli.store.history import HistoryError


def _one(history, sql: str, params=()):
    try:
        row = history.db.execute(sql, params).fetchone()
    except sqlite3.Error as e:
        raise HistoryError(f"{e} ({history.path})") from None
    return dict(row) if row is not None else None


def latest_answer(history):
    """The latest answer of the user's own (ask, stream, jobs wait; not a batch line) that
    has text, or None."""
    return _one(history, "SELECT * FROM exchanges WHERE kind = 'answer' AND batch IS NULL AND answer != '' "
                         "ORDER BY id DESC LIMIT 1")


def latest_verification(history, exchange: dict):
    """The latest verification of ``exchange`` (a row of the history), or None."""
    return _one(history, "SELECT * FROM exchanges WHERE cid = ? AND kind = 'verify' "
                         "AND CASE WHEN json_valid(options) THEN json_extract(options, '$.exchange') END = ? "
                         "ORDER BY id DESC LIMIT 1", (exchange["cid"], exchange["id"]))
