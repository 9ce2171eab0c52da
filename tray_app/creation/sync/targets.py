"""Where an instrument's folders go: its NAS root and transport, from the settings."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tray_app import paths
from tray_app.config import Settings, is_remote_root
from tray_app.creation.sync.model import Transport
from tray_app.creation.sync.options import SyncOptions

__all__ = ["SyncPlan", "options_from", "plan_for"]


@dataclass(frozen=True)
class SyncPlan:
    root: str
    transport: Transport
    require_mount: bool


def _root(value: str, transport: Transport) -> str:
    if transport is Transport.COPY or not is_remote_root(value):
        return str(Path(os.path.expanduser(value)))
    return value


def plan_for(settings: Settings, equipment_id: str | None) -> SyncPlan | None:
    """The equipment's own target if it sets one, else the default; None: no sync."""
    equipment = settings.find_equipment(equipment_id) if equipment_id else None
    root = (equipment.nas_root if equipment else None) or settings.nas_root
    if not root:
        return None
    name = (equipment.sync_transport if equipment else None) or settings.sync_transport
    transport = Transport(name)
    require = equipment.require_mount if equipment and equipment.require_mount is not None else None
    return SyncPlan(
        root=_root(root, transport),
        transport=transport,
        require_mount=settings.require_mount if require is None else require,
    )


def _path(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None


def options_from(settings: Settings) -> SyncOptions:
    return SyncOptions(
        bwlimit_kib=settings.sync_bwlimit_kib,
        ssh_port=settings.sync_ssh_port,
        ssh_identity=_path(settings.sync_ssh_identity),
        ssh_known_hosts=_path(settings.sync_ssh_known_hosts),
        rclone_config=_path(settings.rclone_config),
        ssh_control_dir=paths.runtime_dir(),
    )


def any_target(settings: Settings) -> bool:
    """True when some folders are synced (a default root or an equipment's own)."""
    return bool(settings.nas_root) or any(e.nas_root for e in settings.equipment)
