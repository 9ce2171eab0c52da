"""Helpers for the tray app tests (their fixtures live in ``conftest.py``).

The tests step the shared qasync loop themselves (see ``tests.qt.loop_helpers``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.support.sessions import aborted, done, failed, running, waiting
from tray_app.config import LoadedSettings, Settings, default_settings

#: Where the Qt tests' fake clocks start.
START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def loaded_settings(tmp_root: Any, **overrides: Any) -> LoadedSettings:
    """Default settings with the data folder under ``tmp_root`` and ``overrides`` applied."""
    import msgspec

    from tray_app import paths

    base = msgspec.to_builtins(default_settings())
    base["local_root"] = str(tmp_root / "ExLab")
    base.update(overrides)
    settings = msgspec.convert(base, Settings)
    return LoadedSettings(settings, paths.settings_path(), [], from_file=False)


# Sessions in a given state: shared with the pure tests (tests/support/sessions.py).
__all__ = ["START", "aborted", "done", "failed", "loaded_settings", "running", "waiting"]
