"""Where a new folder goes, and making sure no two sessions ever get the same one.

A destination is fixed when its session opens. Within this process it is
reserved until the session ends; on disk it is claimed with ``os.mkdir``
(which fails when the folder exists), so another process racing us for the
same run folder is noticed too.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from tray_app.config import Settings
from tray_app.creation.naming import project_name_problem, run_folder_name
from tray_app.creation.record import RECORD_DIR
from tray_app.creation.requests import CreateRequest, ProjectRequest

__all__ = ["MAX_SAME_SECOND", "DestinationClaimed", "Destinations", "project_folder"]

#: Runs of one project in the same second get Run_<stamp>, Run_<stamp>_2, ... up to this.
MAX_SAME_SECOND = 99


class DestinationClaimed(Exception):
    """The folder exists already (made by someone else between plan and claim)."""


def project_folder(settings: Settings, request: CreateRequest) -> Path | None:
    """``<local_root>/<EQUIPMENT>/<Project>``; None when the names are unsafe."""
    equipment = settings.find_equipment(request.equipment_id)
    if equipment is None or project_name_problem(request.project_name):
        return None
    return settings.local_root_path() / equipment.id / request.project_name


class Destinations:
    """Plans destinations and keeps the in-process reservations."""

    def __init__(self) -> None:
        self._reserved: set[Path] = set()

    def is_reserved(self, path: Path) -> bool:
        return path in self._reserved

    def plan(
        self, settings: Settings, request: CreateRequest, now: datetime
    ) -> tuple[Path | None, bool]:
        """Pick and reserve the destination: ``(path, reserved)``.

        ``path`` is None when the request's names are unusable; ``reserved`` is
        False when another live session holds the path (a validation error).

        A project gets its own name (a clash is a validation error later). A
        run gets the first free ``Run_<stamp>[_n]`` (free on disk and not
        reserved here). Synchronous, so two sessions opened back to back can
        never pick the same folder.
        """
        project = project_folder(settings, request)
        if project is None:
            return None, False
        if isinstance(request, ProjectRequest):
            destination = project
        else:
            parent, prefix = (
                (project / "TestRuns", "TestRun")
                if request.run_kind == "test"
                else (project / "Runs", "Run")
            )
            for attempt in range(1, MAX_SAME_SECOND + 1):
                destination = parent / run_folder_name(prefix, now, attempt)
                if destination not in self._reserved and not os.path.lexists(destination):
                    break
            # Past the cap the last candidate stands; claiming it fails with destination_exists.
        return self.reserve(destination)

    def reserve(self, path: Path) -> tuple[Path, bool]:
        """Reserve a destination fixed earlier (a session restored after a restart)."""
        if path in self._reserved:
            return path, False
        self._reserved.add(path)
        return path, True

    def release(self, path: Path | None) -> None:
        if path is not None:
            self._reserved.discard(path)

    @staticmethod
    def claim(path: Path) -> None:
        """Create the destination folder; raises DestinationClaimed if it exists.

        Blocking (call in a thread). Parents (``<EQUIPMENT>``, ``Runs``) are made
        as needed; the folder itself only by us, with its ``.exlab-wizard`` inside.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.mkdir(path)
        except FileExistsError as exc:
            raise DestinationClaimed(str(path)) from exc
        # Marks the folder as a creation from the start (the NAS sync of a
        # project skips nested creations: they are synced on their own).
        os.mkdir(path / RECORD_DIR)
