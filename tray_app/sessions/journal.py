"""The session journal: the store's sessions kept in SQLite, so they survive a quit,
a crash and a reboot (DESIGN §8).

The store stays in memory; the journal follows it as an observer. Changes seen in
a window of FLUSH_AFTER_S (many loop turns) are handed to the journal's own writer
thread, which builds one row per changed session and commits whatever has piled up
in one transaction; a prompt or a failure goes at the end of its loop turn instead.
The loop never waits on SQLite. :meth:`Journal.durable` is the one synchronous
point: it hands over at once and resolves once every change so far is committed
(POST /sessions answers 201 after it).

Why here, in ``sessions/``: the journal knows sessions and nothing else. It
reads and writes the store's own shape (Session, its states and phases) and keeps
the pipeline's checkpoint as an opaque value, so it needs nothing from
``creation/``; and ``creation/`` (the durable point before 201, the restart
policy) and the app both build on it. It never imports Qt, and its blocking
work (SQLite) stays on its thread, so the layer rules of ``sessions/`` hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from tray_app.sessions.journal_db import JournalProblem, move_aside, open_journal_file, words
from tray_app.sessions.journal_rows import Row, RowError, encode_json, row_of, session_of
from tray_app.sessions.journal_sql import read_rows, write_batch
from tray_app.sessions.session import Session, utc_now
from tray_app.sessions.states import SessionState
from tray_app.sessions.store import Change, Retention, SessionStore

__all__ = ["Journal", "JournalProblem", "JournalUnavailable", "Loaded"]

_log = logging.getLogger(__name__)

_EVICTED = Change.EVICTED
_HEARTBEAT = Change.HEARTBEAT
#: How long changes gather on the loop before they go to the writer as one batch. A
#: creation's whole walk in one window costs one row and one commit, not eight; and
#: the writer thread wakes at most once per window. Waking it is what costs: measured
#: on the store walk, a wake per session (the thread taking the GIL from the loop)
#: doubled the CPU per session, while SQLite's own work is a few µs per row.
FLUSH_AFTER_S = 0.05
#: States whose changes go at the end of their loop turn instead: a prompt (a crash
#: must find the session waiting, its answers so far kept) and a failure or an abort
#: (their outcome is written nowhere else). Neither is on the path of a creation that
#: goes well. What waits for the window loses nothing a crash must find: a new session
#: is committed by durable() before anyone is told it exists (the 201, the tray); a DONE
#: lost with the window is finished again from its creation.json by the next start
#: (creation/recovery.py); a phase lost reports the one before it.
_SOON = frozenset({SessionState.INPUT_REQUIRED, SessionState.FAILED, SessionState.ABORTED})


class JournalUnavailable(RuntimeError):
    """The journal could not commit (disk full, permissions...); ``problem`` says why."""

    def __init__(self, problem: JournalProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


@dataclass(slots=True)
class Loaded:
    """What the journal held at start: sessions oldest first, and rows it could not read."""

    sessions: list[Session] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Batch:
    """One loop turn's changes: the sessions that changed (their rows are built by the
    writer, once per commit however many turns changed them) and those evicted."""

    seq: int
    sessions: dict[str, Session]
    gone: list[str]
    prune: tuple[float, int] | None = None


class Journal:
    """One SQLite file of sessions, following one store."""

    def __init__(
        self,
        path: Path,
        *,
        clock: Callable[[], datetime] = utc_now,
        synchronous: str = "FULL",
        flush_after_s: float = FLUSH_AFTER_S,
        on_problem: Callable[[JournalProblem | None], None] | None = None,
    ) -> None:
        self.path = path
        self._clock = clock
        self._synchronous = synchronous
        self._flush_after_s = flush_after_s
        #: Told (on the loop) whenever :attr:`problems` changes.
        self.on_problem = on_problem
        self._conn: sqlite3.Connection | None = None
        self._open_problem: JournalProblem | None = None
        self._write_problem: JournalProblem | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._remove_observer: Callable[[], None] | None = None
        # Loop side: what changed since the last flush.
        self._dirty: dict[str, Session] = {}
        self._gone: list[str] = []
        self._scheduled = False
        self._timer: asyncio.Handle | None = None
        self._timer_later = False
        self._seq = 0
        self._prune: tuple[float, int] | None = None
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        # Shared with the writer thread (plain ints and refs; the GIL orders them).
        self._committed = 0
        self._failed_seq = 0
        self._waiting = 0
        self._cond = threading.Condition()
        self._pending: list[_Batch] = []
        self._writer_idle = False
        #: Ids with a row in the file (the writer's, once it runs): only those are deleted.
        self._on_disk: set[str] = set()
        self._stopping = False
        self._thread: threading.Thread | None = None
        #: Transactions committed and rows written, for benchmarks and tests.
        self.commits = 0
        self.rows_written = 0

    # ---- state ---------------------------------------------------------------
    @property
    def problems(self) -> list[JournalProblem]:
        """What is wrong with the journal now (empty when all is well)."""
        return [p for p in (self._open_problem, self._write_problem) if p is not None]

    @property
    def enabled(self) -> bool:
        return self._conn is not None

    # ---- start -----------------------------------------------------------------
    async def open(self, retention: Retention) -> Loaded:
        """Open the file (a damaged one is moved aside) and read back the sessions to
        restore: every live one, and the finished ones within ``retention``.

        Blocking work runs in a thread. Finished rows past retention are deleted
        later by the writer, so a large old journal does not slow the start.
        """
        now = self._clock()
        cutoff = (now - retention.max_age).timestamp()
        keep = max(0, retention.max_finished)
        try:
            conn, problem, loaded = await asyncio.to_thread(self._open_and_read, cutoff, keep)
        except (OSError, sqlite3.Error) as exc:
            self._open_problem = JournalProblem(
                "journal_unwritable",
                f"The session journal {self.path} could not be opened ({exc}); sessions "
                "will not survive a restart until this is fixed.",
            )
            _log.error("session journal disabled: %s", exc)
            return Loaded()
        self._conn = conn
        self._open_problem = problem
        self._on_disk = {session.session_id for session in loaded.sessions}
        if loaded.unreadable and problem is None:
            self._open_problem = JournalProblem(
                "journal_rows_unreadable",
                f"{len(loaded.unreadable)} session(s) in the journal could not be read and "
                f"were left out (first: {loaded.unreadable[0]}).",
            )
        self._prune = (cutoff, keep)
        return loaded

    def _open_and_read(
        self, cutoff: float, keep: int
    ) -> tuple[sqlite3.Connection, JournalProblem | None, Loaded]:
        conn, problem = open_journal_file(self.path, self._clock, synchronous=self._synchronous)
        try:
            rows = read_rows(conn, cutoff, keep)
        except sqlite3.DatabaseError:
            # Damage quick_check did not see (it skips some pages): treat it the same way.
            conn.close()
            conn, problem = _reopen_fresh(self.path, self._clock, self._synchronous)
            rows = []
        loaded = Loaded()
        for row in rows:
            try:
                loaded.sessions.append(session_of(row))
            except RowError as exc:
                loaded.unreadable.append(str(exc))
        # Oldest first, as they were opened (the store lists sessions newest first).
        loaded.sessions.sort(key=_created_at)
        return conn, problem, loaded

    def attach(self, store: SessionStore) -> None:
        """Follow ``store`` from now on (call on the loop, after restoring)."""
        if self._conn is None or self._remove_observer is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._remove_observer = store.add_observer(self._observe)
        self._thread = threading.Thread(target=self._run, name="exlab-journal", daemon=True)
        self._thread.start()
        if self._prune is not None:
            self._seq += 1
            self._hand_over(_Batch(self._seq, {}, [], self._prune))
            self._prune = None

    # ---- following the store (loop thread) ------------------------------------------
    def _observe(self, session: Session, change: Change) -> None:
        # Called for every change of every session: kept to a dict store and a test
        # or two when a flush is already scheduled (most calls).
        session_id = session.session_id
        if change is _EVICTED:
            self._dirty.pop(session_id, None)
            self._gone.append(session_id)
            soon = False
        else:
            self._dirty[session_id] = session
            soon = session.state in _SOON and change is not _HEARTBEAT
            if self._scheduled and not (soon and self._timer_later):
                return
        loop = self._loop
        assert loop is not None
        if not self._scheduled:
            self._scheduled = True
            if soon or not self._flush_after_s:
                self._timer = loop.call_soon(self._flush)
            else:
                self._timer = loop.call_later(self._flush_after_s, self._flush)
                self._timer_later = True
        elif soon and self._timer_later:
            assert self._timer is not None
            self._timer.cancel()
            self._timer = loop.call_soon(self._flush)
            self._timer_later = False

    def _flush(self) -> None:
        """Once per window with changes (or sooner): hand the changed sessions to the writer."""
        self._scheduled = False
        self._timer_later = False
        if self._timer is not None:
            self._timer.cancel()  # a no-op when it is the timer calling
            self._timer = None
        if not self._dirty and not self._gone:
            return
        dirty, self._dirty = self._dirty, {}
        gone, self._gone = self._gone, []
        self._seq += 1
        self._hand_over(_Batch(self._seq, dirty, gone))

    def _hand_over(self, batch: _Batch) -> None:
        with self._cond:
            self._pending.append(batch)
            if self._writer_idle:  # else it is gathering, and takes this batch too
                self._cond.notify()

    async def durable(self) -> None:
        """Return once every change seen so far is committed.

        Raises :class:`JournalUnavailable` when the commit failed. Without a
        journal (it could not be opened) there is nothing to wait for.
        """
        if self._remove_observer is None:
            return
        if self._scheduled:
            self._flush()
        target = self._seq
        if self._committed >= target:
            return
        assert self._loop is not None
        future: asyncio.Future[None] = self._loop.create_future()
        self._waiters.append((target, future))
        self._waiting += 1
        # Read after counting ourselves in: the writer reads in the other order.
        if self._committed >= target or self._failed_seq >= target:
            self._wake()
        await future

    def _wake(self) -> None:
        """On the loop, after a commit (or a failed one): resolve whoever waited for it."""
        committed, failed = self._committed, self._failed_seq
        still = []
        for target, future in self._waiters:
            if future.done():
                continue
            if committed >= target:
                future.set_result(None)
            elif failed >= target and self._write_problem is not None:
                future.set_exception(JournalUnavailable(self._write_problem))
            else:
                still.append((target, future))
        self._waiting -= len(self._waiters) - len(still)
        self._waiters = still

    def _problem_changed(self) -> None:
        if self.on_problem is not None:
            problems = self.problems
            self.on_problem(problems[0] if problems else None)

    # ---- stopping ------------------------------------------------------------------
    async def close(self) -> None:
        """Stop following the store, commit what is left, close the file."""
        if self._remove_observer is not None:
            self._remove_observer()
            self._flush()
        thread = self._thread
        if thread is not None:
            with self._cond:
                self._stopping = True
                self._cond.notify()
            await asyncio.to_thread(thread.join)
            self._thread = None
            if self._waiters:
                self._wake()
        elif self._conn is not None:
            self._conn.close()
        self._conn = None
        self._remove_observer = None

    # ---- the writer thread ------------------------------------------------------------
    def _run(self) -> None:
        conn = self._conn
        assert conn is not None
        changed: dict[str, Session] = {}
        gone: set[str] = set()
        prune: tuple[float, int] | None = None
        last_seq = 0
        # The request and creation time never change: encoded once per session.
        fixed: dict[str, tuple[str | None, float]] = {}
        on_disk = self._on_disk
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._writer_idle = True
                    self._cond.wait()
                self._writer_idle = False
                batches, self._pending = self._pending, []
                stopping = self._stopping
            for batch in batches:
                changed.update(batch.sessions)
                for session_id in batch.gone:
                    changed.pop(session_id, None)
                    fixed.pop(session_id, None)
                    # A session evicted before its first row was written is not on disk.
                    if session_id in on_disk:
                        on_disk.discard(session_id)
                        gone.add(session_id)
                prune = batch.prune or prune
                last_seq = batch.seq
            if changed or gone or prune:
                # Rows are read from the sessions now: the latest state of each. A change
                # under way on the loop meanwhile has its own batch coming.
                rows = [_row(session, fixed) for session in changed.values()]
                on_disk.update(changed)
                if self._commit(conn, rows, gone, prune, last_seq):
                    changed, gone, prune = {}, set(), None
            if stopping:
                break
        conn.close()

    def _commit(
        self,
        conn: sqlite3.Connection,
        rows: list[Row],
        gone: set[str],
        prune: tuple[float, int] | None,
        seq: int,
    ) -> bool:
        try:
            write_batch(conn, rows, list(gone), prune)
        except sqlite3.Error as exc:
            self._write_problem = _write_problem(self.path, exc)
            self._failed_seq = seq
            _log.error("session journal: %s", self._write_problem.message)
            self._call_loop(self._after_failure)
            return False
        self.commits += 1
        self.rows_written += len(rows)
        self._committed = seq
        recovered = self._write_problem is not None
        if recovered:
            self._write_problem = None
            self._call_loop(self._problem_changed)
        if self._waiting:
            self._call_loop(self._wake)
        return True

    def _after_failure(self) -> None:
        self._wake()
        self._problem_changed()

    def _call_loop(self, callback: Callable[[], None]) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(callback)


def _row(session: Session, fixed: dict[str, tuple[str | None, float]]) -> Row:
    known = fixed.get(session.session_id)
    if known is None:
        known = fixed[session.session_id] = (
            encode_json(session.request),
            session.created_at.timestamp(),
        )
    return row_of(session, *known)


def _created_at(session: Session) -> datetime:
    return session.created_at


def _reopen_fresh(
    path: Path, clock: Callable[[], datetime], synchronous: str
) -> tuple[sqlite3.Connection, JournalProblem | None]:
    """Move a file that failed on reading aside (as open_journal_file does) and start anew."""
    moved = move_aside(path, "journal_damaged", clock())
    conn, _ = open_journal_file(path, clock, synchronous=synchronous)
    problem = JournalProblem(
        "journal_damaged",
        words("journal_damaged", path, "rows could not be read", moved),
        str(moved) if moved else None,
    )
    return conn, problem


def _write_problem(path: Path, exc: sqlite3.Error) -> JournalProblem:
    text = str(exc).lower()
    if "full" in text:
        return JournalProblem(
            "disk_full",
            f"The disk holding the session journal {path} is full; sessions may not "
            "survive a restart until space is freed.",
        )
    return JournalProblem(
        "journal_unwritable",
        f"The session journal {path} could not be written ({exc}); sessions may not "
        "survive a restart until this is fixed.",
    )
