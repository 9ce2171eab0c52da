"""The settings file as the desktop app follows it: opened in an editor (or shown in the
settings window when none opens it), watched on disk, and read again off the loop, with
every running part updated from the new settings and their problems noticed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from tray_app import logs
from tray_app.i18n import _, ngettext

if TYPE_CHECKING:
    from tray_app.desktop_app import DesktopApp

_log = logging.getLogger("tray_app.app")


class SettingsFollower:
    """The desktop app's settings commands and its reload on change; one per app."""

    def __init__(self, app: DesktopApp) -> None:
        self._app = app
        self.window: Any = None
        self.watcher: Any = None
        self._reloading: asyncio.Task[None] | None = None

    def open_settings(self) -> None:
        """The settings file in the desktop's editor; its path and problems if none opens it."""
        from tray_app.config import write_default_settings
        from tray_app.ui.settings_window import open_in_editor

        path = self._app.loaded.path
        if not path.exists():
            write_default_settings(path)

        def no_editor(reason: str) -> None:
            _log.warning("cannot open %s in an editor: %s", path, reason)
            self.show_window(
                _(
                    "The settings file could not be opened in an editor: {reason}. "
                    "Open it in any text editor; saved changes apply at once."
                ).format(reason=reason)
            )

        open_in_editor(path, no_editor)

    def show_window(self, reason: str | None = None) -> Any:
        """The settings window: the file's path (Copy path, Open folder) and its problems."""
        from tray_app.ui.settings_window import SettingsWindow

        if self.window is None:
            self.window = SettingsWindow()
            self.window.reload_requested.connect(self.reload_soon)
        window = self.window
        window.show_settings(self._app.loaded, reason)
        window.show()
        window.raise_()
        window.activateWindow()
        return window

    # ---- settings reloaded after an edit -----------------------------------------------------
    def watch(self) -> None:
        """Reload whenever a settings file changes on disk."""
        from tray_app.ui.settings_watch import SettingsWatcher

        with contextlib.suppress(OSError):
            self._app.loaded.path.parent.mkdir(parents=True, exist_ok=True)
        self.watcher = SettingsWatcher(self._app.loaded.watched_files())
        self.watcher.changed.connect(self.reload_soon)

    def reload_soon(self) -> None:
        """Read the settings files again (off the loop) and apply them; one at a time."""
        if self._reloading is not None and not self._reloading.done():
            return
        loop = self._app.loop
        if loop is None:
            return
        self._reloading = loop.create_task(self.reload(), name="exlab-reload-settings")

    async def reload(self) -> None:
        from tray_app.config import load_settings

        app = self._app
        before = [str(p) for p in app.loaded.problems]
        loaded = await asyncio.to_thread(
            load_settings, app.loaded.path, site_dir=app.loaded.site_dir
        )
        app.parts.loaded = loaded
        app.service.apply_settings(loaded)
        app.actions.settings = loaded.settings
        app.notifier.policy.switches = loaded.settings.notifications
        logs.set_level(loaded.settings.log_level)
        app.gc_timer.setInterval(max(1, round(loaded.settings.gc_interval_s * 1000)))
        problems = [str(p) for p in loaded.problems]
        app.tray.set_flags(settings_problems=tuple(problems))
        _log.info("settings reloaded from %s (%d problems)", loaded.path, len(problems))
        if self.window is not None and self.window.isVisible():
            self.window.show_settings(loaded)
        if problems and problems != before:
            self.notice_problems()

    def notice_problems(self) -> None:
        """One notice naming the first few problems of the settings in use."""
        problems = self._app.loaded.problems
        lines = [str(p) for p in problems[:3]]
        more = len(problems) - 3
        if more > 0:
            # Translators: after the first three problems of the settings, one per line.
            lines.append(ngettext("… and {n} more", "… and {n} more", more).format(n=more))
        self._app.notice(
            _("ExLab Tray settings have problems"),
            "\n".join([_("The rest of the settings apply."), *lines]),
        )

    async def stop(self) -> None:
        """Stop watching, and let a reload under way finish (bounded)."""
        if self.watcher is not None:
            self.watcher.stop()
        if self._reloading is not None and not self._reloading.done():
            await asyncio.wait([self._reloading], timeout=2)
