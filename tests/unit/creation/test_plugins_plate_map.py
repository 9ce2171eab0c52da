"""The bundled plate_map plugin, run for real through the host: it asks for what
the run's variables lack, asks again when the samples do not fit, and writes a
plate map CSV that a plate reader or pipetting robot can use."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from plugin_helpers import BUNDLED_PLUGINS, make_payload, matching

from tray_app.creation.plugins.host import PluginResult, run_plugin
from tray_app.creation.plugins.manifest import PluginManifest, discover_plugins
from tray_app.creation.prompt import check_answers


@pytest.fixture
def plate_map() -> PluginManifest:
    plugins, problems = discover_plugins([BUNDLED_PLUGINS])
    assert problems == []
    return plugins["plate_map"]


@pytest.fixture
def destination(tmp_path: Path) -> Path:
    folder = tmp_path / "Run_2026-03-01T09-00-00"
    folder.mkdir()
    return folder


def read_map(destination: Path) -> list[dict[str, str]]:
    with (destination / "plate_map.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def answer(result: PluginResult, given: dict[str, object]) -> dict[str, object]:
    """What the controller does with a prompt: check the answers against its typed fields."""
    assert result.fields is not None
    return check_answers(result.fields, given)


async def test_variables_that_say_everything_need_no_prompt(
    plate_map: PluginManifest, destination: Path
) -> None:
    variables = {"sample_count": "10", "plate_type": "96-well", "prep_date": "2026-03-01"}
    result = await run_plugin(plate_map, make_payload(destination, variables), destination)
    assert result.status == "ok", result.message
    assert result.files == ["plate_map.csv", "plate_map_notes.txt"]
    rows = read_map(destination)
    assert [r["well"] for r in rows[:13]] == [f"A{c}" for c in range(1, 13)] + ["B1"]
    assert rows[-1]["well"] == "H12" and len(rows) == 96
    assert [r["sample_id"] for r in rows[:10]] == [f"S{n:03d}" for n in range(1, 11)]
    assert {r["role"] for r in rows[10:]} == {"empty"}
    assert not matching(destination, ".*.tmp")  # atomic writes leave no temp files


async def test_prompt_then_second_prompt_then_a_384_well_map(
    plate_map: PluginManifest, destination: Path
) -> None:
    first = await run_plugin(plate_map, make_payload(destination), destination)
    assert first.status == "input_required"
    assert first.fields is not None
    by_id = {f.id: f for f in first.fields}
    assert by_id["sample_count"].type == "integer"
    assert (by_id["sample_count"].min, by_id["sample_count"].max) == (1, 384)
    assert by_id["plate_type"].options == ["96-well", "384-well"]
    assert by_id["prep_date"].type == "date"
    assert by_id["include_controls"].type == "boolean"
    assert by_id["notes"].required is False
    assert not (destination / "plate_map.csv").exists()

    # Answers as typed on the command line: strings all round.
    answers = answer(first, {
        "sample_count": "100", "plate_type": "96-well", "prep_date": "2026-03-01",
        "include_controls": "yes", "notes": "Thaw on ice; plate 7 of 12.",
    })  # fmt: skip
    second = await run_plugin(
        plate_map, make_payload(destination, answers=answers, attempt=2), destination
    )
    assert second.status == "input_required"
    assert second.reason is not None
    assert "holds 94 samples" in second.reason and "100 were requested" in second.reason
    assert second.fields is not None
    defaults = {f.id: f.default for f in second.fields}
    assert defaults["sample_count"] == 100 and defaults["include_controls"] is True

    merged = {**answers, **answer(second, {"plate_type": "384-well", "sample_count": 100,
                                           "include_controls": True,
                                           "notes": answers["notes"]})}  # fmt: skip
    done = await run_plugin(
        plate_map, make_payload(destination, answers=merged, attempt=3), destination
    )
    assert done.status == "ok", done.message
    assert done.data == {"plate_type": "384-well", "sample_count": 100, "controls": True}
    rows = read_map(destination)
    assert len(rows) == 384 and rows[-1]["well"] == "P24"
    by_well = {r["well"]: r for r in rows}
    assert by_well["A1"]["sample_id"] == "S001"
    assert by_well["A24"]["sample_id"] == "S024" and by_well["B1"]["sample_id"] == "S025"
    assert by_well["E4"]["sample_id"] == "S100"
    assert by_well["E5"]["role"] == "empty"
    assert (by_well["P23"]["sample_id"], by_well["P24"]["sample_id"]) == ("NEG", "POS")
    assert by_well["P24"]["role"] == "control"
    notes = (destination / "plate_map_notes.txt").read_text()
    assert "Plate type: 384-well" in notes and "Prep date: 2026-03-01" in notes
    assert "Project: Glycan_Screen" in notes and "Thaw on ice; plate 7 of 12." in notes
