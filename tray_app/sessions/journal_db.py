"""The journal's SQLite file: opening it, its schema and forward migrations, and what
to do when it is damaged.

Blocking; only the journal's own thread calls into this module. A file that cannot
be used (garbage, truncated, locked by someone else, written by a newer version)
never stops the app: it is moved aside with a timestamp, a fresh file is started
and the problem is returned as a value for the tray, ``/health`` and the CLI.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

__all__ = [
    "COLUMNS",
    "SCHEMA_VERSION",
    "JournalProblem",
    "connect",
    "migrate",
    "move_aside",
    "open_journal_file",
    "words",
]

_log = logging.getLogger(__name__)

#: Each entry takes the schema from its index to the next version (user_version).
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 0 -> 1: one row per session.
    (
        """CREATE TABLE sessions (
            session_id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            title TEXT NOT NULL,
            request TEXT,
            destination TEXT,
            state TEXT NOT NULL,
            phase TEXT,
            ended_in_phase TEXT,
            outcome TEXT,
            pending_input TEXT,
            warnings TEXT,
            created_at REAL NOT NULL,
            last_heartbeat REAL NOT NULL,
            input_since REAL,
            finished_at REAL
        ) WITHOUT ROWID""",
        "CREATE INDEX sessions_finished ON sessions(finished_at) WHERE finished_at IS NOT NULL",
    ),
    # 1 -> 2: what the pipeline needs to pick a waiting session up again (plugins
    # already run, merged answers, template and variables), opaque to the journal.
    ("ALTER TABLE sessions ADD COLUMN checkpoint TEXT",),
)
SCHEMA_VERSION = len(MIGRATIONS)

#: Column order of a row, as journal_rows builds and reads it.
COLUMNS = (
    "session_id",
    "kind",
    "title",
    "request",
    "destination",
    "state",
    "phase",
    "ended_in_phase",
    "outcome",
    "pending_input",
    "warnings",
    "created_at",
    "last_heartbeat",
    "input_since",
    "finished_at",
    "checkpoint",
)

#: How long opening waits for another process's lock before calling the file locked.
BUSY_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class JournalProblem:
    """Something wrong with the journal, in words, for the tray, /health and the CLI."""

    #: journal_damaged | journal_locked | journal_newer | journal_unwritable | disk_full
    code: str
    message: str
    #: Where the unusable file was moved, when it was.
    moved_to: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "moved_to": self.moved_to}


class _Unusable(Exception):
    def __init__(self, code: str, why: str) -> None:
        super().__init__(why)
        self.code = code
        self.why = why


def connect(path: Path, *, synchronous: str = "FULL") -> sqlite3.Connection:
    """Open ``path`` in WAL mode, autocommit (transactions are explicit), usable from
    the journal's thread. Raises sqlite3 errors on a file that is not a database."""
    conn = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    try:
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()
        if mode is None or str(mode[0]).lower() != "wal":
            raise _Unusable("journal_locked", "it could not be switched to WAL mode")
        # FULL: a commit is on disk (the WAL fsynced) before a 201 says the session exists.
        conn.execute(f"PRAGMA synchronous={synchronous}")
        # Keep the WAL file small after a checkpoint (it is reset, not left at its peak).
        conn.execute("PRAGMA journal_size_limit=1048576")
    except BaseException:
        conn.close()
        raise
    return conn


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Bring the schema forward to ``target``, every step in one transaction."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version >= target:
        return version
    conn.execute("BEGIN IMMEDIATE")
    try:
        for step in range(version, target):
            for statement in MIGRATIONS[step]:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version={target}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    _log.info("session journal schema migrated from version %d to %d", version, target)
    return target


def open_journal_file(
    path: Path, now: Callable[[], datetime], *, synchronous: str = "FULL"
) -> tuple[sqlite3.Connection, JournalProblem | None]:
    """A usable, migrated connection to ``path``, and the problem met on the way.

    An unusable file is moved to ``<name>.<code>-<UTC stamp>`` (with its -wal and
    -shm files) and a fresh one started. Only a failure to create even the fresh
    file raises (OSError or sqlite3.Error): then there is no journal at all.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return _open_checked(path, synchronous), None
    except _Unusable as exc:
        code, why = exc.code, exc.why
    except sqlite3.Error as exc:
        code, why = _classify(exc), str(exc)
    moved = move_aside(path, code, now())
    problem = JournalProblem(code, words(code, path, why, moved), str(moved) if moved else None)
    _log.warning("session journal: %s", problem.message)
    return _open_checked(path, synchronous), problem


def _open_checked(path: Path, synchronous: str) -> sqlite3.Connection:
    # Checked and migrated without an fsync per step (a lost migration is just redone).
    conn = connect(path, synchronous="NORMAL")
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise _Unusable(
                "journal_newer",
                f"it has schema version {version}, newer than this version of ExLab Tray "
                f"understands ({SCHEMA_VERSION})",
            )
        verdict = conn.execute("PRAGMA quick_check").fetchone()
        if verdict is None or verdict[0] != "ok":
            raise _Unusable("journal_damaged", str(verdict[0] if verdict else "no verdict"))
        migrate(conn)
        # The columns this version reads must all be there (a foreign file may not have them).
        names = {row[1] for row in conn.execute("PRAGMA table_info(sessions)")}
        if not set(COLUMNS) <= names:
            raise _Unusable("journal_damaged", "its sessions table lacks columns")
        conn.execute(f"PRAGMA synchronous={synchronous}")
    except BaseException:
        conn.close()
        raise
    return conn


def _classify(exc: sqlite3.Error) -> str:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return "journal_locked"
    return "journal_damaged"


def move_aside(path: Path, code: str, moment: datetime) -> Path | None:
    stamp = moment.strftime("%Y%m%dT%H%M%S.%fZ")
    target = path.with_name(f"{path.name}.{code.removeprefix('journal_')}-{stamp}")
    moved: Path | None = None
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{path}{suffix}")
        if not source.exists():
            continue
        try:
            os.replace(source, Path(f"{target}{suffix}"))
            if not suffix:
                moved = target
        except OSError as exc:
            _log.warning("could not move %s aside: %s", source, exc)
            if not suffix:
                # Cannot keep it: a fresh journal matters more than a broken one.
                with contextlib.suppress(OSError):
                    source.unlink()
    return moved


_WHY = {
    "journal_damaged": "was damaged",
    "journal_locked": "was locked by another program",
    "journal_newer": "was written by a newer version of ExLab Tray",
}


def words(code: str, path: Path, why: str, moved: Path | None) -> str:
    kept = f" It was moved to {moved}." if moved else " It could not be kept."
    return (
        f"The session journal {path} {_WHY.get(code, 'could not be read')} ({why}), "
        f"so sessions from before this start may be missing.{kept} A new journal was started."
    )
