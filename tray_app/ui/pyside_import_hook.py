"""PySide's import hook, without the copy of every module's source it leaves in linecache.

After each import, PySide (``shibokensupport.feature.feature_imported``) asks whether the
module mentions "PySide6" to set its ``__feature__`` default (snake_case and
true_property, which ExLab Tray does not use). It asks ``inspect.getsource``, which reads
the file through ``linecache`` and keeps every line there: ~9 MiB of the tray's heap for
the modules imported after PySide6 (tracemalloc), and even once emptied the freed lines
leave the heap fragmented (1.5 MiB of the idle tray's RSS). The same question answered
from the module's loader reads the file once and keeps nothing; the answer is the same.

``_mod_uses_pyside`` is private to PySide: when a release renames it, this does nothing
and the tray only costs that memory again.
"""

from __future__ import annotations

import sys
from types import ModuleType


def _mentions_pyside(module: ModuleType) -> bool:
    loader = getattr(module, "__loader__", None)
    get_source = getattr(loader, "get_source", None)
    if get_source is None:
        return False  # as inspect.getsource: no source, no PySide use found
    try:
        source = get_source(module.__name__)
    except (ImportError, OSError, SyntaxError, UnicodeDecodeError):
        return False
    return source is not None and "PySide6" in source


def keep_no_sources() -> bool:
    """Answer PySide's per-import question without linecache; True if it could be done.

    Call it once PySide6 is imported, before the rest of the UI.
    """
    feature = sys.modules.get("shibokensupport.feature")
    if feature is None or not callable(getattr(feature, "_mod_uses_pyside", None)):
        return False
    feature._mod_uses_pyside = _mentions_pyside  # type: ignore[attr-defined]
    return True
