"""A disk that fills at each step of a creation (a real, small tmpfs): a session that fails
never leaves a folder with creation.json, and says why in its own code, never
``internal_error``. Needs root to mount the tmpfs (CI runs as root)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from tray_app import paths
from tray_app.config import Equipment, Settings
from tray_app.creation.controller import CreationController
from tray_app.creation.errors import CreationError
from tray_app.creation.record import read_record
from tray_app.creation.requests import ProjectRequest, RunRequest
from tray_app.sessions.states import SessionState
from tray_app.sessions.store import SessionStore

PAGE = 4096
PLATE = {"sample_count": 8, "plate_type": "96-well", "prep_date": "2026-01-05"}


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def free_bytes(path: Path) -> int:
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


def fill_to(mount: Path, free: int) -> None:
    """Leave ``free`` bytes on the disk (a filler file takes the rest)."""
    filler = mount / "filler"
    filler.unlink(missing_ok=True)
    size = max(0, free_bytes(mount) - free)
    with filler.open("wb") as handle:
        handle.write(b"\0" * size)


async def finished(store: SessionStore, session_id: str) -> SessionState:
    session = store.get(session_id)
    assert session is not None
    while not session.is_terminal():
        await store.next_transition(session_id)
    return session.state


def has_record(folder: Path) -> bool:
    try:
        read_record(folder)
    except (OSError, msgspec.MsgspecError):
        return False
    return True


async def test_a_disk_filling_at_every_step_never_leaves_a_failed_folder_looking_done(
    small_disk: Path, store: SessionStore
) -> None:
    resources = paths.resources_dir()
    settings = Settings(
        local_root=str(small_disk / "ExLab"),
        template_dirs=[str(resources / "templates")],
        plugin_dirs=[str(resources / "plugins")],
        equipment=[Equipment("DEMO", "Demo instrument")],
        operators=None,
    )
    controller = CreationController(store, settings)
    try:
        base = await controller.create_project(
            ProjectRequest(equipment_id="DEMO", project_name="Base", operator="ana")
        )
        assert await finished(store, base["session_id"]) is SessionState.DONE
        outcomes: dict[str, int] = {}
        for kind in ("project", "run"):
            for pages in range(0, 16):
                fill_to(small_disk, pages * PAGE)
                if kind == "project":
                    request: ProjectRequest | RunRequest = ProjectRequest(
                        equipment_id="DEMO", project_name=f"P{pages}", operator="ana"
                    )
                else:
                    request = RunRequest(
                        equipment_id="DEMO",
                        project_name="Base",
                        operator="ana",
                        label=f"r{pages}",
                        variables=dict(PLATE),
                    )
                try:
                    handle = await controller.create(request)
                except CreationError as refused:  # the folder itself could not be made
                    outcomes[refused.code] = outcomes.get(refused.code, 0) + 1
                    continue
                state = await finished(store, handle["session_id"])
                session = store.get(handle["session_id"])
                assert session is not None and session.destination is not None
                folder = Path(session.destination)
                if state is SessionState.DONE:
                    assert has_record(folder), session.outcome
                    outcomes["done"] = outcomes.get("done", 0) + 1
                    continue
                assert state is SessionState.FAILED, session.outcome
                error = session.error or {}
                assert error.get("code") != "internal_error", error
                assert not has_record(folder), error
                outcomes[error["code"]] = outcomes.get(error["code"], 0) + 1
        (small_disk / "filler").unlink()
        # The steps covered the ground: failures in words, and creations that fit.
        assert outcomes.get("done", 0) > 0, outcomes
        assert sum(n for code, n in outcomes.items() if code != "done") > 0, outcomes
        print(outcomes)
    finally:
        await controller.aclose()
