"""Renders a Copier template into a destination folder, in a worker thread.

Copier is imported lazily (``import copier`` costs ~0.7 s): on the first
render, or earlier via :func:`prewarm` once the app is up. Rendering never
prompts (every answer is supplied, ``defaults=True``) and never runs template
tasks (``unsafe=False``).

Template folders are rendered as they are on disk. Stock Copier asks ``git``
whether a local template folder is a repository (to clone its latest tag)
and runs ``git config`` once per rendered file; those 3 + N process spawns
cost more than the render itself. We skip both through Copier's ``Worker``
when this Copier version has the hooks we rely on (checked on each call),
and fall back to the public ``copier.run_copy`` otherwise.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import threading
from functools import cached_property
from pathlib import Path
from typing import Any

__all__ = ["RenderError", "fast_path_available", "prewarm", "render_template"]

_log = logging.getLogger(__name__)
_import_lock = threading.Lock()


class RenderError(Exception):
    """Copier refused or failed to render; ``code`` is stable, the message is Copier's."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _copier() -> Any:
    with _import_lock:
        import copier

    return copier


async def prewarm() -> None:
    """Import Copier (and PyYAML) in a thread so the first render is fast."""

    def load() -> None:
        _copier()
        importlib.import_module("yaml")  # the template catalogue's parser

    await asyncio.to_thread(load)


def fast_path_available() -> bool:
    """True when this Copier exposes the ``Worker`` hooks used to skip ``git``."""
    try:
        from copier import _main, _settings, _template
    except ImportError:
        return False
    worker = getattr(_main, "Worker", None)
    template = getattr(_template, "Template", None)
    return (
        worker is not None
        and template is not None
        and isinstance(worker.__dict__.get("template"), cached_property)
        and isinstance(template.__dict__.get("vcs"), cached_property)
        and callable(getattr(worker, "_sync_git_index_executable_bit", None))
        and hasattr(_settings, "SettingsModel")
    )


def _no_git_sync(*_args: object, **_kwargs: object) -> None:
    """Stands in for Worker._sync_git_index_executable_bit: our folders are not git work trees."""


def _render_fast(template_dir: Path, destination: Path, data: dict[str, Any]) -> None:
    from copier import _main, _settings, _template

    worker = _main.Worker(
        src_path=str(template_dir),
        dst_path=destination,
        data=data,
        # The operator's personal Copier settings must not change lab folders.
        settings=_settings.SettingsModel(),
        defaults=True,
        quiet=True,
        unsafe=False,
        overwrite=False,
        cleanup_on_error=False,
    )
    template = _template.Template(url=str(template_dir))
    # Pre-filled cached properties: a plain folder, no VCS lookup, no git index sync.
    template.__dict__["vcs"] = None
    worker.__dict__["template"] = template
    worker.__dict__["_sync_git_index_executable_bit"] = _no_git_sync
    with worker:
        worker.run_copy()


def _render_public(template_dir: Path, destination: Path, data: dict[str, Any]) -> None:
    copier = _copier()
    copier.run_copy(
        str(template_dir),
        destination,
        data=data,
        settings=copier.Settings(),
        defaults=True,
        quiet=True,
        unsafe=False,
        overwrite=False,
        cleanup_on_error=False,
    )


def render_template(template_dir: Path, destination: Path, data: dict[str, Any]) -> None:
    """Render ``template_dir`` into ``destination`` (blocking: call in a thread).

    Raises :class:`RenderError` with code ``unsafe_template`` or ``render_failed``.
    """
    _copier()
    from copier.errors import CopierError, UnsafeTemplateError

    try:
        if fast_path_available():
            _render_fast(template_dir, destination, data)
        else:
            _render_public(template_dir, destination, data)
    except UnsafeTemplateError as exc:
        raise RenderError("unsafe_template", f"template needs unsafe features: {exc}") from exc
    except CopierError as exc:  # includes CopierAnswersInterrupt (a KeyboardInterrupt)
        raise RenderError("render_failed", f"Copier failed: {exc}") from exc
    except Exception as exc:  # Jinja errors, YAML errors, I/O: all "the render failed"
        _log.debug("render of %s failed", template_dir, exc_info=True)
        raise RenderError("render_failed", f"{type(exc).__name__}: {exc}") from exc
