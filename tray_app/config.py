"""Operator settings: the schema, its embedded defaults, and a loader that never raises.

Settings come in layers: the embedded defaults, then the site's file (IT's defaults for
every user, with ``locked = [...]`` keys a user cannot change), then the user's file. Each
key is checked on its own (``config_reader``): a bad key or entry is skipped and named in
words at its true line, the rest applies, and every problem is logged.

To add a setting, add a field to :class:`Settings` (or a Struct it holds); the loader, the
words for a wrong value and the locking all follow from the field's type.
"""

from __future__ import annotations

import logging
import os
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import msgspec
import msgspec.inspect as mi

from tray_app import fileio, paths
from tray_app.config_reader import SettingsProblem, TableReader, key_line, parse_salvaging
from tray_app.i18n import LANGUAGE_PATTERN
from tray_app.paths import site_settings_path

__all__ = [
    "EQUIPMENT_ID_PATTERN",
    "LOCKED_KEY",
    "Equipment",
    "LoadedSettings",
    "LogLevel",
    "NotificationSettings",
    "Settings",
    "SettingsProblem",
    "default_settings",
    "is_remote_root",
    "load_settings",
    "settings_in_use",
    "write_default_settings",
]

_log = logging.getLogger("tray_app.config")

EQUIPMENT_ID_PATTERN = r"^[A-Z][A-Z0-9_]*$"
EQUIPMENT_ID_MAX = 32

EquipmentId = Annotated[
    str,
    msgspec.Meta(
        pattern=EQUIPMENT_ID_PATTERN,
        max_length=EQUIPMENT_ID_MAX,
        description="must start with a capital letter and use only A-Z, 0-9 and _ "
        f"(at most {EQUIPMENT_ID_MAX} characters)",
    ),
]

NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]
#: A folder: relative to the settings file it is written in, ``~`` for the home folder.
PathText = Annotated[str, msgspec.Meta(min_length=1, extra={"path": True})]
Seconds = Annotated[float, msgspec.Meta(gt=0)]

#: The key of the site file that lists the keys a user's file cannot change.
LOCKED_KEY = "locked"

#: How finished folders reach the NAS: a mounted path copied by the tray, the
#: rsync program (local path or ``user@host:path`` over SSH), or rclone (``remote:path``).
SyncTransportName = Literal["copy", "rsync", "rclone"]


class Equipment(msgspec.Struct, forbid_unknown_fields=True):
    """One instrument of the lab: its folder id (``TECAN``) and a display name.

    ``nas_root`` (an absolute path or a remote), ``sync_transport`` and
    ``require_mount`` override the top-level settings for its folders.
    """

    #: Two entries may not share an id (the loader skips the second).
    unique_key: ClassVar[str] = "id"

    id: EquipmentId
    name: NonEmpty
    nas_root: NonEmpty | None = None
    sync_transport: SyncTransportName | None = None
    require_mount: bool | None = None


class NotificationSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``[notifications]``: which kinds of desktop notice are shown (the menu shows all)."""

    needs_input: bool = True
    failed: bool = True
    abandoned: bool = True
    sync_problems: bool = True


#: ``log_level``: how much goes into the log file (and the journal under systemd).
LogLevel = Literal["debug", "info", "warning", "error"]


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Everything an operator may set in ``settings.toml``."""

    local_root: PathText
    template_dirs: list[PathText]
    plugin_dirs: list[PathText]
    equipment: list[Equipment]
    operators: list[str] | None
    gc_interval_s: Seconds = 300
    abandon_after_s: Seconds = 3600
    retention_max_finished: Annotated[int, msgspec.Meta(ge=0)] = 500
    retention_max_age_s: Annotated[float, msgspec.Meta(ge=0)] = 86400
    nas_root: Annotated[str, msgspec.Meta(extra={"path": True})] | None = None
    max_prompts_per_plugin: Annotated[int, msgspec.Meta(ge=1)] = 5
    log_level: LogLevel = "info"
    #: ``de``, ``fr``...: the language shown; None follows the desktop's locale.
    language: Annotated[str, msgspec.Meta(pattern=LANGUAGE_PATTERN)] | None = None
    notifications: NotificationSettings = msgspec.field(default_factory=NotificationSettings)
    # ---- NAS sync: nas_root is the default target; an equipment entry may set its own.
    sync_transport: SyncTransportName = "copy"
    #: The NAS root must be on a mounted filesystem, not on the local disk's "/".
    require_mount: bool = False
    #: KiB/s for one copy, honoured by every transport; leave out for no limit.
    sync_bwlimit_kib: Annotated[int, msgspec.Meta(ge=1)] | None = None
    #: SSH for rsync targets ``user@host:path``: port, private key, known_hosts file.
    sync_ssh_port: Annotated[int, msgspec.Meta(ge=1, le=65535)] | None = None
    sync_ssh_identity: PathText | None = None
    sync_ssh_known_hosts: PathText | None = None
    #: rclone's config file (default: rclone's own).
    rclone_config: PathText | None = None

    def local_root_path(self) -> Path:
        return _expand(self.local_root)

    def template_paths(self) -> list[Path]:
        return [_expand(p) for p in self.template_dirs]

    def plugin_paths(self) -> list[Path]:
        return [_expand(p) for p in self.plugin_dirs]

    def nas_root_path(self) -> Path | None:
        return _expand(self.nas_root) if self.nas_root else None

    def find_equipment(self, equipment_id: str) -> Equipment | None:
        return next((e for e in self.equipment if e.id == equipment_id), None)


@dataclass
class LoadedSettings:
    settings: Settings
    #: The user's settings file (it may not exist yet).
    path: Path
    problems: list[SettingsProblem] = field(default_factory=list)
    #: True when the user's file exists and was read (problems or not).
    from_file: bool = False
    #: The site's settings file, when there is one.
    site_path: Path | None = None
    #: Keys the site's policy fixes.
    locked: frozenset[str] = frozenset()
    #: The site folder read (reloading reads the same one); None: the platform's.
    site_dir: Path | None = None
    #: The problems are in the log (read quietly, before logging was set up: not yet).
    logged: bool = False

    def log_problems(self) -> None:
        """Each problem in the log, once."""
        if not self.logged:
            self.logged = True
            for problem in self.problems:
                _log.warning("settings: %s", problem)

    def watched_files(self) -> list[Path]:
        """The files these settings came from or would come from, to notice edits."""
        return [self.path, site_settings_path(self.site_dir)]


def _expand(value: str) -> Path:
    return Path(value).expanduser()


def _default_values() -> dict[str, Any]:
    resources = paths.resources_dir()
    return {
        "local_root": str(paths.data_dir() / "ExLab"),
        "template_dirs": [str(resources / "templates")],
        "plugin_dirs": [str(resources / "plugins")],
        "equipment": [{"id": "DEMO", "name": "Demo instrument"}],
        "operators": None,
    }


def default_settings() -> Settings:
    """Embedded defaults: a DEMO equipment, bundled templates and plugins, a data folder."""
    return msgspec.convert(_default_values(), Settings)


def settings_in_use(loaded: LoadedSettings | None) -> LoadedSettings:
    """The settings a start goes on with: ``loaded`` when the command line has read them
    already (for its language), their problems logged now that logging is set up; else
    read now."""
    if loaded is None:
        return load_settings()
    loaded.log_problems()
    return loaded


