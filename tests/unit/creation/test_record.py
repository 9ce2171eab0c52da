"""Creation records, generated READMEs and naming rules (the NAS sync queue: tests/unit/sync)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from tray_app.creation.naming import (
    find_unsafe_entries,
    project_name_problem,
    run_folder_name,
    segment_problem,
)
from tray_app.creation.readme import readme_text
from tray_app.creation.record import (
    CreationRecord,
    PathsRecord,
    PluginRecord,
    TemplateRecord,
    read_record,
    record_path,
    valid_record,
    write_record,
)


def sample_record() -> CreationRecord:
    return CreationRecord(
        session_id="s-1",
        kind="run",
        request={"kind": "run", "project_name": "P", "label": "plate 7"},
        template=TemplateRecord(name="exlab-run", version="1.0.0", kind="run", path="/t"),
        variables={"sample_count": 12},
        answers={"plate_map": {"notes": "ok"}},
        plugins=[PluginRecord(name="plate_map", version="1.0.0", status="ok", runs=2, prompts=1)],
        paths=PathsRecord(destination="/d", local_root="/", relative="d", project="/p"),
        sync_status="queued",
        created_by="ada",
        created_at="2026-03-01T09:00:05.000Z",
        host="bench-1",
        app_version="0.1.0",
    )


def test_record_round_trips_and_replaces_atomically(tmp_path: Path) -> None:
    record = sample_record()
    path = write_record(tmp_path, record)
    assert path == record_path(tmp_path) == tmp_path / ".exlab-wizard" / "creation.json"
    assert read_record(tmp_path) == record
    updated = msgspec.structs.replace(record, sync_status="blocked_by_validation")
    write_record(tmp_path, updated)
    assert read_record(tmp_path).sync_status == "blocked_by_validation"
    assert sorted(p.name for p in path.parent.iterdir()) == ["creation.json"]  # no temp left


def test_malformed_record_is_an_error_not_a_guess(tmp_path: Path) -> None:
    record_path(tmp_path).parent.mkdir()
    record_path(tmp_path).write_text('{"schema_version": 1}')
    with pytest.raises(msgspec.ValidationError):
        read_record(tmp_path)


def test_valid_record_is_the_record_or_none_never_an_error(tmp_path: Path) -> None:
    assert valid_record(tmp_path) is None  # no .exlab-wizard at all
    record_path(tmp_path).parent.mkdir()
    assert valid_record(tmp_path) is None  # claimed, no record yet
    record_path(tmp_path).write_bytes(b'{"schema_version": 1, "session_id": "s-')
    assert valid_record(tmp_path) is None  # half-written
    record_path(tmp_path).write_bytes(b"\xff\xfe not json")
    assert valid_record(tmp_path) is None
    record_path(tmp_path).unlink()
    record_path(tmp_path).mkdir()  # a folder where the file should be
    assert valid_record(tmp_path) is None
    record_path(tmp_path).rmdir()
    write_record(tmp_path, sample_record())
    assert valid_record(tmp_path) == sample_record()


def test_generated_readme_describes_the_request() -> None:
    text = readme_text(
        {
            "exlab_kind": "run",
            "folder_name": "Run_2026-03-01T10-00-05",
            "project_name": "Glycan_Screen",
            "equipment_id": "TECAN",
            "equipment_name": "Tecan Spark",
            "operator": "ada",
            "label": "plate | 7\n# not a heading",
            "objective": "Find the glycans.",
            "created_at": "2026-03-01T10:00:05+01:00",
        },
        "exlab-run",
        [("plate_map", "ok")],
    )
    assert text.startswith("# Run Run_2026-03-01T10-00-05\n")
    assert "| Label | plate / 7 # not a heading |" in text
    assert "| Equipment | Tecan Spark (TECAN) |" in text
    assert "## Objective\n\nFind the glycans." in text
    assert "- plate_map: ok" in text


@pytest.mark.parametrize(
    "name",
    ["Glycan_Screen", "HPLC run 2 (2026)", "Étude-7", "a.b+c,d", "x" * 80],
)
def test_good_project_names(name: str) -> None:
    assert project_name_problem(name) is None


@pytest.mark.parametrize(
    "name",
    ["", " ", ".", "..", "a/b", "a\\b", "x:y", "q?", "NUL", "com1.txt", "tab\tname",
     "end.", "end ", "-dash", "_under", "x" * 81, "semi;colon", "pipe|x"],
)  # fmt: skip
def test_bad_project_names(name: str) -> None:
    assert project_name_problem(name) is not None


def test_segment_rules_allow_dotfiles_but_not_device_names() -> None:
    assert segment_problem(".exlab-wizard") is None
    assert segment_problem("plate_map.csv") is None
    assert segment_problem("AUX.csv") == "is a reserved device name on Windows"
    assert segment_problem("é" * 128) == "is longer than 255 bytes"


def test_run_folder_names_use_local_time_and_suffixes() -> None:
    moment = datetime(2026, 3, 1, 9, 0, 5, tzinfo=UTC)
    local = moment.astimezone().strftime("%Y-%m-%dT%H-%M-%S")
    assert run_folder_name("Run", moment) == f"Run_{local}"
    assert run_folder_name("TestRun", moment, 2) == f"TestRun_{local}_2"


def test_find_unsafe_entries_walks_without_following_links(tmp_path: Path) -> None:
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "fine.txt").write_text("x")
    (tmp_path / "ok" / "bad?.txt").write_text("x")
    os.symlink(tmp_path.parent, tmp_path / "up")
    assert find_unsafe_entries(tmp_path) == [
        "ok/bad?.txt: name contains ?",
        "up: is a symbolic link",
    ]
