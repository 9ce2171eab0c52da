"""The ``copy`` transport: a mounted NAS path, copied and read back by this process.

Also the local-path checks the ``rsync`` transport uses for a local target:
the root is never created; missing, not mounted (with ``require_mount``) or
not writable means not reachable.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import time
from pathlib import Path

from tray_app import fileio
from tray_app.creation.sync.control import Control
from tray_app.creation.sync.manifest import Manifest, verify_tree
from tray_app.creation.sync.model import Code, SyncFailure
from tray_app.creation.sync.options import SyncOptions

__all__ = ["CopyTransport", "check_local_root", "errno_failure", "sync_filesystem"]

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


def sync_filesystem(path: Path) -> None:
    """Flush the filesystem holding ``path`` (one syncfs, not an fsync per file)."""
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


class CopyTransport:
    def __init__(self, root: Path, options: SyncOptions, control: Control, require_mount: bool):
        self.root = root
        self.options = options
        self.control = control
        self.require_mount = require_mount

    def probe(self, relative: str) -> bool:
        check_local_root(self.root, self.require_mount)
        return (self.root / relative).exists()

    def send(self, source: Path, relative: str, manifest: Manifest, fresh: bool) -> None:
        target = self.root / relative
        throttle = _Throttle(self.options.bwlimit_kib, self.control)
        skip = {f"{name}/" for name in manifest.excluded}
        try:
            target.mkdir(parents=True, exist_ok=True)
            for directory, dirnames, filenames in os.walk(source, followlinks=False):
                base = Path(directory)
                rel = base.relative_to(source)
                dirnames[:] = [d for d in dirnames if f"{(rel / d).as_posix()}/" not in skip]
                for name in dirnames:
                    (target / rel / name).mkdir(exist_ok=True)
                for name in filenames:
                    self.control.check()
                    src = base / name
                    if src.is_symlink() or not src.is_file():
                        continue
                    self._copy_file(src, target / rel / name, throttle, in_place=not fresh)
        except OSError as exc:
            raise errno_failure(exc, f"Copy to {target} failed") from exc

    def _copy_file(self, src: Path, dst: Path, throttle: _Throttle, *, in_place: bool) -> None:
        # In an existing target, each file appears whole: written beside, then renamed.
        tmp = dst.with_name(f".{dst.name}.exlab-tmp") if in_place else dst
        try:
            with src.open("rb") as reader, tmp.open("wb") as writer:
                while chunk := reader.read(_CHUNK):
                    writer.write(chunk)
                    throttle.sent(len(chunk))
            shutil.copystat(src, tmp)
            if in_place:
                os.replace(tmp, dst)
        except BaseException:
            if in_place:
                with contextlib.suppress(OSError):
                    tmp.unlink()
            raise

    def verify(self, source: Path, relative: str, manifest: Manifest) -> None:
        verify_tree(manifest, self.root / relative)

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
