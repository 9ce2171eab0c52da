"""``exlab-tray --self-test`` from source: it passes against the real service without
loading Qt, cleans up after itself, and reports a failure as a failure."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tray_app.selftest import answer_for, main

REPO = Path(__file__).resolve().parents[2]

RUN_WITHOUT_QT = """
import sys
from tray_app.selftest import main
code = main(sys.argv[1:])
qt = sorted(m for m in sys.modules if m.startswith(("PySide6", "qasync")))
print("QT MODULES:", qt)
sys.exit(code)
"""


def temporary_home(output: str) -> Path:
    match = re.search(r"temporary home: (.+)", output)
    assert match, output
    return Path(match.group(1).strip())


@pytest.mark.slow
def test_self_test_passes_headless_and_never_imports_qt(exlab_home: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "nonexistent-platform"}  # Qt would fail loudly
    result = subprocess.run(
        [sys.executable, "-c", RUN_WITHOUT_QT],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert re.search(r"self-test PASSED: (\d+)/\1 checks", out), out
    for check in (
        "project created through the API",
        "plugin prompt answered via /resume",
        "creation.json records the run",
        "sample plugin wrote its files",
    ):
        assert f"✓ {check}" in out
    assert "QT MODULES: []" in out
    # Its own throw-away home, removed afterwards; the caller's EXLAB_TRAY_HOME untouched.
    home = temporary_home(out)
    assert home != exlab_home
    assert not home.exists()
    assert not any(exlab_home.iterdir())


def test_failure_is_reported_with_exit_1_and_cleaned_up(
    exlab_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Far too little time for a Copier render: the session check must fail, not hang.
    code = main(["--timeout", "0.05"])
    out = capsys.readouterr().out
    assert code == 1
    assert "self-test FAILED" in out
    assert "✗" in out and "timed out" in out
    assert "Traceback" not in out
    assert "✓ service stops, runtime.json removed" in out
    assert not temporary_home(out).exists()
    assert os.environ["EXLAB_TRAY_HOME"] == str(exlab_home)  # restored


def test_keep_leaves_the_folders_for_inspection(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--keep"])
    out = capsys.readouterr().out
    assert code == 0, out
    home = temporary_home(out)
    try:
        records = list(home.rglob(".exlab-wizard/creation.json"))
        assert len(records) == 2  # the project and the run
        assert list(home.rglob("plate_map.csv"))
    finally:
        import shutil

        shutil.rmtree(home)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"id": "n", "type": "integer", "default": 7}, 7),
        ({"id": "n", "type": "integer", "min": 3}, 3),
        ({"id": "n", "type": "integer"}, 1),
        ({"id": "x", "type": "number", "min": 0.5}, 0.5),
        ({"id": "c", "type": "choice", "options": ["96-well", "384-well"]}, "96-well"),
        ({"id": "b", "type": "boolean"}, True),
        ({"id": "t", "type": "text"}, "selftest"),
    ],
)
def test_answers_satisfy_the_field(spec: dict[str, object], expected: object) -> None:
    assert answer_for(spec) == expected


def test_date_answer_is_iso() -> None:
    value = answer_for({"id": "d", "type": "date"})
    assert isinstance(value, str)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)
