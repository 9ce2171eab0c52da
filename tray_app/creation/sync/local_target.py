"""A NAS target that is a path on this computer (a mounted share, a USB disk, a folder).

Every transport writing to such a path (``copy``, and ``rsync`` or ``rclone`` with a
local root) probes it, puts the manifest and the record there, moves the copy into
place and flushes it the same way, here. The root is never created: missing, not
mounted (with ``require_mount``) or not writable means not reachable.
"""

from __future__ import annotations

import ctypes
import errno
import os
from pathlib import Path

from tray_app import fileio
from tray_app.creation.sync.model import Code, SyncFailure

__all__ = ["LocalTarget", "check_local_root", "errno_failure", "filesystem_type", "sync_filesystem"]


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


class LocalTarget:
    """The file operations of a sync to a local path ``root``, worded as sync failures."""

    def __init__(self, root: Path, require_mount: bool) -> None:
        self.root = root
        self.require_mount = require_mount

    def probe(self, relative: str) -> bool:
        """Raise unless the root is reachable; True when the target already exists."""
        check_local_root(self.root, self.require_mount)
        return (self.root / relative).exists()

    def put(self, relative: str, data: bytes) -> None:
        """Write one file of the target whole (temp, fsync, rename)."""
        try:
            fileio.atomic_write_bytes(self.root / relative, data)
        except OSError as exc:
            raise errno_failure(exc, f"Could not write {relative} on the NAS") from exc

    def rename(self, partial: str, relative: str) -> None:
        try:
            os.rename(self.root / partial, self.root / relative)
        except OSError as exc:
            raise errno_failure(exc, "Could not move the copy into place") from exc

    def flush(self, relative: str) -> None:
        sync_filesystem(self.root / relative)
