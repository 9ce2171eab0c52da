"""Reading a copy back on a local or mounted target: each file compared with its original.

The copy is read back and compared byte for byte with the local file (memcmp, not
a second hash). The ``copy`` transport also hashes the same buffers for the
manifest, so the folder is hashed while it is checked and never read a third
time. Once a file is checked, its writeback to the target's disk is started
(``POSIX_FADV_DONTNEED``: write the dirty pages out now, and drop the clean ones,
which nothing reads again): the flush at the end of the sync then waits for the
last files only, not for the whole folder, and the copy does not push the
workstation's own files out of the page cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tray_app.creation.sync.local_target import LocalTarget
from tray_app.creation.sync.manifest import (
    MANIFEST_RELATIVE,
    UNLISTED,
    Folder,
    Manifest,
    raise_if_wrong,
    save_manifest,
)
from tray_app.creation.sync.model import Code, SyncFailure

__all__ = [
    "Checked",
    "CheckedCopy",
    "ReadBack",
    "compare_file",
    "compare_tree",
    "listed_files",
    "put_manifest",
    "verify_local",
]

_CHUNK = 1 << 20

#: Two read buffers per checking thread, reused: a fresh megabyte per read costs more in
#: page faults than the comparison itself.
_buffers = threading.local()


def _pair() -> tuple[bytearray, bytearray]:
    pair: tuple[bytearray, bytearray] | None = getattr(_buffers, "pair", None)
    if pair is None:
        pair = _buffers.pair = (bytearray(_CHUNK), bytearray(_CHUNK))
    return pair


@dataclass(frozen=True, slots=True)
class Checked:
    """One file read back: why it is not the original (None: it is), and the SHA-256 of
    its bytes when they were hashed."""

    name: str
    wrong: str | None
    digest: str | None = None


def compare_file(
    source: Path,
    target: Path,
    name: str,
    *,
    hashed: bool = False,
    written: Callable[[int], None] | None = None,
    stop: threading.Event | None = None,
) -> Checked:
    """Read the copy of ``name`` back and compare it with the local file; with ``hashed``
    the bytes (the same in both, when they match) are hashed as they are compared.
    ``written`` gets the copy's descriptor once it is read, to start its writeback
    (by default here and now). A set ``stop`` ends it between two chunks (Quit does
    not wait for a file of many gigabytes to be read to its end)."""
    theirs, ours = _pair()
    digest = hashlib.sha256() if hashed else None
    try:
        with (
            (target / name).open("rb", buffering=0) as copy,
            (source / name).open("rb", buffering=0) as original,
        ):
            try:
                while True:
                    got = copy.readinto(theirs)
                    have = original.readinto(ours)
                    if got != have:
                        return Checked(name, f"{name} differs")
                    full = have == _CHUNK
                    # bytearray == bytearray is one memcmp; a short last read compares slices.
                    if not (theirs == ours if full else theirs[:have] == ours[:have]):
                        return Checked(name, f"{name} differs")
                    if digest is not None:  # lets go of the GIL: the next file copies meanwhile
                        digest.update(ours if full else memoryview(ours)[:have])
                    if not full:
                        break
                    if stop is not None and stop.is_set():
                        raise SyncFailure(Code.INTERRUPTED, "The check was stopped.")
            finally:
                (written or _start_writeback)(copy.fileno())
    except FileNotFoundError:
        return Checked(name, f"{name} is missing")
    except OSError as exc:
        raise SyncFailure(Code.IO_ERROR, f"Could not read back {name}: {exc}") from exc
    return Checked(name, None, digest.hexdigest() if digest is not None else None)


def _start_writeback(fd: int) -> None:
    """Start writing ``fd``'s dirty pages to its disk; returns once they are queued (which
    takes as long as the disk needs to make room in its queue)."""
    # Only advice: a filesystem that takes none is flushed at the end all the same.
    with contextlib.suppress(OSError):
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)


def _write_back_and_close(fd: int) -> None:
    try:
        _start_writeback(fd)
    finally:
        os.close(fd)


class ReadBack:
    """Reads the copied files back in ``workers`` threads while the copy goes on: each
    compared with its original and hashed for the manifest from the same bytes.

    ``listed`` is what the manifest will list, each file's stat taken before it was
    copied (a change since shows). Files are checked as they are said to be copied;
    :meth:`finish` checks the rest once the copy is over.
    """

    def __init__(
        self,
        source: Path,
        target: Path,
        listed: dict[str, os.stat_result],
        *,
        stop: threading.Event | None = None,
        workers: int = 2,
    ) -> None:
        self._source, self._target, self._listed = source, target, listed
        self._stop = stop
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="exlab-sync-readback")
        # Starting the writeback waits on a busy disk: in a thread of its own, so the
        # hashing goes on meanwhile and the disk writes while the copy goes on.
        self._writeback = ThreadPoolExecutor(1, thread_name_prefix="exlab-sync-writeback")
        self._checks: dict[str, Future[Checked]] = {}

    def listed(self, name: str) -> bool:
        return name in self._listed

    def check(self, name: str) -> None:
        """``name`` is copied, whole, under its own name: read it back (once)."""
        if name in self._listed and name not in self._checks:
            self._checks[name] = self._pool.submit(self._compare, name)

    def _compare(self, name: str) -> Checked:
        return compare_file(self._source, self._target, name, hashed=True, written=self._write_back)

    def _write_back(self, fd: int) -> None:
        self._writeback.submit(_write_back_and_close, os.dup(fd))

    def finish(self, excluded: list[str], *, again_if_wrong: bool = False) -> CheckedCopy:
        """Check what was not checked yet, wait for every check, and make the manifest.

        ``again_if_wrong``: a file found wrong while the copy went on is read back once
        more (its program may have replaced it since, as rsync does an older copy).
        """
        try:
            for name in self._listed:
                self.check(name)
            checked = {name: check.result() for name, check in self._checks.items()}
            if again_if_wrong:
                redo = [name for name, check in checked.items() if check.wrong is not None]
                checked.update(zip(redo, self._pool.map(self._compare, redo), strict=True))
        finally:
            self.abandon()
        manifest = Manifest(excluded=excluded)
        wrong = []
        for name, stat in self._listed.items():
            check = checked[name]
            if check.wrong is not None or check.digest is None:
                wrong.append(check.wrong or f"{name} differs")
            else:
                manifest.add(name, check.digest, stat)
        return CheckedCopy(manifest, wrong)

    def abandon(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._writeback.shutdown(wait=True)  # each descriptor it holds is closed


class Following:
    """Reads files back as a copying program names them, so the check (and the hashing,
    and the writeback) run while the program copies instead of after it.

    rsync names a file once it has sent it; its copy takes the real name a moment
    later (written beside, then renamed), so a named file is read back once it exists
    under its name (``wait_for_name``), and the files after it wait their turn. rclone
    names a file once its copy is complete. A file the program never names is read back
    by :meth:`ReadBack.finish`.
    """

    def __init__(self, read_back: ReadBack, target: Path, *, wait_for_name: bool) -> None:
        self._read_back, self._target, self._wait = read_back, target, wait_for_name
        self._pending: deque[str] = deque()

    def copied(self, name: str) -> None:
        if not self._read_back.listed(name):
            return
        self._pending.append(name)
        while self._pending and (not self._wait or (self._target / self._pending[0]).exists()):
            self._read_back.check(self._pending.popleft())


@dataclass
class CheckedCopy:
    """A copy read back as it was made: its manifest and what did not match."""

    manifest: Manifest
    wrong: list[str]

    def verify(self, source: Path) -> None:
        """Raise unless every file matched and none changed since it was hashed."""
        raise_if_wrong(self.manifest, source, self.wrong)


def listed_files(folder: Folder) -> dict[str, os.stat_result]:
    """What the manifest lists of ``folder``, each with its stat now (before the copy)."""
    return {name: path.stat() for name, path in folder.files if name not in UNLISTED}


def compare_tree(manifest: Manifest, source: Path, target: Path, *, workers: int = 2) -> None:
    """Read the copy of every listed file back and compare it with the original; raises
    on any difference, or when a file changed after it was hashed (its manifest line
    would not match the copy).

    The manifest's hashes are of the very bytes the copy holds: the copy transport
    hashes what it checks, rsync and rclone copy what is compared here, and a file
    that changed since its hash fails. ``workers`` threads read at once.
    """
    names = list(manifest.digests)
    if workers <= 1 or len(names) < 2:
        found = [compare_file(source, target, name) for name in names]
    else:
        with ThreadPoolExecutor(workers, thread_name_prefix="exlab-sync-check") as pool:
            found = list(pool.map(lambda name: compare_file(source, target, name), names))
    raise_if_wrong(manifest, source, [check.wrong for check in found if check.wrong is not None])


def verify_local(
    checked: CheckedCopy | None, manifest: Manifest, source: Path, target: Path
) -> None:
    """A local target's copy against ``manifest``: by what was read back during the copy
    when that made ``manifest``, else by reading the whole copy back now."""
    if checked is not None and checked.manifest is manifest:
        checked.verify(source)
    else:
        compare_tree(manifest, source, target)


def put_manifest(source: Path, manifest: Manifest, target: LocalTarget, relative: str) -> None:
    """Write the manifest into the folder and onto a local target."""
    try:
        text = save_manifest(source, manifest)
    except OSError as exc:
        raise SyncFailure(Code.IO_ERROR, f"Could not write the manifest: {exc}") from exc
    target.put(f"{relative}/{MANIFEST_RELATIVE}", text.encode())
