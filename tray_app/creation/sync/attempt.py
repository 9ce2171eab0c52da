"""One attempt at one job, in a worker thread: probe, copy (and manifest), verify, move into place.

A fresh target is copied under a hidden partial name beside it, verified
there, given its final record, and only then renamed: the NAS never shows a
half-copied folder under the real name. An attempt stopped half way leaves
only the partial folder, which the next attempt continues.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Protocol

from tray_app.creation.record import RECORD_DIR, RECORD_NAME
from tray_app.creation.sync.control import Control
from tray_app.creation.sync.manifest import Manifest
from tray_app.creation.sync.model import Code, SyncFailure, SyncJob, Transport
from tray_app.creation.sync.options import SyncOptions
from tray_app.creation.sync.transport_copy import CopyTransport
from tray_app.creation.sync.transport_rclone import RcloneTransport
from tray_app.creation.sync.transport_rsync import RsyncTransport

__all__ = ["TransportImpl", "make_transport", "partial_relative", "probe", "transfer"]


class TransportImpl(Protocol):
    def probe(self, relative: str) -> bool: ...
    def send(self, source: Path, relative: str, fresh: bool) -> Manifest: ...
    def verify(self, source: Path, relative: str, manifest: Manifest) -> None: ...
    def put_record(self, relative: str, record_relative: str, data: bytes) -> None: ...
    def rename(self, partial: str, relative: str) -> None: ...
    def flush(self, relative: str) -> None: ...


def make_transport(job: SyncJob, options: SyncOptions, control: Control) -> TransportImpl:
    if job.transport is Transport.COPY:
        return CopyTransport(Path(job.root), options, control, job.require_mount)
    if job.transport is Transport.RSYNC:
        return RsyncTransport(job.root, options, control, job.require_mount)
    return RcloneTransport(job.root, options, control, job.require_mount)


def partial_relative(job: SyncJob) -> str:
    path = PurePosixPath(job.relative)
    return str(path.with_name(f".{path.name}.exlab-partial-{job.id}"))


def probe(job: SyncJob, options: SyncOptions, control: Control) -> bool:
    """Raise unless the target root is reachable; True when the target already exists."""
    if not Path(job.source).is_dir():
        raise SyncFailure(
            Code.SOURCE_MISSING, f"The local folder {job.source} is gone.", transient=False
        )
    return make_transport(job, options, control).probe(job.relative)


def transfer(
    job: SyncJob,
    exists: bool,
    options: SyncOptions,
    control: Control,
    final_record: Callable[[Manifest], bytes | None],
) -> Manifest:
    """Copy and verify; returns the manifest that the copy was checked against."""
    transport = make_transport(job, options, control)
    source = Path(job.source)
    where = job.relative if exists else partial_relative(job)
    # The transport hashes the folder as it copies it (or beside its program), writes
    # the manifest into the folder and onto the target, and says what it read.
    manifest = transport.send(source, where, fresh=not exists)
    control.check()
    transport.verify(source, where, manifest)
    record = final_record(manifest)
    if record is not None:
        transport.put_record(where, f"{RECORD_DIR}/{RECORD_NAME}", record)
    if not exists:
        transport.rename(where, job.relative)
    transport.flush(job.relative)
    return manifest