def load_settings(
    path: Path | None = None, *, site_dir: Path | None = None, quiet: bool = False
) -> LoadedSettings:
    """Read the site's and the user's settings files over the defaults. Never raises.

    ``path`` is the user's file (default: the per-user settings file); ``site_dir`` the
    site's folder (default: :func:`paths.site_config_dir`). Keys left out keep the value
    of the layer below. A problem (unreadable file, TOML syntax, wrong type, unknown key,
    bad or duplicate equipment entry, a locked key) skips only what it is about. Each is
    logged, unless ``quiet`` (then :meth:`LoadedSettings.log_problems` does it later).
    """
    path = Path(path) if path is not None else paths.settings_path()
    site_path = site_settings_path(site_dir)
    problems: list[SettingsProblem] = []
    values = _default_values()

    site = _read_layer(site_path, problems, site=True)
    locked = _locked_keys(site, site_path, problems)
    values.update(_fall_back_on_empty(site.values, values, site, problems))

    user = _read_layer(path, problems)
    for key in sorted(locked & user.values.keys()):
        line = key_line(user.text, key)
        problems.append(
            SettingsProblem(
                str(path),
                line,
                key,
                f"`{key}` is set for everyone by your site's policy ({site_path}); "
                "the value here is ignored",
            )
        )
        del user.values[key]
    values.update(_fall_back_on_empty(user.values, values, user, problems))

    settings = msgspec.convert(values, Settings)
    loaded = LoadedSettings(
        settings,
        path,
        problems,
        from_file=user.exists,
        site_path=site_path if site.exists else None,
        locked=frozenset(locked),
        site_dir=site_path.parent,
    )
    if not quiet:
        loaded.log_problems()
    return loaded


@dataclass
class _Layer:
    file: Path
    exists: bool = False
    text: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


def _read_layer(path: Path, problems: list[SettingsProblem], *, site: bool = False) -> _Layer:
    layer = _Layer(path)
    try:
        layer.text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return layer
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        problems.append(
            SettingsProblem(
                str(path), None, None, f"cannot read this file ({reason}); it is skipped"
            )
        )
        return layer
    layer.exists = True
    layer.raw, layer.text, syntax = parse_salvaging(layer.text, str(path))
    reader = TableReader(str(path), layer.text, Settings)
    values, _bad = reader.read(
        layer.raw, Settings, skip=frozenset({LOCKED_KEY}) if site else frozenset()
    )
    # In the file's order, so a person can work down the list.
    problems.extend(sorted(syntax + reader.problems, key=lambda p: p.line or 0))
    layer.values = _anchor_paths(values, path.parent)
    return layer


