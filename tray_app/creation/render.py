"""Renders a Copier template into a destination folder.

This runs in the render worker process (:mod:`render_worker`); the tray only
imports :class:`RenderError` from here, never Copier. Rendering never prompts
(every answer is supplied, ``defaults=True``) and never runs template tasks
(``unsafe=False``).

Template folders are rendered as they are on disk, through
:mod:`copier_fast` (no ``git`` spawns, Jinja compiled once per string) when
this Copier has the internals it needs, else through the public
``copier.run_copy``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from tray_app.creation import copier_fast
from tray_app.creation.disk_errors import disk_error
from tray_app.i18n import _

__all__ = ["RenderError", "fast_path_available", "import_copier", "render_template"]

_log = logging.getLogger(__name__)


class RenderError(Exception):
    """Copier refused or failed to render; ``code`` is stable, the message is Copier's."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _copier() -> Any:
    import copier

    return copier


def import_copier() -> None:
    """Import Copier now (~0.5 s), so the first render does not pay for it."""
    _copier()


def fast_path_available() -> bool:
    """True when this Copier has the internals :mod:`copier_fast` relies on."""
    return copier_fast.available()


def _render_public(template_dir: Path, destination: Path, data: dict[str, Any]) -> None:
    copier = _copier()
    copier.run_copy(
        str(template_dir),
        destination,
        data=data,
        settings=copier.Settings(),
        **copier_fast.RENDER_OPTIONS,
    )


def render_template(template_dir: Path, destination: Path, data: dict[str, Any]) -> None:
    """Render ``template_dir`` into ``destination`` (blocking: call in a thread).

    Raises :class:`RenderError` with code ``unsafe_template`` or ``render_failed``.
    """
    _copier()
    from copier.errors import CopierError, UnsafeTemplateError

    try:
        if fast_path_available():
            copier_fast.render(template_dir, destination, data)
        else:
            _render_public(template_dir, destination, data)
    except UnsafeTemplateError as exc:
        raise RenderError("unsafe_template", f"template needs unsafe features: {exc}") from exc
    except CopierError as exc:  # includes CopierAnswersInterrupt (a KeyboardInterrupt)
        raise RenderError("render_failed", f"Copier failed: {exc}") from exc
    except OSError as exc:  # a full disk, a refused permission: said as such
        raise RenderError(*disk_error(exc, _("rendering the template"))) from exc
    except Exception as exc:  # Jinja errors, YAML errors, I/O: all "the render failed"
        _log.debug("render of %s failed", template_dir, exc_info=True)
        raise RenderError("render_failed", f"{type(exc).__name__}: {exc}") from exc
