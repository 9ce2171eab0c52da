"""The prompt dialog, New run and the sessions window as a screen reader reads them.

Under Xvfb and ``dbus-run-session`` (which starts the AT-SPI bus), with Qt's bridge on,
``a11y_windows.py`` opens the three windows on a real waiting run and Debian's pyatspi reads
their accessible trees (what Orca reads). Every focusable object must have a role and a name;
prompt fields are named by their labels and described by their hints.

The tree read for the prompt dialog and screenshots of the three windows are kept in the
test's folder, and copied to ``$EXLAB_SCREENS_DIR`` when that is set.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.desktop_env import REPO, _start_xvfb, missing_tools

pytestmark = pytest.mark.slow

SYSTEM_PYTHON = Path("/usr/bin/python3")


def _pyatspi_missing() -> bool:
    if not SYSTEM_PYTHON.exists():
        return True
    probe = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", "import pyatspi"], capture_output=True, check=False
    )
    return probe.returncode != 0


MISSING = missing_tools("Xvfb", "dbus-run-session", "import") + (
    ["python3-pyatspi"] if _pyatspi_missing() else []
)

#: Roles a focusable object may not have: they tell a screen reader nothing.
VAGUE_ROLES = {"", "unknown", "invalid", "filler", "redundant object"}


def describe(nodes: list[dict[str, Any]]) -> str:
    """The tree as text, one object a line, indented by depth."""
    lines = []
    for node in nodes:
        extra = []
        if node["description"]:
            extra.append(f"description={node['description']!r}")
        if node["labelled_by"]:
            extra.append(f"labelled by {node['labelled_by']}")
        focusable = "focusable" in node["states"]
        lines.append(
            "  " * node["depth"]
            + f"{node['role']} {node['name']!r}"
            + (" [focusable]" if focusable else "")
            + (f" ({'; '.join(extra)})" if extra else "")
        )
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if MISSING:
        pytest.skip(f"accessibility test tools not installed: {MISSING}")
    workdir = tmp_path_factory.mktemp("a11y")
    out = workdir / "out"
    xvfb, display = _start_xvfb(workdir, "1600x1200")
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DBUS_", "QT_QPA"))}
        env.update(
            DISPLAY=display,
            QT_QPA_PLATFORM="xcb",
            QT_LINUX_ACCESSIBILITY_ALWAYS_ON="1",
            EXLAB_TRAY_HOME=str(workdir / "home"),
        )
        env.pop("NO_AT_BRIDGE", None)
        done = subprocess.run(
            ["dbus-run-session", "--", sys.executable, "-m", "tests.e2e.a11y_windows", str(out)],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)
    assert done.returncode == 0, done.stdout + done.stderr
    data: dict[str, Any] = json.loads((out / "trees.json").read_text())
    by_object = {name: data["windows"][title] for name, title in data["qt_windows"].items()}
    (out / "prompt_dialog-tree.txt").write_text(describe(by_object["prompt_dialog"]))
    keep = os.environ.get("EXLAB_SCREENS_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for name in ("prompt_dialog-tree.txt", *(f"{w}.png" for w in by_object)):
            shutil.copy(out / name, Path(keep) / f"a11y-{name}")
    return by_object


@pytest.mark.parametrize("window", ["prompt_dialog", "new_run_dialog", "sessions_window"])
def test_every_focusable_object_has_a_role_and_a_name(trees: dict[str, Any], window: str) -> None:
    focusable = [n for n in trees[window] if "focusable" in n["states"]]
    assert len(focusable) >= 5, describe(trees[window])
    nameless = [n for n in focusable if not n["name"].strip() or n["role"] in VAGUE_ROLES]
    assert nameless == [], describe(nameless)


def _field(nodes: list[dict[str, Any]], role: str, labelled_by: str) -> dict[str, Any]:
    for node in nodes:
        if node["role"] == role and labelled_by in node["labelled_by"]:
            return node
    raise AssertionError(f"no {role} labelled {labelled_by!r} in\n{describe(nodes)}")


def test_prompt_fields_are_named_by_their_labels_and_described_by_their_hints(
    trees: dict[str, Any],
) -> None:
    nodes = trees["prompt_dialog"]
    count = _field(nodes, "spin button", "Number of samples *")
    assert count["name"] == "Number of samples"
    assert count["description"].startswith("Sample ids S001")
    date = _field(nodes, "spin button", "Preparation date *")
    assert (date["name"], date["description"]) == ("Preparation date", "YYYY-MM-DD")
    notes = _field(nodes, "text", "Notes")
    assert notes["name"] == "Notes" and notes["description"].startswith("Written to")
    (controls,) = [n for n in nodes if n["role"] == "check box"]
    assert controls["name"] == "Include controls"
    assert controls["description"].startswith("Reserve the last two wells")
    # On Linux Qt names a combo box by its value and labels it by relation (Orca reads
    # both); its list of choices is named after the field.
    plate = _field(nodes, "combo box", "Plate type *")
    assert plate["name"] == "96-well"
    assert any(n["role"] == "list" and n["name"] == "Plate type: choices" for n in nodes)
    buttons = {n["name"]: n["description"] for n in nodes if n["role"] == "push button"}
    assert buttons == {
        "Submit": "",
        "Close": "Close this window; the session keeps waiting",
        "Cancel session…": "Stop this session",
    }


def test_new_run_names_the_editable_project_field_and_labels_every_input(
    trees: dict[str, Any],
) -> None:
    nodes = trees["new_run_dialog"]
    project = _field(nodes, "combo box", "Project *")
    assert any(n["role"] == "text" and n["name"] == "Project" for n in nodes)
    assert project["name"]  # the typed project
    for label in ("Equipment *", "Run kind", "Template *"):
        _field(nodes, "combo box", label)
    for label, name in (
        ("Label *", "Label"),
        ("Operator *", "Operator"),
        ("Objective", "Objective"),
    ):
        assert _field(nodes, "text", label)["name"] == name


def test_the_sessions_window_reads_its_table_and_actions(trees: dict[str, Any]) -> None:
    nodes = trees["sessions_window"]
    (table,) = [n for n in nodes if n["role"] == "table"]
    assert table["name"] == "Sessions"
    cells = [n["name"] for n in nodes if n["role"] == "table cell"]
    assert "Needs input" in cells and "Failed" in cells
    assert "no folder yet" in cells  # an empty cell still says something
    buttons = [n["name"] for n in nodes if n["role"] == "push button"]
    assert buttons == [
        "Answer…",
        "Details…",
        "Cancel…",
        "Open folder",
        "Copy details",
        "New project…",
        "New run…",
    ]