def _locked_keys(site: _Layer, site_path: Path, problems: list[SettingsProblem]) -> set[str]:
    names = site.raw.get(LOCKED_KEY, [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        problems.append(
            SettingsProblem(
                str(site_path),
                key_line(site.text, LOCKED_KEY),
                LOCKED_KEY,
                '`locked` must be a list of setting names in [ ], like ["nas_root"]; '
                "nothing is locked",
            )
        )
        return set()
    locked = set()
    for name in names:
        if name in Settings.__struct_fields__:
            locked.add(name)
        else:
            problems.append(
                SettingsProblem(
                    str(site_path),
                    key_line(site.text, LOCKED_KEY),
                    LOCKED_KEY,
                    f"`locked` names `{name}`, which is not a setting; it is ignored",
                )
            )
    return locked


def _fall_back_on_empty(
    values: dict[str, Any], below: dict[str, Any], layer: _Layer, problems: list[SettingsProblem]
) -> dict[str, Any]:
    """A file whose every equipment entry was skipped keeps the equipment of the layer below."""
    if "equipment" in values and not values["equipment"]:
        problems.append(
            SettingsProblem(
                str(layer.file),
                key_line(layer.text, "equipment"),
                "equipment",
                "no usable equipment entry here, so the equipment stays as it was ("
                + ", ".join(_equipment_id(e) for e in below["equipment"])
                + ")",
            )
        )
        return {k: v for k, v in values.items() if k != "equipment"}
    return values


def _equipment_id(entry: Any) -> str:
    return str(entry["id"] if isinstance(entry, dict) else entry.id)


def is_remote_root(value: object) -> bool:
    """``host:path`` or ``remote:path`` (a colon before any "/"), not a local path."""
    return isinstance(value, str) and bool(re.match(r"^[^/:~]+:", value))


def _holds_paths(info: mi.Type) -> bool:
    """Whether a field holds folders (``Meta(extra={"path": True})``, alone or in a list)."""
    if isinstance(info, mi.Metadata):
        return bool((info.extra or {}).get("path")) or _holds_paths(info.type)
    if isinstance(info, mi.ListType):
        return _holds_paths(info.item_type)
    if isinstance(info, mi.UnionType):
        return any(_holds_paths(t) for t in info.types)
    return False


def _anchor_paths(values: dict[str, Any], base: Path) -> dict[str, Any]:
    """Relative folders in a file are relative to that file's folder, not to the cwd."""
    hints = typing.get_type_hints(Settings, include_extras=True)

    def anchor(value: Any) -> Any:
        # An rsync or rclone target (host:path, remote:path) is not a folder here.
        if (
            isinstance(value, str)
            and value
            and not value.startswith("~")
            and not is_remote_root(value)
        ):
            return value if os.path.isabs(value) else str(base / value)
        return value

    anchored = dict(values)
    for name, value in values.items():
        if not _holds_paths(mi.type_info(hints[name])):
            continue
        anchored[name] = [anchor(v) for v in value] if isinstance(value, list) else anchor(value)
    return anchored


# ---- writing a starter file ------------------------------------------------------------------

_TEMPLATE = """\
# ExLab Tray settings. Saved changes apply at once (or choose "Reload settings" in the
# tray menu). Keys left out keep their defaults (your site's, then the built-in ones).
# Relative paths are relative to this file's folder; paths may start with "~".

# Where new projects and runs are created: <local_root>/<EQUIPMENT>/<Project>/
local_root = {local_root}

# Folders holding Copier templates (one sub-folder per template) and plugins.
# template_dirs = {template_dirs}
# plugin_dirs = {plugin_dirs}

# Operators allowed to create folders; leave out to allow anyone.
# operators = ["alice", "bob"]

# Copy finished folders to the lab NAS, mirroring their path under local_root.
# nas_root = "/mnt/lab-nas/ExLab"
# How: "copy" (a mounted path), "rsync" (a path or "user@host:/path" over SSH,
# key authentication only) or "rclone" ("remote:path" of a configured remote).
# An [[equipment]] entry may set its own nas_root, sync_transport and require_mount.
# sync_transport = "copy"
# require_mount = true          # the NAS root must be a mounted share
# sync_bwlimit_kib = 20480      # leave bandwidth for acquiring instruments
# sync_ssh_identity = "~/.ssh/id_ed25519"

# Abandon a session waiting for input after this many seconds without a heartbeat;
# check every gc_interval_s.
abandon_after_s = {abandon_after_s}
gc_interval_s = {gc_interval_s}

# Finished sessions kept for the "Recent" list.
retention_max_finished = {retention_max_finished}
retention_max_age_s = {retention_max_age_s}

# How many times one plugin may ask the operator for input in one session.
max_prompts_per_plugin = {max_prompts_per_plugin}

# How much goes into the log file: "debug", "info", "warning" or "error".
# log_level = "info"

# The language shown ("de", "fr", ...); left out, it follows the desktop's locale.
# language = "de"

# Desktop notices by kind (the menu and the icon always show everything).
# [notifications]
# needs_input = true
# failed = true
# abandoned = true
# sync_problems = true

# Instruments: id (upper case letters, digits, "_", at most 32) and a display name.
{equipment}
"""


def _toml_string(value: str) -> str:
    return msgspec.json.encode(value).decode()  # JSON strings are valid TOML basic strings


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(_toml_string(v) for v in values) + "]"


def write_default_settings(path: Path | None = None) -> None:
    """Write a commented settings file holding the defaults (atomic; parents created)."""
    path = Path(path) if path is not None else paths.settings_path()
    settings = default_settings()
    equipment = "\n".join(
        f"[[equipment]]\nid = {_toml_string(e.id)}\nname = {_toml_string(e.name)}\n"
        for e in settings.equipment
    )
    text = _TEMPLATE.format(
        local_root=_toml_string(settings.local_root),
        template_dirs=_toml_list(settings.template_dirs),
        plugin_dirs=_toml_list(settings.plugin_dirs),
        abandon_after_s=settings.abandon_after_s,
        gc_interval_s=settings.gc_interval_s,
        retention_max_finished=settings.retention_max_finished,
        retention_max_age_s=settings.retention_max_age_s,
        max_prompts_per_plugin=settings.max_prompts_per_plugin,
        equipment=equipment,
    )
    fileio.atomic_write_text(path, text)
