"""Where ExLab Tray keeps its files: per-user folders from platformdirs.

``EXLAB_TRAY_HOME``, when set, puts config, state, data and runtime files (and the
site's settings folder) under that one folder (tests, demos and packaging checks rely on it).
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import platformdirs

APP_NAME = "exlab-tray"
HOME_ENV = "EXLAB_TRAY_HOME"
#: The folder of the site's (IT's) settings file, when it is not the platform's own.
SITE_CONFIG_ENV = "EXLAB_TRAY_SITE_CONFIG_DIR"


def _home() -> Path | None:
    value = os.environ.get(HOME_ENV)
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    home = _home()
    return home / "config" if home else Path(platformdirs.user_config_dir(APP_NAME))


def site_config_dir() -> Path:
    """Where IT puts every user's defaults: ``/etc/xdg/exlab-tray`` on Linux.

    ``EXLAB_TRAY_SITE_CONFIG_DIR`` names another folder; under ``EXLAB_TRAY_HOME``
    it is ``<home>/site``, so a test or a demo never reads the machine's policy.
    """
    override = os.environ.get(SITE_CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    home = _home()
    return home / "site" if home else Path(platformdirs.site_config_dir(APP_NAME))


def state_dir() -> Path:
    home = _home()
    return home / "state" if home else Path(platformdirs.user_state_dir(APP_NAME))


def data_dir() -> Path:
    home = _home()
    return home / "data" if home else Path(platformdirs.user_data_dir(APP_NAME))


def runtime_dir() -> Path:
    home = _home()
    if home:
        return home / "runtime"
    # Without XDG_RUNTIME_DIR (ssh, cron, containers) platformdirs falls back to
    # /tmp/runtime-<uid> and warns; the fallback is fine and runtime.json is 0600.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Path(platformdirs.user_runtime_dir(APP_NAME))


def log_dir() -> Path:
    home = _home()
    return home / "logs" if home else Path(platformdirs.user_log_dir(APP_NAME))


def settings_path() -> Path:
    return config_dir() / "settings.toml"


def site_settings_path(site_dir: Path | None = None) -> Path:
    """The site's settings file (in :func:`site_config_dir`, or in ``site_dir``)."""
    return (site_dir if site_dir is not None else site_config_dir()) / "settings.toml"


def runtime_file_path() -> Path:
    """``runtime.json``: url, port, pid and token of the running instance (mode 0600)."""
    return runtime_dir() / "runtime.json"


def resources_dir() -> Path:
    """Bundled icons, templates and plugins, from source or a frozen bundle."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"
