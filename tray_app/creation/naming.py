"""Naming rules for what lands on disk: project names, run folder names, plugin outputs.

Names must be safe as one path segment on every OS the lab uses and survive
a copy to the NAS (SMB): no separators, no reserved device names, no
characters Windows refuses, no trailing dot or space.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from tray_app.i18n import _

__all__ = [
    "PROJECT_NAME_MAX",
    "find_unsafe_entries",
    "project_name_problem",
    "run_folder_name",
    "segment_problem",
]

PROJECT_NAME_MAX = 80
SEGMENT_MAX_BYTES = 255

_WINDOWS_FORBIDDEN = frozenset('<>:"/\\|?*')
_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"COM{i}" for i in range(1, 10)}
    | {f"LPT{i}" for i in range(1, 10)}
)
# Beyond letters and digits, a project name may only use these: they read well
# in a folder listing and need no quoting in a shell.
_PROJECT_PUNCTUATION = frozenset(" ._-()+,")


def segment_problem(name: str) -> str | None:
    """Why ``name`` is unsafe as one file or folder name, or None when it is fine."""
    if not name or name in {".", ".."}:
        return _("is empty or a relative reference")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        return _("contains a control character")
    bad = sorted({ch for ch in name if ch in _WINDOWS_FORBIDDEN})
    if bad:
        return _("contains {characters}").format(characters=" ".join(bad))
    if name[-1] in " .":
        return _("ends with a space or a dot")
    if name.split(".", 1)[0].rstrip().upper() in _RESERVED:
        return _("is a reserved device name on Windows")
    if len(name.encode("utf-8")) > SEGMENT_MAX_BYTES:
        return _("is longer than {limit} bytes").format(limit=SEGMENT_MAX_BYTES)
    return None


def project_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a project folder name, or None.

    Stricter than :func:`segment_problem`: starts with a letter or digit and
    uses only letters, digits and `` ._-()+,``.
    """
    if not name or not name.strip():
        return _("must not be empty")
    if len(name) > PROJECT_NAME_MAX:
        return _("must be at most {limit} characters").format(limit=PROJECT_NAME_MAX)
    problem = segment_problem(name)
    if problem:
        return problem
    if not name[0].isalnum():
        return _("must start with a letter or a digit")
    odd = sorted({ch for ch in name if not ch.isalnum() and ch not in _PROJECT_PUNCTUATION})
    if odd:
        return _(
            "may only use letters, digits, spaces and . _ - ( ) + , (not {characters})"
        ).format(characters=" ".join(odd))
    return None


def run_folder_name(prefix: str, moment: datetime, attempt: int = 1) -> str:
    """``Run_2026-11-28T09-15-02`` in local time; ``_2``, ``_3``... on a collision."""
    stamp = moment.astimezone().strftime("%Y-%m-%dT%H-%M-%S")
    return f"{prefix}_{stamp}" if attempt <= 1 else f"{prefix}_{stamp}_{attempt}"


def find_unsafe_entries(root: Path) -> list[str]:
    """Hard findings under ``root``: unsafe names and links (which may lead outside).

    Each finding is ``"<relative path>: <why>"``. Walks without following links.
    """
    findings: list[str] = []
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(directory)
        for name in [*dirnames, *filenames]:
            entry = base / name
            relative = entry.relative_to(root).as_posix()
            if entry.is_symlink():
                findings.append(_("{path}: is a symbolic link").format(path=relative))
                continue
            problem = segment_problem(name)
            if problem:
                findings.append(_("{path}: name {problem}").format(path=relative, problem=problem))
    findings.sort()
    return findings
