"""A file-system error met while creating a folder, as a stable code and words.

A full disk or a refused permission is a failure an operator can act on, so it
gets its own code (``disk_full``, ``permission_denied``...), never
``internal_error``. The one place OSErrors of the pipeline are worded.
"""

from __future__ import annotations

import errno

__all__ = ["DISK_ERROR_CODES", "disk_error"]

_BY_ERRNO: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("disk_full", "The disk is full"),
    errno.EDQUOT: ("disk_full", "The disk quota is used up"),
    errno.EFBIG: ("disk_full", "A file grew larger than the disk allows"),
    errno.EACCES: ("permission_denied", "Permission was refused"),
    errno.EPERM: ("permission_denied", "Permission was refused"),
    errno.EROFS: ("read_only_disk", "The disk is read-only"),
    errno.ENAMETOOLONG: ("name_too_long", "A file name is too long for this disk"),
    errno.ENOENT: ("folder_missing", "A folder disappeared while it was being written"),
    errno.EIO: ("disk_error", "The disk reported an input/output error"),
}
DISK_ERROR_CODES = frozenset(code for code, _ in _BY_ERRNO.values()) | {"file_error"}


def disk_error(exc: OSError, doing: str) -> tuple[str, str]:
    """``(code, message)`` for ``exc``, met while ``doing`` (e.g. "writing the README")."""
    code, words = _BY_ERRNO.get(exc.errno or 0, ("file_error", "A file could not be written"))
    where = f" ({exc.filename})" if exc.filename else ""
    detail = f": {exc.strerror}" if exc.strerror and code == "file_error" else ""
    return code, f"{words} while {doing}{where}{detail}."
