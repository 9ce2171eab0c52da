"""Plugin manifests (``plugin.toml``) and discovery of plugin folders.

A broken plugin folder is reported as a problem string, never raised: one bad
plugin must not stop the tray from starting.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path, PurePosixPath
from typing import Literal

import msgspec

MANIFEST_NAME = "plugin.toml"
#: Plugin names are used in template lists (``_exlab_plugins``) and records.
PLUGIN_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
MAX_TIMEOUT_S = 3600.0
#: Below this a Python interpreter cannot even start under RLIMIT_AS.
MIN_MEMORY_MB = 64
MAX_MEMORY_MB = 65536


class _ManifestFields(msgspec.Struct, kw_only=True):
    """The keys ``plugin.toml`` may set, with their defaults."""

    name: str
    version: str
    entry: str = "plugin.py"
    description: str = ""
    extensions: list[str] = msgspec.field(default_factory=list)
    timeout_s: float = 30.0
    memory_mb: int = 512
    #: The run variables the plugin reads, each "required" or "optional": a request may
    #: pass them (``--var sample_count=24``) though no template question asks for them.
    variables: dict[str, Literal["required", "optional"]] = msgspec.field(default_factory=dict)


class PluginManifest(_ManifestFields, kw_only=True):
    """What ``plugin.toml`` declares, plus ``path``: the plugin's folder (set by discovery)."""

    path: Path = Path()

    @property
    def entry_path(self) -> Path:
        return self.path / self.entry


class _ManifestFile(_ManifestFields, forbid_unknown_fields=True, kw_only=True):
    """The on-disk schema; ``path`` is not something a manifest may set."""


class ManifestError(ValueError):
    """A plugin folder whose manifest cannot be used; the message names the file."""


def load_manifest(folder: Path) -> PluginManifest:
    """Read and check ``folder/plugin.toml``; raises ``ManifestError``."""
    folder = Path(folder)
    manifest_path = folder / MANIFEST_NAME
    try:
        raw = tomllib.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"{manifest_path}: no {MANIFEST_NAME} in the plugin folder") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{manifest_path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{manifest_path}: not valid TOML: {exc}") from None
    try:
        spec = msgspec.convert(raw, _ManifestFile)
    except msgspec.ValidationError as exc:
        raise ManifestError(f"{manifest_path}: {exc}") from None
    problem = _check(spec, folder)
    if problem:
        raise ManifestError(f"{manifest_path}: {problem}")
    return PluginManifest(**msgspec.structs.asdict(spec), path=folder.resolve())


def _check(spec: _ManifestFile, folder: Path) -> str | None:
    if not PLUGIN_NAME_PATTERN.fullmatch(spec.name):
        return (
            f"name {spec.name!r} must start with a letter or digit and use only letters, "
            "digits, '_', '.' or '-'"
        )
    if not spec.version.strip():
        return "version must not be empty"
    entry = PurePosixPath(spec.entry)
    if entry.is_absolute() or ".." in entry.parts or not spec.entry.endswith(".py"):
        return f"entry {spec.entry!r} must be a .py file inside the plugin folder"
    if not (folder / spec.entry).is_file():
        return f"entry file {spec.entry!r} does not exist"
    if not 0 < spec.timeout_s <= MAX_TIMEOUT_S:
        return f"timeout_s must be > 0 and <= {MAX_TIMEOUT_S:g}"
    if not MIN_MEMORY_MB <= spec.memory_mb <= MAX_MEMORY_MB:
        return f"memory_mb must be between {MIN_MEMORY_MB} and {MAX_MEMORY_MB}"
    return None


def discover_plugins(dirs: list[Path]) -> tuple[dict[str, PluginManifest], list[str]]:
    """Find plugins in ``dirs``: each is a plugin folder itself (it has a
    ``plugin.toml``) or a folder of plugin folders.

    Returns ``(plugins by name, problems)``. Earlier dirs win a name clash.
    Subfolders without a manifest (``__pycache__``, docs) are skipped quietly.
    """
    plugins: dict[str, PluginManifest] = {}
    problems: list[str] = []
    for configured in dirs:
        base = Path(configured).expanduser()
        if not base.is_dir():
            problems.append(f"{base}: plugin folder does not exist")
            continue
        if (base / MANIFEST_NAME).is_file():
            candidates = [base]
        else:
            try:
                candidates = sorted(
                    child
                    for child in base.iterdir()
                    if child.is_dir()
                    and not child.name.startswith(".")
                    and (child / MANIFEST_NAME).is_file()
                )
            except OSError as exc:
                problems.append(f"{base}: cannot list plugin folder: {exc}")
                continue
        for folder in candidates:
            try:
                manifest = load_manifest(folder)
            except ManifestError as exc:
                problems.append(str(exc))
                continue
            if manifest.name in plugins:
                problems.append(
                    f"{folder}: plugin {manifest.name!r} is already provided by "
                    f"{plugins[manifest.name].path}; ignored"
                )
                continue
            plugins[manifest.name] = manifest
    return plugins, problems
