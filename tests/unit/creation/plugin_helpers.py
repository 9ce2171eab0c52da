"""Shared helpers for the plugin tests: fixture manifests, payloads, process checks."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import msgspec

from tray_app.creation.plugins.manifest import PluginManifest, load_manifest

FIXTURES = Path(__file__).resolve().parent / "plugins_fixtures"
BUNDLED_PLUGINS = Path(__file__).resolve().parents[3] / "resources" / "plugins"


def fixture_manifest(name: str = "faulty", **overrides: Any) -> PluginManifest:
    return msgspec.structs.replace(load_manifest(FIXTURES / name), **overrides)


def make_payload(
    destination: Path,
    variables: dict[str, Any] | None = None,
    answers: dict[str, Any] | None = None,
    attempt: int = 1,
) -> dict[str, Any]:
    """A payload shaped exactly as the pipeline sends it (common.md contract)."""
    return {
        "destination": str(destination),
        "request": {
            "kind": "run",
            "equipment_id": "TECAN",
            "project_name": "Glycan_Screen",
            "operator": "ada",
            "label": "plate 7",
        },
        "variables": variables or {},
        "answers": answers or {},
        "attempt": attempt,
        "template": "exlab-run",
    }


def process_gone(pid: int) -> bool:
    """True when ``pid`` no longer runs: absent, or a zombie awaiting its reaper."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def matching(folder: Path, pattern: str) -> list[Path]:
    """Files under ``folder`` matching ``pattern`` (recursive)."""
    return sorted(folder.rglob(pattern))


async def wait_until(predicate: Any, within: float = 10.0) -> None:
    """Await a condition, bounded: fail loudly instead of hanging."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(0.01)
