"""Template catalogue: finds Copier templates in the template folders and reads their questions.

A template is a folder with ``copier.yml`` (or ``copier.yaml``). Optional
ExLab keys: ``_exlab_type`` (project, run, test-run), ``_exlab_plugins``
(order), ``_exlab_version``, ``_exlab_title`` and ``_exlab_plugins_fatal``.
A plain Copier template without them is a run template.
"""

from __future__ import annotations

import builtins
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_TEMPLATES",
    "TEMPLATE_KINDS",
    "UNSAFE_KEYS",
    "Question",
    "TemplateCatalog",
    "TemplateInfo",
    "TemplateProblem",
    "read_template",
]

TEMPLATE_KINDS = ("project", "run", "test-run")
DEFAULT_TEMPLATES = {"project": "exlab-project", "run": "exlab-run", "test-run": "exlab-test-run"}
CONFIG_NAMES = ("copier.yml", "copier.yaml")
# Copier settings that only work with unsafe=True; we never render with it.
UNSAFE_KEYS = ("_tasks", "_migrations", "_jinja_extensions")


@dataclass(frozen=True)
class Question:
    """One Copier question, as a dialog shows it."""

    name: str
    type: str
    default: Any = None
    help: str = ""
    choices: list[Any] | None = None
    has_default: bool = False
    #: Asked only under a condition (Copier ``when``): never required.
    conditional: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The question as the API lists it (without ``has_default`` and ``conditional``)."""
        return {key: getattr(self, key) for key in ("name", "type", "default", "help", "choices")}


@dataclass(frozen=True)
class TemplateInfo:
    """A template the UI can offer and the pipeline can render."""

    name: str
    title: str
    kind: str
    version: str | None
    questions: list[Question]
    path: Path
    plugins: list[str] = field(default_factory=list)
    plugins_fatal: bool = False
    #: Copier settings that need ``unsafe=True`` (then the template is refused).
    unsafe_keys: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "kind": self.kind,
            "version": self.version,
            "plugins": list(self.plugins),
            "questions": [q.to_dict() for q in self.questions],
        }


class TemplateProblem(ValueError):
    """A template folder whose ``copier.yml`` cannot be used."""


def import_parser() -> None:
    """Import PyYAML now: ~35 ms, so call it off the event loop before the first read."""
    importlib.import_module("yaml")


def _yaml_load(text: str) -> Any:
    # PyYAML comes with Copier; imported on first use (keeps startup light). No stubs: Any.
    yaml: Any = importlib.import_module("yaml")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)


def _config_file(folder: Path) -> Path | None:
    for name in CONFIG_NAMES:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


_TYPE_OF_DEFAULT = {bool: "bool", int: "int", float: "float", str: "str"}


def _question(name: str, spec: Any) -> Question:
    if not isinstance(spec, dict):
        # Copier shorthand: `name: default`.
        kind = _TYPE_OF_DEFAULT.get(type(spec), "yaml")
        return Question(name, kind, spec, has_default=True)
    choices = spec.get("choices")
    if isinstance(choices, dict):
        choices = list(choices.values())
    default = spec.get("default")
    kind = spec.get("type") or _TYPE_OF_DEFAULT.get(type(default), "str")
    return Question(
        name=name,
        type=str(kind),
        default=default,
        help=str(spec.get("help") or ""),
        choices=list(choices) if isinstance(choices, list) else None,
        has_default="default" in spec,
        conditional="when" in spec,
    )


def read_template(folder: Path) -> TemplateInfo:
    """Parse ``folder``'s ``copier.yml``; raises TemplateProblem when unusable."""
    config_path = _config_file(folder)
    if config_path is None:
        raise TemplateProblem(f"{folder}: no copier.yml")
    try:
        data = _yaml_load(config_path.read_text(encoding="utf-8"))
    except Exception as exc:  # yaml errors, I/O, bad encoding: all mean "unusable"
        raise TemplateProblem(f"{config_path}: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise TemplateProblem(f"{config_path}: expected a mapping of questions")
    kind = data.get("_exlab_type", "run")
    if kind not in TEMPLATE_KINDS:
        raise TemplateProblem(f"{config_path}: _exlab_type must be one of {TEMPLATE_KINDS}")
    plugins = data.get("_exlab_plugins") or []
    if not isinstance(plugins, list) or not all(isinstance(p, str) for p in plugins):
        raise TemplateProblem(f"{config_path}: _exlab_plugins must be a list of plugin names")
    version = data.get("_exlab_version")
    questions = [_question(str(k), v) for k, v in data.items() if not str(k).startswith("_")]
    return TemplateInfo(
        name=folder.name,
        title=str(data.get("_exlab_title") or folder.name),
        kind=kind,
        version=None if version is None else str(version),
        questions=questions,
        path=folder,
        plugins=list(plugins),
        plugins_fatal=bool(data.get("_exlab_plugins_fatal", False)),
        unsafe_keys=[key for key in UNSAFE_KEYS if data.get(key)],
    )


class TemplateCatalog:
    """Templates in the configured folders; the first folder wins on a name clash.

    Parsed ``copier.yml`` files are cached by modification time, so listing
    again after an operator edits a template picks up the change.
    """

    def __init__(self, folders: list[Path]) -> None:
        self._folders = list(folders)
        self._cache: dict[Path, tuple[int, TemplateInfo | TemplateProblem]] = {}

    def _scan(self) -> tuple[dict[str, TemplateInfo], list[str]]:
        found: dict[str, TemplateInfo] = {}
        problems: list[str] = []
        for root in self._folders:
            try:
                children = sorted(p for p in root.iterdir() if p.is_dir())
            except OSError:
                continue  # a missing template folder is not an error: nothing there
            for folder in children:
                if folder.name in found or folder.name.startswith("."):
                    continue
                entry = self._read_cached(folder)
                if entry is None:
                    continue
                if isinstance(entry, TemplateProblem):
                    problems.append(str(entry))
                else:
                    found[folder.name] = entry
        return found, problems

    def _read_cached(self, folder: Path) -> TemplateInfo | TemplateProblem | None:
        config = _config_file(folder)
        if config is None:
            return None
        try:
            stamp = config.stat().st_mtime_ns
        except OSError:
            return None
        cached = self._cache.get(folder)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            entry: TemplateInfo | TemplateProblem = read_template(folder)
        except TemplateProblem as exc:
            entry = exc
        self._cache[folder] = (stamp, entry)
        return entry

    def get(self, name: str) -> TemplateInfo | None:
        return self._scan()[0].get(name)

    def list(self, kind: str | None = None) -> builtins.list[TemplateInfo]:
        """Usable templates (of ``kind`` when given), sorted by name."""
        found = self._scan()[0]
        return [t for _, t in sorted(found.items()) if kind is None or t.kind == kind]

    def problems(self) -> builtins.list[str]:
        """Template folders that could not be read, one line each."""
        return self._scan()[1]
