"""The folder's SHA-256 manifest, ``.exlab-wizard/checksums.sha256``, and its check.

Written in ``sha256sum`` format (``<hex>  <path>``), so a lab's IT can run
``sha256sum -c`` on the NAS copy. It lists every regular file of the folder
except nested creations (each is synced by its own job), the manifest itself
and ``creation.json``, which changes as the sync status moves on.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tray_app import fileio
from tray_app.creation.record import RECORD_DIR, RECORD_NAME
from tray_app.creation.sync.model import Code, SyncFailure

__all__ = [
    "MANIFEST_NAME",
    "MANIFEST_RELATIVE",
    "UNLISTED",
    "Folder",
    "Manifest",
    "changed_files",
    "hash_file",
    "hash_folder",
    "mismatch",
    "nested_creations",
    "raise_if_wrong",
    "save_manifest",
    "walk_folder",
    "write_manifest",
]

MANIFEST_NAME = "checksums.sha256"
MANIFEST_RELATIVE = f"{RECORD_DIR}/{MANIFEST_NAME}"
#: Files the manifest never lists (relative to the folder).
UNLISTED = frozenset({MANIFEST_RELATIVE, f"{RECORD_DIR}/{RECORD_NAME}"})


@dataclass
class Manifest:
    """What the folder held when the copy began: ``{relative path: sha256 hex}``."""

    digests: dict[str, str] = field(default_factory=dict)
    total_bytes: int = 0
    #: Nested creations left out of the copy (relative folder paths).
    excluded: list[str] = field(default_factory=list)
    #: Each listed file's (size, mtime_ns) when it was hashed: a later change shows.
    stamps: dict[str, tuple[int, int]] = field(default_factory=dict)

    def add(self, name: str, digest: str, stat: os.stat_result) -> None:
        self.digests[name] = digest
        self.stamps[name] = (stat.st_size, stat.st_mtime_ns)
        self.total_bytes += stat.st_size

    @property
    def file_count(self) -> int:
        return len(self.digests)

    def text(self) -> str:
        return "".join(f"{digest}  {name}\n" for name, digest in sorted(self.digests.items()))


def hash_file(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


@dataclass
class Folder:
    """What a copy of the folder takes: its directories and regular files (relative,
    "/"-separated, parents first), and the nested creations it leaves out."""

    dirs: list[str] = field(default_factory=list)
    files: list[tuple[str, Path]] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)


def walk_folder(root: Path) -> Folder:
    """The folder as a copy sees it: no links followed, nested creations left out."""
    folder = Folder()
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(directory)
        keep = []
        for name in dirnames:
            sub = base / name
            relative = sub.relative_to(root).as_posix()
            if (sub / RECORD_DIR).is_dir() and not sub.is_symlink():
                folder.excluded.append(relative)
            else:
                keep.append(name)
                if not sub.is_symlink():
                    folder.dirs.append(relative)
        dirnames[:] = keep
        for name in filenames:
            path = base / name
            if path.is_file() and not path.is_symlink():
                folder.files.append((path.relative_to(root).as_posix(), path))
    folder.excluded.sort()
    return folder


def nested_creations(root: Path) -> list[str]:
    return walk_folder(root).excluded


def hash_folder(source: Path, between: Callable[[], None] | None = None) -> Manifest:
    """Hash the folder's files (the manifest, not yet written); ``between`` is called
    before each file and may raise to stop."""
    if not source.is_dir():
        raise SyncFailure(
            Code.SOURCE_MISSING, f"The local folder {source} is gone.", transient=False
        )
    folder = walk_folder(source)
    manifest = Manifest(excluded=folder.excluded)
    for name, path in folder.files:
        if name in UNLISTED:
            continue
        if between is not None:
            between()
        stat = path.stat()  # before the read: a change during it shows afterwards
        manifest.add(name, hash_file(path), stat)
    return manifest


def save_manifest(source: Path, manifest: Manifest) -> str:
    """Write ``.exlab-wizard/checksums.sha256`` into the folder (atomically); returns its
    text (for the copy on the target)."""
    text = manifest.text()
    fileio.atomic_write_text(source / MANIFEST_RELATIVE, text)
    return text


def write_manifest(source: Path) -> Manifest:
    """Hash the folder and write its manifest (atomically)."""
    manifest = hash_folder(source)
    save_manifest(source, manifest)
    return manifest


def mismatch(wrong: list[str]) -> SyncFailure:
    shown = "; ".join(wrong[:3]) + ("; ..." if len(wrong) > 3 else "")
    return SyncFailure(
        Code.MISMATCH, f"The copy does not match the original ({len(wrong)} file(s): {shown})."
    )


def raise_if_wrong(manifest: Manifest, source: Path, wrong: list[str] | None = None) -> None:
    """Raise a mismatch for the ``wrong`` files found by a check and for each file that
    changed since it was hashed (the manifest would not describe the copy)."""
    wrong = list(wrong or [])
    wrong += [f"{name} changed while it was copied" for name in changed_files(manifest, source)]
    if wrong:
        raise mismatch(wrong)


def changed_files(manifest: Manifest, source: Path) -> list[str]:
    """Files whose size or modification time moved since they were hashed."""
    changed = []
    for name, stamp in manifest.stamps.items():
        try:
            stat = (source / name).stat()
        except OSError:
            changed.append(name)
            continue
        if (stat.st_size, stat.st_mtime_ns) != stamp:
            changed.append(name)
    return changed
