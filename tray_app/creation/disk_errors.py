"""A file-system error met while creating a folder, as a stable code and words.

A full disk or a refused permission is a failure an operator can act on, so it
gets its own code (``disk_full``, ``permission_denied``...), never
``internal_error``. The one place OSErrors of the pipeline are worded.
"""

from __future__ import annotations

import errno

from tray_app.creation import errors as codes
from tray_app.i18n import N_, _

__all__ = ["disk_error"]

#: Marked here, translated in disk_error (built at import, before the language is chosen).
_BY_ERRNO: dict[int, tuple[str, str]] = {
    errno.ENOSPC: (codes.DISK_FULL, N_("The disk is full")),
    errno.EDQUOT: (codes.DISK_FULL, N_("The disk quota is used up")),
    errno.EFBIG: (codes.DISK_FULL, N_("A file grew larger than the disk allows")),
    errno.EACCES: (codes.PERMISSION_DENIED, N_("Permission was refused")),
    errno.EPERM: (codes.PERMISSION_DENIED, N_("Permission was refused")),
    errno.EROFS: (codes.READ_ONLY_DISK, N_("The disk is read-only")),
    errno.ENAMETOOLONG: (codes.NAME_TOO_LONG, N_("A file name is too long for this disk")),
    errno.ENOENT: (codes.FOLDER_MISSING, N_("A folder disappeared while it was being written")),
    errno.EIO: (codes.DISK_ERROR, N_("The disk reported an input/output error")),
}


def disk_error(exc: OSError, doing: str) -> tuple[str, str]:
    """``(code, message)`` for ``exc``, met while ``doing`` (e.g. "writing the README",
    in words already: the caller translates it)."""
    code, words = _BY_ERRNO.get(exc.errno or 0, (codes.FILE_ERROR, _NOT_WRITTEN))
    where = f" ({exc.filename})" if exc.filename else ""
    detail = f": {exc.strerror}" if exc.strerror and code == codes.FILE_ERROR else ""
    # Translators: {doing} is one of the "while ..." phrases (e.g. "rendering the template").
    message = _("{problem} while {doing}{where}{detail}.")
    return code, message.format(problem=_(words), doing=doing, where=where, detail=detail)


_NOT_WRITTEN = N_("A file could not be written")
