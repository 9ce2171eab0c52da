"""Settings: embedded defaults, the TOML file, and every way a file can be broken."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tray_app import paths
from tray_app.config import (
    Equipment,
    Settings,
    default_settings,
    load_settings,
    settings_in_use,
    write_default_settings,
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_defaults_without_a_file_live_under_exlab_home(exlab_home: Path) -> None:
    loaded = load_settings()
    assert loaded.path == exlab_home / "config" / "settings.toml"
    assert not loaded.from_file and loaded.problems == []
    settings = loaded.settings
    assert settings.local_root_path() == exlab_home / "data" / "ExLab"
    assert [e.id for e in settings.equipment] == ["DEMO"]
    assert settings.template_paths() == [paths.resources_dir() / "templates"]
    assert settings.plugin_paths() == [paths.resources_dir() / "plugins"]
    for name in ("exlab-project", "exlab-run", "exlab-test-run"):
        assert (settings.template_paths()[0] / name / "copier.yml").is_file()
    assert (settings.plugin_paths()[0] / "plate_map" / "plugin.toml").is_file()
    assert settings.operators is None and settings.nas_root is None
    assert settings.max_prompts_per_plugin == 5


def test_a_good_file_overrides_only_what_it_sets(tmp_path: Path) -> None:
    path = write(
        tmp_path / "settings.toml",
        """\
        local_root = "~/LabData"
        operators = ["ada", "grace"]
        nas_root = "/mnt/nas"
        max_prompts_per_plugin = 2

        [[equipment]]
        id = "TECAN"
        name = "Tecan Spark"

        [[equipment]]
        id = "HPLC_2"
        name = "Agilent 1260"
        """,
    )
    loaded = load_settings(path)
    assert loaded.from_file and loaded.problems == []
    settings = loaded.settings
    assert settings.local_root_path() == Path("~/LabData").expanduser()
    assert settings.equipment == [
        Equipment("TECAN", "Tecan Spark"),
        Equipment("HPLC_2", "Agilent 1260"),
    ]
    assert settings.operators == ["ada", "grace"]
    assert settings.nas_root_path() == Path("/mnt/nas")
    assert settings.max_prompts_per_plugin == 2
    # Not in the file: still the defaults.
    assert settings.template_dirs == default_settings().template_dirs
    assert settings.gc_interval_s == 300


def test_relative_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path / "conf" / "settings.toml",
        'local_root = "data"\ntemplate_dirs = ["tpl", "/abs/tpl", "~/tpl"]\n',
    )
    settings = load_settings(path).settings
    assert settings.local_root_path() == tmp_path / "conf" / "data"
    assert settings.template_paths() == [
        tmp_path / "conf" / "tpl",
        Path("/abs/tpl"),
        Path("~/tpl").expanduser(),
    ]


def test_written_default_file_loads_back_to_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "settings.toml"
    write_default_settings(path)
    text = path.read_text()
    assert "# " in text and "[[equipment]]" in text
    loaded = load_settings(path)
    assert loaded.problems == [] and loaded.from_file
    assert loaded.settings == default_settings()


@pytest.mark.parametrize(
    ("text", "line", "key", "words"),
    [
        pytest.param(
            'local_root = "/data"\noperators = ["ada",\n[[equipment]]\nid = "TECAN"\nname = "T"\n',
            2,
            None,
            "this line is not valid TOML",
            id="syntax-unclosed-array",
        ),
        pytest.param(
            'local_root = "/data"\ngc_interval_s = "soon"\n',
            2,
            "gc_interval_s",
            '`gc_interval_s` must be a number greater than 0, not "soon"; it is ignored',
            id="wrong-type",
        ),
        pytest.param(
            'local_root = "/data"\n\nabandon_after = 60\n',
            3,
            "abandon_after",
            "there is no setting `abandon_after` (did you mean `abandon_after_s`?); it is ignored",
            id="unknown-key",
        ),
        pytest.param(
            '[[equipment]]\nid = "TECAN"\nname = "Tecan"\n\n'
            '[[equipment]]\nid = "hplc"\nname = "x"\n',
            6,
            "equipment[1].id",
            "equipment #2: the id must start with a capital letter and use only A-Z, 0-9 and _",
            id="equipment-id-lowercase",
        ),
        pytest.param(
            '[[equipment]]\nid = "TECAN"\nname = "T"\n[[equipment]]\nid = "'
            + "A" * 33
            + '"\nname = "Too long"\n',
            5,
            "equipment[1].id",
            "at most 32 characters",
            id="equipment-id-too-long",
        ),
        pytest.param(
            '[[equipment]]\nid = "TECAN"\nname = "a"\n[[equipment]]\nid = "TECAN"\nname = "b"\n',
            5,
            "equipment[1].id",
            'equipment #2: the id "TECAN" is already used by equipment #1; this entry is skipped',
            id="equipment-id-duplicate",
        ),
        pytest.param(
            'local_root = ""\n',
            1,
            "local_root",
            "`local_root` must be text that is not empty",
            id="empty-local-root",
        ),
        pytest.param(
            "max_prompts_per_plugin = 0\n",
            1,
            "max_prompts_per_plugin",
            "must be a whole number at least 1, not 0",
            id="out-of-range",
        ),
    ],
)
def test_a_bad_key_is_skipped_and_named_at_its_line(
    tmp_path: Path, text: str, line: int, key: str | None, words: str
) -> None:
    path = write(tmp_path / "settings.toml", text)
    loaded = load_settings(path)
    assert loaded.from_file
    assert len(loaded.problems) == 1, loaded.problems
    problem = loaded.problems[0]
    assert problem.file == str(path)
    assert problem.line == line
    assert problem.key == key
    assert words in problem.message
    assert str(problem).startswith(f"{path}, line {line}: ")


ISSUE_FILE = """\
# The operator's file from the issue: one typo must not cost the rest.
local_root = "/lab/data"
nas_root = "/mnt/nas"
abandon_after = 60

