"""The ``copy`` transport: a mounted NAS path, copied and read back by this process.

Also the local-path checks the ``rsync`` transport uses for a local target:
the root is never created; missing, not mounted (with ``require_mount``) or
not writable means not reachable.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import shutil
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from tray_app import fileio
from tray_app.creation.sync.control import Control
from tray_app.creation.sync.manifest import (
    MANIFEST_RELATIVE,
    UNLISTED,
    Manifest,
    changed_files,
    compare_file,
    compare_tree,
    mismatch,
    save_manifest,
    walk_folder,
)
from tray_app.creation.sync.model import Code, SyncFailure
from tray_app.creation.sync.options import SyncOptions

__all__ = [
    "CopyTransport",
    "check_local_root",
    "errno_failure",
    "filesystem_type",
    "sync_filesystem",
]

_CHUNK = 1 << 20


def check_local_root(root: Path, require_mount: bool) -> None:
    """Raise ``not reachable`` unless ``root`` is there, mounted if required, and writable."""
    if not root.is_dir():
        raise SyncFailure(Code.NOT_REACHABLE, f"The NAS folder {root} is not there (not mounted?).")
    if require_mount and _mount_point(root) == Path("/"):
        raise SyncFailure(Code.NOT_REACHABLE, f"The NAS is not mounted at {root}.")
    if not os.access(root, os.W_OK):
        if os.statvfs(root).f_flag & os.ST_RDONLY:
            raise SyncFailure(Code.READ_ONLY, f"The NAS folder {root} is read-only.")
        raise SyncFailure(Code.NOT_REACHABLE, f"The NAS folder {root} is not writable.")


def _mount_point(path: Path) -> Path:
    path = path.resolve()
    while not os.path.ismount(path):
        path = path.parent
    return path


def errno_failure(exc: OSError, what: str) -> SyncFailure:
    """Word an OSError of the copy; all are passing (the NAS may come back)."""
    import errno

    code = {
        errno.EROFS: Code.READ_ONLY,
        errno.ENOSPC: Code.NO_SPACE,
        errno.EDQUOT: Code.NO_SPACE,
        errno.EIO: Code.IO_ERROR,
        errno.ETIMEDOUT: Code.TIMEOUT,
        errno.ECONNREFUSED: Code.CONNECTION_REFUSED,
    }.get(exc.errno or 0, Code.NOT_REACHABLE)
    return SyncFailure(code, f"{what}: {exc.strerror or exc}")


#: Network filesystems whose client sends a file's data to the server when it is closed
#: (NFS close-to-open: WRITE and COMMIT before close returns; SMB: written back on close).
_FLUSHED_ON_CLOSE = frozenset({"nfs", "nfs4", "cifs", "smb3", "smbfs"})


def filesystem_type(path: Path) -> str | None:
    """The type of the filesystem holding ``path`` (``/proc/self/mountinfo``), if known."""
    try:
        lines = Path("/proc/self/mountinfo").read_text(errors="replace").splitlines()
        where = os.path.realpath(path)
    except OSError:
        return None
    best, kind = "", None
    for line in lines:
        fields, _, rest = line.partition(" - ")
        parts = fields.split()
        if len(parts) < 5 or not rest:
            continue
        point = parts[4].replace("\\040", " ")
        inside = where == point or where.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):  # the last of equal ones is on top
            best, kind = point, rest.split()[0]
    return kind


def sync_filesystem(path: Path) -> None:
    """Flush the filesystem holding ``path`` (one syncfs, not an fsync per file).

    Not on NFS or SMB: each file's data reached the server when it was closed, and a
    syncfs there only waits on the server again.
    """
    if filesystem_type(path) in _FLUSHED_ON_CLOSE:
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(path, os.O_RDONLY)
    except (OSError, AttributeError):
        return
    try:
        if libc.syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise SyncFailure(Code.IO_ERROR, f"Could not flush the NAS: {os.strerror(err)}")
    finally:
        os.close(fd)


class _Throttle:
    """Keeps one copy under ``kib`` KiB/s by pausing between chunks."""

    def __init__(self, kib: int | None, control: Control) -> None:
        self._rate = kib * 1024 if kib else None
        self._control = control
        self._start = time.monotonic()
        self._sent = 0

    def sent(self, count: int) -> None:
        if self._rate is None:
            return
        self._sent += count
        ahead = self._sent / self._rate - (time.monotonic() - self._start)
        if ahead > 0 and self._control.cancelled.wait(ahead):
            self._control.check()


class _ReadBack:
    """Compares each copied file with its original (read back) in a thread while the
    next one copies."""

    def __init__(self, source: Path, target: Path) -> None:
        self._source, self._target = source, target
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="exlab-sync-readback")
        self._checks: list[Future[str | None]] = []

    def check(self, name: str) -> None:
        self._checks.append(self._pool.submit(compare_file, self._source, self._target, name))

    def result(self) -> list[str]:
        """What did not match (waits for the checks still running)."""
        try:
            return [why for check in self._checks if (why := check.result()) is not None]
        finally:
            self._pool.shutdown()

    def abandon(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class CopyTransport:
    def __init__(self, root: Path, options: SyncOptions, control: Control, require_mount: bool):
        self.root = root
        self.options = options
        self.control = control
        self.require_mount = require_mount
        #: The manifest whose files send() has read back already, and what differed.
        self._read_back: tuple[Manifest, list[str]] | None = None

    def probe(self, relative: str) -> bool:
        check_local_root(self.root, self.require_mount)
        return (self.root / relative).exists()

    def send(self, source: Path, relative: str, fresh: bool) -> Manifest:
        """Copy the folder, hashing each file as it is read (one read of the source for
        the copy and the manifest), and read each copy back while the next one copies."""
        target = self.root / relative
        throttle = _Throttle(self.options.bwlimit_kib, self.control)
        folder = walk_folder(source)
        manifest = Manifest(excluded=folder.excluded)
        buffer = memoryview(bytearray(_CHUNK))
        read_back = _ReadBack(source, target)
        try:
            target.mkdir(parents=True, exist_ok=True)
            for name in folder.dirs:
                (target / name).mkdir(exist_ok=True)
            for name, src in folder.files:
                self.control.check()
                if name == MANIFEST_RELATIVE:
                    continue  # written anew below, for what this copy read
                stat = src.stat()
                digest = self._copy_file(src, target / name, throttle, buffer, in_place=not fresh)
                if name not in UNLISTED:
                    manifest.add(name, digest, stat)
                    read_back.check(name)
            save_manifest(source, manifest)
            fileio.atomic_write_text(target / MANIFEST_RELATIVE, manifest.text())
            self._read_back = (manifest, read_back.result())
        except OSError as exc:
            read_back.abandon()
            raise errno_failure(exc, f"Copy to {target} failed") from exc
        except BaseException:
            read_back.abandon()
            raise
        return manifest

    def _copy_file(
        self, src: Path, dst: Path, throttle: _Throttle, buffer: memoryview, *, in_place: bool
    ) -> str:
        """Copy one file; returns the SHA-256 of the bytes written."""
        # In an existing target, each file appears whole: written beside, then renamed.
        tmp = dst.with_name(f".{dst.name}.exlab-tmp") if in_place else dst
        digest = hashlib.sha256()
        try:
            with src.open("rb", buffering=0) as reader, tmp.open("wb", buffering=0) as writer:
                while count := reader.readinto(buffer):
                    chunk = buffer[:count]
                    digest.update(chunk)  # lets go of the GIL: the read-back hashes meanwhile
                    while chunk:
                        chunk = chunk[writer.write(chunk) :]
                    throttle.sent(count)
            shutil.copystat(src, tmp)
            if in_place:
                os.replace(tmp, dst)
        except BaseException:
            if in_place:
                with contextlib.suppress(OSError):
                    tmp.unlink()
            raise
        return digest.hexdigest()

    def verify(self, source: Path, relative: str, manifest: Manifest) -> None:
        """The copy against the original: send() read this manifest's files back as it
        went (each compared with its original, whose hash is the manifest's); any other
        manifest is checked by reading the whole copy back now."""
        if self._read_back is not None and self._read_back[0] is manifest:
            wrong = self._read_back[1]
            wrong += [
                f"{name} changed while it was copied" for name in changed_files(manifest, source)
            ]
            if wrong:
                raise mismatch(wrong)
            return
        compare_tree(manifest, source, self.root / relative)

    def put_record(self, relative: str, record_relative: str, data: bytes) -> None:
        try:
            fileio.atomic_write_bytes(self.root / relative / record_relative, data)
        except OSError as exc:
            raise errno_failure(exc, "Could not write the record on the NAS") from exc

    def rename(self, partial: str, relative: str) -> None:
        try:
            os.rename(self.root / partial, self.root / relative)
        except OSError as exc:
            raise errno_failure(exc, "Could not move the copy into place") from exc

    def flush(self, relative: str) -> None:
        sync_filesystem(self.root / relative)
