"""The journal's statements: reading back the rows a start restores, and writing one
batch of changes as one transaction.

Blocking; only the journal's own thread (and, at start, the thread that opens the
file) calls into this module.

Why rows go many to a statement: Python's sqlite3 lets go of the GIL around every
step of a statement, so ``executemany`` of 250 rows is 250 hand-overs of the GIL
between the writer and the event loop, each a pair of thread switches. Measured on
the store walk (benchmarks/journal.py) that doubled the writer's CPU per row against
the same rows written while the loop was idle. Up to CHUNK rows per INSERT (and ids
per DELETE) make that one step per CHUNK rows; the statements for each size are
built once and SQLite's prepared forms are kept by the connection's statement cache.
Values come as journal_rows writes them (str and float, ABSENT for NULL).
"""

from __future__ import annotations

import functools
import itertools
import logging
import sqlite3

from tray_app.sessions.journal_db import COLUMNS
from tray_app.sessions.journal_rows import ABSENT, Row

__all__ = ["CHUNK", "read_rows", "write_batch"]

#: Rows per INSERT, ids per DELETE: 32 rows of 16 columns are 512 parameters, under
#: the 999 that SQLite builds before 3.32 allow.
CHUNK = 32

_COLUMN_LIST = ", ".join(COLUMNS)
#: The columns that are NOT NULL in the schema; the others take ABSENT for NULL.
_REQUIRED = frozenset({"session_id", "kind", "title", "state", "created_at", "last_heartbeat"})
_ONE_ROW = (
    "("
    + ", ".join("?" if name in _REQUIRED else f"NULLIF(?, '{ABSENT}')" for name in COLUMNS)
    + ")"
)
_PRUNE = (
    "DELETE FROM sessions WHERE finished_at IS NOT NULL AND session_id NOT IN "
    "(SELECT session_id FROM sessions WHERE finished_at >= ? "
    "ORDER BY finished_at DESC LIMIT ?)"
)
_flat = itertools.chain.from_iterable
_log = logging.getLogger(__name__)


@functools.cache
def _upsert(rows: int) -> str:
    values = ", ".join([_ONE_ROW] * rows)
    return f"INSERT OR REPLACE INTO sessions ({_COLUMN_LIST}) VALUES {values}"


@functools.cache
def _delete(ids: int) -> str:
    return f"DELETE FROM sessions WHERE session_id IN ({', '.join('?' * ids)})"


def read_rows(conn: sqlite3.Connection, cutoff: float, keep: int) -> list[Row]:
    """The rows a start restores: the newest ``keep`` finished since ``cutoff``
    (oldest of them first), then every live one (oldest first)."""
    finished = conn.execute(
        f"SELECT {_COLUMN_LIST} FROM sessions WHERE finished_at >= ? "
        "ORDER BY finished_at DESC LIMIT ?",
        (cutoff, keep),
    ).fetchall()
    live = conn.execute(
        f"SELECT {_COLUMN_LIST} FROM sessions WHERE finished_at IS NULL ORDER BY created_at"
    ).fetchall()
    return [*reversed(finished), *live]


def write_batch(
    conn: sqlite3.Connection,
    rows: list[Row],
    gone: list[str],
    prune: tuple[float, int] | None,
) -> None:
    """In one transaction: delete the ``gone`` ids, write ``rows`` (each replacing the
    session's earlier row), and, given ``(cutoff, keep)``, delete the finished rows
    past retention. Raises sqlite3.Error with the transaction rolled back."""
    try:
        conn.execute("BEGIN")
        for start in range(0, len(gone), CHUNK):
            ids = gone[start : start + CHUNK]
            conn.execute(_delete(len(ids)), ids)
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            conn.execute(_upsert(len(chunk)), list(_flat(chunk)))
        if prune is not None:
            conn.execute(_PRUNE, prune)
        conn.execute("COMMIT")
    except sqlite3.Error:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                # The caller reports the first error, the one that says why.
                _log.debug("rollback after a failed commit failed too", exc_info=True)
        raise