[[equipment]]
id = "TECAN"
name = "Tecan Spark"

[[equipment]]
id = "hplc_2"
name = "Agilent"

[[equipment]]
id = "HPLC_3"
name = "Agilent 1290"
colour = "red"

[[equipment]]
id = "MS_1"
name = "Orbitrap"
gc_interval_s = = 5
"""


def test_one_typo_costs_only_itself(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write(tmp_path / "settings.toml", ISSUE_FILE)
    with caplog.at_level("WARNING", logger="tray_app.config"):
        loaded = load_settings(path)
    settings = loaded.settings
    # Everything good applies: NAS sync stays on, the good instruments stay.
    assert settings.nas_root == "/mnt/nas" and settings.local_root == "/lab/data"
    assert [e.id for e in settings.equipment] == ["TECAN", "HPLC_3", "MS_1"]
    assert [(p.line, p.message) for p in loaded.problems] == [
        (4, "there is no setting `abandon_after` (did you mean `abandon_after_s`?); it is ignored"),
        (
            11,
            "equipment #2: the id must start with a capital letter and use only A-Z, 0-9 and _ "
            '(at most 32 characters), not "hplc_2"; this entry is skipped',
        ),
        (17, "equipment #3 has no setting `colour`; it is ignored"),
        (
            22,
            "this line is not valid TOML (Invalid value); it is skipped",
        ),
    ]
    # Every problem is in the log too.
    logged = [r.getMessage() for r in caplog.records]
    assert logged == [f"settings: {p}" for p in loaded.problems]


def test_settings_read_quietly_are_logged_once_when_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The command line reads them for its language before logging is set up; the command
    # it runs (tray, serve, report) goes on with them and logs their problems then, once.
    path = write(tmp_path / "settings.toml", ISSUE_FILE)
    with caplog.at_level("WARNING", logger="tray_app.config"):
        loaded = load_settings(path, quiet=True)
        assert caplog.records == []
        assert settings_in_use(loaded) is loaded
        assert settings_in_use(loaded) is loaded
    logged = [r.getMessage() for r in caplog.records]
    assert logged == [f"settings: {p}" for p in loaded.problems] and len(logged) == 4


def test_a_syntax_error_is_reported_where_its_statement_starts(tmp_path: Path) -> None:
    lines = ["# comment"] * 20 + ['operators = ["ada", "bob"', "", "# more", 'nas_root = "/n"']
    path = write(tmp_path / "settings.toml", "\n".join(lines) + "\n")
    loaded = load_settings(path)
    assert [p.line for p in loaded.problems] == [21]
    assert loaded.settings.nas_root == "/n"  # the statements after it still apply


def test_an_entry_without_a_required_key_is_skipped(tmp_path: Path) -> None:
    path = write(
        tmp_path / "settings.toml",
        '[[equipment]]\nid = "A"\nname = "a"\n\n[[equipment]]\nid = "B"\n',
    )
    loaded = load_settings(path)
    assert [e.id for e in loaded.settings.equipment] == ["A"]
    assert [(p.line, p.message) for p in loaded.problems] == [
        (
            5,
            'equipment #2 has no name (text that is not empty, in quotes ("...")); '
            "this entry is skipped",
        )
    ]


def test_no_usable_equipment_keeps_the_equipment_below(tmp_path: Path) -> None:
    path = write(tmp_path / "settings.toml", '[[equipment]]\nid = "bad"\nname = "x"\n')
    loaded = load_settings(path)
    assert [e.id for e in loaded.settings.equipment] == ["DEMO"]
    assert "no usable equipment entry here" in loaded.problems[-1].message


def test_unreadable_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_bytes(b"local_root = \xff\xfe\n")
    loaded = load_settings(path)
    assert loaded.settings == default_settings()
    assert loaded.problems and "cannot read this file" in loaded.problems[0].message


def test_settings_reject_unknown_fields_in_code_too() -> None:
    with pytest.raises(TypeError):
        Settings(  # type: ignore[call-arg]
            local_root="/x",
            template_dirs=[],
            plugin_dirs=[],
            equipment=[],
            operators=None,
            colour="red",
        )


def test_a_top_level_key_written_inside_a_table_is_named_as_misplaced(tmp_path: Path) -> None:
    path = write(
        tmp_path / "settings.toml",
        '[[equipment]]\nid = "A"\nname = "a"\ngc_interval_s = 5\n',
    )
    loaded = load_settings(path)
    assert [e.id for e in loaded.settings.equipment] == ["A"]
    assert [(p.line, p.message) for p in loaded.problems] == [
        (
            4,
            "equipment #1 has no setting `gc_interval_s` (`gc_interval_s` is a setting of its "
            "own: write it above the first [table] or [[table]] line); it is ignored",
        )
    ]
