"""Helpers for the NAS sync tests: creation-like folders, checks of a NAS copy, mounts."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tray_app.creation.record import (
    CreationRecord,
    PathsRecord,
    TemplateRecord,
    read_record,
    write_record,
)
from tray_app.creation.sync import JobStatus, SyncJob, SyncPlan, SyncQueue, Transport

IS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="mounting and sshd logins need root (CI is)")
#: ``make_queue(options=None, **SyncQueue keywords)``: an opened queue (conftest).
QueueFactory = Callable[..., Awaitable[SyncQueue]]


def make_folder(local_root: Path, relative: str, files: dict[str, bytes]) -> Path:
    """A finished creation: its files and a real ``creation.json`` saying ``queued``."""
    folder = local_root / relative
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    record = CreationRecord(
        session_id=f"s-{folder.name}",
        kind="run",
        request={"kind": "run"},
        template=TemplateRecord(name="t", version="1", kind="run", path="/t"),
        variables={},
        answers={},
        plugins=[],
        paths=PathsRecord(
            destination=str(folder), local_root=str(local_root), relative=relative, project="/p"
        ),
        sync_status="queued",
        created_by="ada",
        created_at="2026-03-01T09:00:05.000Z",
        host="bench-1",
        app_version="0.1.0",
    )
    write_record(folder, record)
    return folder


def sample_files(index: int = 0, count: int = 3) -> dict[str, bytes]:
    return {f"raw/data_{i}.csv": f"{index},{i}\n".encode() * (100 + i) for i in range(count)} | {
        "README.md": b"# run\n"
    }


def plan(
    root: Path | str, transport: Transport = Transport.COPY, require_mount: bool = False
) -> SyncPlan:
    return SyncPlan(root=str(root), transport=transport, require_mount=require_mount)


def job_for(folder: Path, nas: Path, transport: Transport) -> SyncJob:
    """A job for ``folder`` to ``nas``/EQ/Run_1, for a transport driven without a queue."""
    return SyncJob(
        id="j1", source=str(folder), root=str(nas), relative="EQ/Run_1",
        transport=transport, queued_at=datetime.now(UTC),
    )  # fmt: skip


def sha256sum_ok(target: Path) -> bool:
    """The NAS copy checks out with the real ``sha256sum -c`` and its own manifest."""
    result = subprocess.run(
        ["sha256sum", "--check", "--strict", "--quiet", ".exlab-wizard/checksums.sha256"],
        check=False,
        cwd=target,
        capture_output=True,
        text=True,
    )
    return result.returncode == 0


def same_tree(source: Path, target: Path) -> bool:
    """Every file of ``source`` (but creation.json) is in ``target`` with the same bytes."""
    for path in source.rglob("*"):
        if path.is_file() and path.name != "creation.json":
            copy = target / path.relative_to(source)
            if not copy.is_file() or copy.read_bytes() != path.read_bytes():
                return False
    return True


async def wait_for(queue: SyncQueue, check: object, timeout: float = 30.0) -> None:  # noqa: ASYNC109
    """Wait (on the queue's changes, not a timer) until ``check()`` is true."""
    assert callable(check)
    changed = asyncio.Event()
    remove = queue.add_observer(lambda _job: changed.set())
    try:
        async with asyncio.timeout(timeout):
            while not check():
                changed.clear()
                await changed.wait()
    finally:
        remove()


def statuses(jobs: list[SyncJob]) -> list[JobStatus]:
    return [job.status for job in jobs]


def record_status(folder: Path) -> str:
    return read_record(folder).sync_status


class Mounts:
    """Mounts made by one test, undone at its end (lazily, so a busy one still goes)."""

    def __init__(self) -> None:
        self._made: list[Path] = []

    def tmpfs(self, where: Path, size: str = "64m") -> Path:
        where.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "exlab-test", str(where)], check=True
        )
        self._made.append(where)
        return where

    def bind(self, source: Path, where: Path, *, read_only: bool = False) -> Path:
        where.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "--bind", str(source), str(where)], check=True)
        self._made.append(where)
        if read_only:
            self.remount(where, read_only=True)
        return where

    def remount(self, where: Path, *, read_only: bool) -> None:
        mode = "ro" if read_only else "rw"
        subprocess.run(["mount", "-o", f"remount,bind,{mode}", str(where)], check=True)

    def unmount(self, where: Path) -> None:
        subprocess.run(["umount", "-l", str(where)], check=True)
        with contextlib.suppress(ValueError):
            self._made.remove(where)

    def undo(self) -> None:
        for where in reversed(self._made):
            subprocess.run(["umount", "-l", str(where)], check=False, capture_output=True)
        self._made.clear()


def no_partials(root: Path) -> bool:
    return not [p for p in root.rglob(".*exlab-partial*")] and not list(root.rglob("*.exlab-tmp"))


def free_of(path: Path) -> bool:
    """Nothing at all was written under ``path`` (the bare mount point stays empty)."""
    return not path.exists() or not os.listdir(path)
