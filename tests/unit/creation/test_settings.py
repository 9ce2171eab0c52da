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
            'local_root = "/data"\noperators = ["ada",\n[[equipment]]\n',
            3,
            None,
            "TOML syntax",
            id="syntax",
        ),
        pytest.param(
            'local_root = "/data"\ngc_interval_s = "soon"\n',
            2,
            "gc_interval_s",
            "Expected `float`",
            id="wrong-type",
        ),
        pytest.param(
            'local_root = "/data"\n\nnas_rot = "/mnt/nas"\n',
            3,
            "nas_rot",
            "unknown field",
            id="unknown-key",
        ),
        pytest.param(
            '[[equipment]]\nid = "TECAN"\nname = "Tecan"\n\n'
            '[[equipment]]\nid = "hplc"\nname = "x"\n',
            6,
            "equipment[1].id",
            "matching regex",
            id="equipment-id-lowercase",
        ),
        pytest.param(
            '[[equipment]]\nid = "' + "A" * 33 + '"\nname = "Too long"\n',
            2,
            "equipment[0].id",
            "length <= 32",
            id="equipment-id-too-long",
        ),
        pytest.param(
            '[[equipment]]\nid = "TECAN"\nname = "a"\n[[equipment]]\nid = "TECAN"\nname = "b"\n',
            5,
            "equipment[1].id",
            "duplicate",
            id="equipment-id-duplicate",
        ),
        pytest.param(
            '[[equipment]]\nid = "TECAN"\ncolour = "red"\nname = "a"\n',
            3,
            "equipment[0].colour",
            "unknown field",
            id="unknown-equipment-key",
        ),
        pytest.param(
            'operators = []\nlocal_root = ""\n',
            2,
            "local_root",
            "length >= 1",
            id="empty-local-root",
        ),
        pytest.param(
            "max_prompts_per_plugin = 0\n",
            1,
            "max_prompts_per_plugin",
            ">= 1",
            id="out-of-range",
        ),
    ],
)
def test_a_broken_file_gives_defaults_and_a_located_problem(
    tmp_path: Path, text: str, line: int, key: str | None, words: str
) -> None:
    path = write(tmp_path / "settings.toml", text)
    loaded = load_settings(path)
    assert not loaded.from_file
    assert loaded.settings == default_settings()
    assert len(loaded.problems) == 1
    problem = loaded.problems[0]
    assert problem.file == str(path)
    assert problem.line == line
    assert problem.key == key
    assert words in problem.message
    assert str(path) in str(problem)


def test_unreadable_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_bytes(b"local_root = \xff\xfe\n")
    loaded = load_settings(path)
    assert loaded.settings == default_settings()
    assert loaded.problems and "cannot read" in loaded.problems[0].message


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
