"""Settings for an end-to-end sync test: a local data root and a NAS folder under ``tmp_path``."""

from __future__ import annotations

from pathlib import Path

from tray_app import paths


def write_nas_settings(tmp_path: Path) -> tuple[Path, Path]:
    """Write the user's settings file naming both roots; ``(nas, local)``, the NAS made."""
    nas = tmp_path / "nas"
    nas.mkdir()
    local = tmp_path / "ExLab"
    settings = paths.settings_path()
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(f'local_root = "{local}"\nnas_root = "{nas}"\n', encoding="utf-8")
    return nas, local
