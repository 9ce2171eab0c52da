"""A file-system error met while creating a folder, as a stable code and words.

A full disk or a refused permission is a failure an operator can act on, so it
gets its own code (``disk_full``, ``permission_denied``...), never
``internal_error``. The one place OSErrors of the pipeline are worded.
"""

from __future__ import annotations

import errno

from tray_app.creation import errors as codes

__all__ = ["DISK_ERROR_CODES", "disk_error"]

_BY_ERRNO: dict[int, tuple[str, str]] = {
    errno.ENOSPC: (codes.DISK_FULL, "The disk is full"),
    errno.EDQUOT: (codes.DISK_FULL, "The disk quota is used up"),
    errno.EFBIG: (codes.DISK_FULL, "A file grew larger than the disk allows"),
    errno.EACCES: (codes.PERMISSION_DENIED, "Permission was refused"),
    errno.EPERM: (codes.PERMISSION_DENIED, "Permission was refused"),
    errno.EROFS: (codes.READ_ONLY_DISK, "The disk is read-only"),
    errno.ENAMETOOLONG: (codes.NAME_TOO_LONG, "A file name is too long for this disk"),
    errno.ENOENT: (codes.FOLDER_MISSING, "A folder disappeared while it was being written"),
    errno.EIO: (codes.DISK_ERROR, "The disk reported an input/output error"),
}
DISK_ERROR_CODES = frozenset(code for code, _ in _BY_ERRNO.values()) | {codes.FILE_ERROR}


def disk_error(exc: OSError, doing: str) -> tuple[str, str]:
    """``(code, message)`` for ``exc``, met while ``doing`` (e.g. "writing the README")."""
    code, words = _BY_ERRNO.get(exc.errno or 0, (codes.FILE_ERROR, "A file could not be written"))
    where = f" ({exc.filename})" if exc.filename else ""
    detail = f": {exc.strerror}" if exc.strerror and code == codes.FILE_ERROR else ""
    return code, f"{words} while {doing}{where}{detail}."
