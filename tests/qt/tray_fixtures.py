"""Helpers for the tray app tests (their fixtures live in ``conftest.py``).

The tests step the shared qasync loop themselves (see ``tests.qt.loop_helpers``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.support.sessions import aborted, done, failed, running, waiting
from tray_app.config import LoadedSettings, Settings, default_settings
from tray_app.sessions.store import SessionStore

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


def deliver(store: SessionStore) -> None:
    """Hand the store's pending changes to the UI now, as the next loop turn would.

    Every UI part hears the store through its one bridge, once per loop turn; tests
    that change the store and then look at a view call this first, so that what they
    see (including "nothing was shown") is the view's answer to those changes.
    """
    from tray_app.ui.store_bridge import StoreBridge

    StoreBridge.of(store).flush()


# Sessions in a given state: shared with the pure tests (tests/support/sessions.py).
__all__ = [
    "START", "aborted", "deliver", "done", "failed", "loaded_settings", "running", "waiting",
]  # fmt: skip
