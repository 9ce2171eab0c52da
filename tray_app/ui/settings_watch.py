"""Notices a saved change to the settings files (the user's and the site's) without polling.

Editors save by writing a new file and renaming it over the old one, which drops a
file watch; so the folders are watched too and the files are watched again after
each change. A burst of events (write, rename, chmod) becomes one ``changed`` signal.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, Signal

from tray_app.ui.timers import make_timer

#: Events within this window are one save.
SETTLE_MS = 150


class SettingsWatcher(QObject):
    changed = Signal()

    def __init__(self, files: list[Path], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._files = [Path(f) for f in files]
        self._watcher = QFileSystemWatcher(self)
        self._watcher.fileChanged.connect(self._poke)
        self._watcher.directoryChanged.connect(self._poke)
        self._timer = make_timer(self, self._settled, SETTLE_MS)
        self._snapshot = self._stamps()
        self._watch()

    def _watch(self) -> None:
        wanted = [str(f) for f in self._files if f.exists()]
        wanted += [str(f.parent) for f in self._files if f.parent.is_dir()]
        missing = [p for p in dict.fromkeys(wanted) if p not in self._watcher.files()
                   and p not in self._watcher.directories()]  # fmt: skip
        if missing:
            self._watcher.addPaths(missing)

    def _poke(self, _path: str) -> None:
        self._timer.start()

    def _stamps(self) -> list[tuple[int, int] | None]:
        stamps: list[tuple[int, int] | None] = []
        for file in self._files:
            try:
                stat = file.stat()
            except OSError:
                stamps.append(None)
            else:
                stamps.append((stat.st_mtime_ns, stat.st_size))
        return stamps

    def _settled(self) -> None:
        self._watch()
        stamps = self._stamps()
        # A folder event about another file (a backup, a lock file) is not a change.
        if stamps != self._snapshot:
            self._snapshot = stamps
            self.changed.emit()

    def stop(self) -> None:
        self._timer.stop()
        paths = self._watcher.files() + self._watcher.directories()
        if paths:
            self._watcher.removePaths(paths)
