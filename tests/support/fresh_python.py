"""Running a probe in a fresh interpreter: what a module imports (or loads) at start is
only seen where nothing has imported it yet, and pytest's own plugins have imported much."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["probe"]

REPO = Path(__file__).resolve().parents[2]


def probe(code: str, *, timeout: float = 120, **env: str) -> Any:
    """Run ``code`` with this Python (offscreen Qt, from the repository, ``env`` added);
    returns the JSON its last line prints. A failing probe fails with its stderr."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", **env},
        cwd=str(REPO),
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])
