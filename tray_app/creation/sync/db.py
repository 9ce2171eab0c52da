"""The sync queue's own SQLite file: WAL, ``PRAGMA user_version`` migrations, damage set aside.

Each job is stored as its msgspec JSON beside the columns the queue orders by.
A file SQLite cannot read (or one from a newer version) is renamed with a
timestamp and a fresh one started; the problem is returned to be shown, so
jobs are never dropped in silence. Use from one thread at a time.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from tray_app.creation.sync.model import SyncJob

__all__ = ["SCHEMA_VERSION", "QueueDB", "read_jobs", "set_aside"]

_log = logging.getLogger(__name__)

_MIGRATIONS: list[str] = [
    # 1: jobs as JSON, ordered by seq; meta for one-time steps (the old JSON import).
    """
    CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        status TEXT NOT NULL,
        session_id TEXT,
        data BLOB NOT NULL
    );
    CREATE INDEX jobs_seq ON jobs(seq);
    CREATE INDEX jobs_session ON jobs(session_id);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
]
SCHEMA_VERSION = len(_MIGRATIONS)

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(SyncJob)


def set_aside(path: Path, why: str) -> Path:
    """Rename a damaged file (and its WAL) to ``<name>.damaged-<UTC stamp>``; returns it."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    moved = path.with_name(f"{path.name}.damaged-{stamp}")
    path.rename(moved)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        with contextlib.suppress(FileNotFoundError):
            side.rename(moved.with_name(moved.name + suffix))
    _log.error("sync queue %s was damaged (%s); moved to %s", path, why, moved)
    return moved


class QueueDB:
    def __init__(self, path: Path) -> None:
        self.path = path
        #: What went wrong opening it, in words (shown by the tray, /health and the CLI).
        self.problems: list[str] = []
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = self._connect()
        except (sqlite3.DatabaseError, _Newer) as exc:
            moved = set_aside(path, str(exc))
            self.problems.append(
                f"The sync queue {path.name} could not be read ({exc}); it was kept as "
                f"{moved.name} and a new queue was started."
            )
            self._conn = self._connect()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")  # a job is durable once enqueue returns
            check = conn.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check: {check[0] if check else '?'}")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise _Newer(f"made by a newer ExLab Tray (schema {version})")
            for number in range(version, SCHEMA_VERSION):
                conn.execute("BEGIN IMMEDIATE")
                for statement in _MIGRATIONS[number].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version={number + 1}")
                conn.execute("COMMIT")
            conn.execute("SELECT count(*) FROM jobs").fetchone()
        except BaseException:
            conn.close()
            raise
        return conn

    def load(self) -> list[SyncJob]:
        """Every job in queue order; rows that do not decode are reported and kept."""
        jobs = []
        for job_id, data in self._conn.execute("SELECT id, data FROM jobs ORDER BY seq"):
            try:
                jobs.append(_decoder.decode(data))
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                self.problems.append(f"Sync job {job_id} could not be read ({exc}); it is kept.")
        return jobs

    def put(self, jobs: Iterable[SyncJob], *, meta: dict[str, str] | None = None) -> None:
        """Insert or replace ``jobs`` (and ``meta`` keys) in one transaction."""
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for job in jobs:
                conn.execute(
                    "INSERT INTO jobs (id, seq, status, session_id, data) VALUES (?, "
                    "(SELECT coalesce(max(seq), 0) + 1 FROM jobs), ?, ?, ?) "
                    "ON CONFLICT(id) DO UPDATE SET status=excluded.status, data=excluded.data",
                    (job.id, job.status.value, job.session_id, _encoder.encode(job)),
                )
            for key, value in (meta or {}).items():
                conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def delete(self, job_ids: Iterable[str]) -> None:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("DELETE FROM jobs WHERE id = ?", [(i,) for i in job_ids])
        conn.execute("COMMIT")

    def meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def close(self) -> None:
        self._conn.close()


class _Newer(Exception):
    """The file's schema is newer than this version knows."""


def read_jobs(path: Path) -> list[SyncJob] | None:
    """The jobs of a queue file, read only (for a support report while the tray runs).

    None when there is no file; raises ``sqlite3.Error`` when it cannot be read.
    """
    if not path.is_file():
        return None
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT data FROM jobs ORDER BY seq").fetchall()
    finally:
        conn.close()
    jobs = []
    for (data,) in rows:
        with contextlib.suppress(msgspec.DecodeError, msgspec.ValidationError):
            jobs.append(_decoder.decode(data))
    return jobs
