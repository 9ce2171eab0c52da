"""The folder's SHA-256 manifest, ``.exlab-wizard/checksums.sha256``, and its check.

Written in ``sha256sum`` format (``<hex>  <path>``), so a lab's IT can run
``sha256sum -c`` on the NAS copy. It lists every regular file of the folder
except nested creations (each is synced by its own job), the manifest itself
and ``creation.json``, which changes as the sync status moves on.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from tray_app import fileio
from tray_app.creation.record import RECORD_DIR, RECORD_NAME
from tray_app.creation.sync.model import Code, SyncFailure

__all__ = [
    "MANIFEST_NAME",
    "MANIFEST_RELATIVE",
    "UNLISTED",
    "Manifest",
    "hash_file",
    "nested_creations",
    "verify_tree",
    "write_manifest",
]

MANIFEST_NAME = "checksums.sha256"
MANIFEST_RELATIVE = f"{RECORD_DIR}/{MANIFEST_NAME}"
#: Files the manifest never lists (relative to the folder).
UNLISTED = frozenset({MANIFEST_RELATIVE, f"{RECORD_DIR}/{RECORD_NAME}"})
_CHUNK = 1 << 20


@dataclass
class Manifest:
    """What the folder held when the copy began: ``{relative path: sha256 hex}``."""

    digests: dict[str, str] = field(default_factory=dict)
    total_bytes: int = 0
    #: Nested creations left out of the copy (relative folder paths).
    excluded: list[str] = field(default_factory=list)

    @property
    def file_count(self) -> int:
        return len(self.digests)

    def text(self) -> str:
        return "".join(f"{digest}  {name}\n" for name, digest in sorted(self.digests.items()))


def hash_file(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _walk(root: Path) -> tuple[list[tuple[str, Path]], list[str]]:
    """Regular files (relative name, path) and the nested creations left out."""
    files: list[tuple[str, Path]] = []
    excluded: list[str] = []
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(directory)
        keep = []
        for name in dirnames:
            sub = base / name
            if sub != root and (sub / RECORD_DIR).is_dir() and not sub.is_symlink():
                excluded.append(sub.relative_to(root).as_posix())
            else:
                keep.append(name)
        dirnames[:] = keep
        for name in filenames:
            path = base / name
            if path.is_file() and not path.is_symlink():
                files.append((path.relative_to(root).as_posix(), path))
    return files, sorted(excluded)


def nested_creations(root: Path) -> list[str]:
    return _walk(root)[1]


def write_manifest(source: Path) -> Manifest:
    """Hash the folder and write its manifest (atomically) before the copy."""
    if not source.is_dir():
        raise SyncFailure(
            Code.SOURCE_MISSING, f"The local folder {source} is gone.", transient=False
        )
    files, excluded = _walk(source)
    manifest = Manifest(excluded=excluded)
    for name, path in files:
        if name in UNLISTED:
            continue
        manifest.digests[name] = hash_file(path)
        manifest.total_bytes += path.stat().st_size
    fileio.atomic_write_text(source / MANIFEST_RELATIVE, manifest.text())
    return manifest


def verify_tree(manifest: Manifest, target: Path) -> None:
    """Read the copy back and compare it with the manifest; raises on any difference."""
    wrong: list[str] = []
    for name, digest in manifest.digests.items():
        try:
            if hash_file(target / name) != digest:
                wrong.append(f"{name} differs")
        except FileNotFoundError:
            wrong.append(f"{name} is missing")
        except OSError as exc:
            raise SyncFailure(Code.IO_ERROR, f"Could not read back {name}: {exc}") from exc
    if wrong:
        shown = "; ".join(wrong[:3]) + ("; ..." if len(wrong) > 3 else "")
        raise SyncFailure(
            Code.MISMATCH,
            f"The copy does not match the manifest ({len(wrong)} file(s): {shown}).",
        )
