"""Operator settings: the TOML schema, its embedded defaults, and a loader that never raises.

A broken settings file is reported (file, line, key) and the app runs on the
defaults, so a typo never keeps the tray from starting.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import msgspec

from tray_app import fileio, paths

__all__ = [
    "EQUIPMENT_ID_PATTERN",
    "Equipment",
    "LoadedSettings",
    "Settings",
    "SettingsProblem",
    "default_settings",
    "load_settings",
    "write_default_settings",
]

EQUIPMENT_ID_PATTERN = r"^[A-Z][A-Z0-9_]*$"
EQUIPMENT_ID_MAX = 32

EquipmentId = Annotated[
    str, msgspec.Meta(pattern=EQUIPMENT_ID_PATTERN, max_length=EQUIPMENT_ID_MAX)
]

NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]


class Equipment(msgspec.Struct, forbid_unknown_fields=True):
    """One instrument of the lab: its folder id (``TECAN``) and a display name."""

    id: EquipmentId
    name: NonEmpty


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Everything an operator may set in ``settings.toml``."""

    local_root: NonEmpty
    template_dirs: list[str]
    plugin_dirs: list[str]
    equipment: list[Equipment]
    operators: list[str] | None
    gc_interval_s: Annotated[float, msgspec.Meta(gt=0)] = 300
    abandon_after_s: Annotated[float, msgspec.Meta(gt=0)] = 3600
    retention_max_finished: Annotated[int, msgspec.Meta(ge=0)] = 500
    retention_max_age_s: Annotated[float, msgspec.Meta(ge=0)] = 86400
    nas_root: str | None = None
    max_prompts_per_plugin: Annotated[int, msgspec.Meta(ge=1)] = 5

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
class SettingsProblem:
    """One thing wrong with the settings file, located for a person to fix."""

    file: str
    line: int | None
    key: str | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        key = f" [{self.key}]" if self.key else ""
        return f"{where}{key}: {self.message}"


@dataclass
class LoadedSettings:
    settings: Settings
    path: Path
    problems: list[SettingsProblem] = field(default_factory=list)
    #: True when the settings came from the file (no problems); False on defaults.
    from_file: bool = False


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


def load_settings(path: Path | None = None) -> LoadedSettings:
    """Read ``path`` (default: the per-user settings file). Never raises.

    Keys left out of the file keep their defaults. Any problem (unreadable
    file, TOML syntax, wrong type, unknown key, bad equipment id) gives the
    defaults plus a :class:`SettingsProblem` naming file, line and key.
    """
    path = Path(path) if path is not None else paths.settings_path()
    if not path.exists():
        return LoadedSettings(default_settings(), path, [], from_file=False)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return _fallback(path, SettingsProblem(str(path), None, None, f"cannot read: {exc}"))
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = _syntax_error_line(exc)
        return _fallback(path, SettingsProblem(str(path), line, None, f"TOML syntax: {exc}"))
    problems = _schema_problems(path, text, raw)
    if problems:
        return _fallback(path, *problems)
    settings = msgspec.convert({**_default_values(), **_anchor_paths(raw, path.parent)}, Settings)
    return LoadedSettings(settings, path, [], True)


def _anchor_paths(raw: dict[str, Any], base: Path) -> dict[str, Any]:
    """Relative paths in the file are relative to the file's folder, not to the cwd."""

    def anchor(value: Any) -> Any:
        if isinstance(value, str) and value and not value.startswith("~"):
            candidate = Path(value)
            return value if candidate.is_absolute() else str(base / candidate)
        return value

    anchored = dict(raw)
    for key in ("local_root", "nas_root"):
        if key in anchored:
            anchored[key] = anchor(anchored[key])
    for key in ("template_dirs", "plugin_dirs"):
        if isinstance(anchored.get(key), list):
            anchored[key] = [anchor(item) for item in anchored[key]]
    return anchored


def _fallback(path: Path, *problems: SettingsProblem) -> LoadedSettings:
    return LoadedSettings(default_settings(), path, list(problems), from_file=False)


