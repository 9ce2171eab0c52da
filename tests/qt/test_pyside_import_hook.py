"""With keep_no_sources, PySide's import hook still tells a module that mentions PySide6
from one that does not, and leaves neither's source in linecache. A fresh interpreter:
pytest's own imports went through the unpatched hook in this one."""

from __future__ import annotations

from pathlib import Path

from tests.support.fresh_python import probe

PROBE = """
import json, linecache, sys
import PySide6.QtWidgets
from tray_app.ui.pyside_import_hook import keep_no_sources
patched = keep_no_sources()
linecache.clearcache()
import uses_qt, plain
feature = sys.modules["shibokensupport.feature"]
print(json.dumps({
    "patched": patched,
    "defaults": [feature.pyside_feature_dict.get(n) for n in ("uses_qt", "plain")],
    "cached": [f for f in linecache.cache if f.endswith(("uses_qt.py", "plain.py"))],
}))
"""


def test_the_hook_tells_pyside_modules_apart_without_keeping_their_source(
    tmp_path: Path,
) -> None:
    (tmp_path / "uses_qt.py").write_text("from PySide6.QtCore import QObject\n")
    (tmp_path / "plain.py").write_text("VALUE = 1\n")
    found = probe(PROBE, PYTHONPATH=str(tmp_path))
    assert found == {"patched": True, "defaults": [0, -1], "cached": []}