def _schema_problems(path: Path, text: str, raw: dict[str, Any]) -> list[SettingsProblem]:
    try:
        settings = msgspec.convert({**_default_values(), **raw}, Settings)
    except msgspec.ValidationError as exc:
        key = _error_key(str(exc))
        return [SettingsProblem(str(path), _key_line(text, key), key, _plain_message(str(exc)))]
    problems: list[SettingsProblem] = []
    seen: set[str] = set()
    for index, equipment in enumerate(settings.equipment):
        if equipment.id in seen:
            key = f"equipment[{index}].id"
            problems.append(
                SettingsProblem(
                    str(path), _key_line(text, key), key, f"duplicate equipment id {equipment.id!r}"
                )
            )
        seen.add(equipment.id)
    if not settings.equipment:
        problems.append(
            SettingsProblem(str(path), _key_line(text, "equipment"), "equipment", "no equipment")
        )
    return problems


# ---- locating a problem in the text -------------------------------------------------------

_SYNTAX_LINE = re.compile(r"at line (\d+)")
_AT_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_UNKNOWN_FIELD = re.compile(r"unknown field `(?P<name>[^`]+)`")
_MISSING_FIELD = re.compile(r"missing required field `(?P<name>[^`]+)`")


def _syntax_error_line(exc: tomllib.TOMLDecodeError) -> int | None:
    lineno = getattr(exc, "lineno", None)  # Python 3.14+
    if isinstance(lineno, int):
        return lineno
    match = _SYNTAX_LINE.search(str(exc))
    return int(match.group(1)) if match else None


def _error_key(message: str) -> str | None:
    """``equipment[0].id`` from msgspec's ``... - at `$.equipment[0].id```."""
    match = _AT_PATH.search(message)
    base = match.group("path").lstrip(".") if match else ""
    extra = _UNKNOWN_FIELD.search(message) or _MISSING_FIELD.search(message)
    if extra:
        name = extra.group("name")
        return f"{base}.{name}" if base else name
    return base or None


def _plain_message(message: str) -> str:
    return _AT_PATH.sub("", message)


_KEY_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _key_line(text: str, key: str | None) -> int | None:
    """Best-effort 1-based line of ``key`` (``a.b[2].c``) in the TOML ``text``.

    Walks the key's parts down the file: a table header or ``name =`` for a
    name, the n-th ``[[array]]`` header (or n-th inline item line) for an index.
    """
    if not key:
        return None
    lines = text.splitlines()
    parts: list[str | int] = [
        name if name else int(index) for name, index in _KEY_PART.findall(key)
    ]
    start = 0
    found: int | None = None
    prefix: list[str] = []
    for part_index, part in enumerate(parts):
        if isinstance(part, int):
            table = ".".join(prefix)
            header = re.compile(rf"^\s*\[\[\s*{re.escape(table)}\s*\]\]")
            hits = [i for i in range(len(lines)) if header.match(lines[i])]
            if part < len(hits):
                start = found = hits[part]
            continue
        prefix.append(part)
        assignment = re.compile(rf"^\s*[\"']?{re.escape(part)}[\"']?\s*=")
        table = ".".join(prefix)
        header = re.compile(rf"^\s*\[{{1,2}}\s*{re.escape(table)}\s*\]{{1,2}}")
        is_last = part_index == len(parts) - 1
        for i in range(start, len(lines)):
            if assignment.match(lines[i]) or header.match(lines[i]):
                start = found = i
                break
        else:
            if is_last:
                return None if found is None else found + 1
    return None if found is None else found + 1


# ---- writing a starter file ------------------------------------------------------------------

_TEMPLATE = """\
# ExLab Tray settings. Edit, save, then restart the tray (or choose "Reload settings").
# Keys left out keep their built-in defaults. Paths may start with "~".

# Where new projects and runs are created: <local_root>/<EQUIPMENT>/<Project>/
local_root = {local_root}

# Folders holding Copier templates (one sub-folder per template) and plugins.
# template_dirs = {template_dirs}
# plugin_dirs = {plugin_dirs}

# Operators allowed to create folders; leave out to allow anyone.
# operators = ["alice", "bob"]

# Copy finished folders to the lab NAS, mirroring their path under local_root.
# nas_root = "/mnt/lab-nas/ExLab"

# Abandon a session waiting for input after this many seconds without a heartbeat;
# check every gc_interval_s.
abandon_after_s = {abandon_after_s}
gc_interval_s = {gc_interval_s}

# Finished sessions kept for the "Recent" list.
retention_max_finished = {retention_max_finished}
retention_max_age_s = {retention_max_age_s}

# How many times one plugin may ask the operator for input in one session.
max_prompts_per_plugin = {max_prompts_per_plugin}

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
