"""Plugin manifests and discovery: good folders load, bad ones are problems, not crashes."""

from __future__ import annotations

from pathlib import Path

import pytest
from plugin_helpers import BUNDLED_PLUGINS, FIXTURES

from tray_app.creation.plugins.manifest import ManifestError, discover_plugins, load_manifest


def make_plugin(base: Path, folder: str, toml: str, entry: str | None = "plugin.py") -> Path:
    path = base / folder
    path.mkdir(parents=True)
    (path / "plugin.toml").write_text(toml)
    if entry:
        (path / entry).write_text("def run(payload):\n    return {'status': 'ok'}\n")
    return path


def test_bundled_plate_map_manifest_loads_with_its_limits() -> None:
    plugins, problems = discover_plugins([BUNDLED_PLUGINS])
    assert problems == []
    plate_map = plugins["plate_map"]
    assert plate_map.version == "1.0.0"
    assert plate_map.timeout_s == 20.0 and plate_map.memory_mb == 256
    assert plate_map.path == (BUNDLED_PLUGINS / "plate_map").resolve()
    assert plate_map.entry_path.is_file()


def test_defaults_apply_and_a_plugin_folder_can_be_listed_directly(tmp_path: Path) -> None:
    folder = make_plugin(tmp_path, "tiny", 'name = "tiny"\nversion = "0.1"\n')
    plugins, problems = discover_plugins([folder])
    assert problems == []
    tiny = plugins["tiny"]
    assert (tiny.entry, tiny.description, tiny.extensions) == ("plugin.py", "", [])
    assert (tiny.timeout_s, tiny.memory_mb) == (30.0, 512)
    assert tiny.path == folder.resolve()


@pytest.mark.parametrize(
    ("toml", "entry", "message"),
    [
        ('name = "x"\nversion = "1"\nbroken', "plugin.py", "not valid TOML"),
        ('version = "1"\n', "plugin.py", "missing required field `name`"),
        ('name = "x"\nversion = "1"\ncolour = "red"\n', "plugin.py", "unknown field `colour`"),
        ('name = "x"\nversion = "1"\npath = "/tmp"\n', "plugin.py", "unknown field `path`"),
        ('name = "x y"\nversion = "1"\n', "plugin.py", "name 'x y'"),
        ('name = "x"\nversion = ""\n', "plugin.py", "version must not be empty"),
        ('name = "x"\nversion = "1"\n', None, "entry file 'plugin.py' does not exist"),
        ('name = "x"\nversion = "1"\nentry = "../evil.py"\n', None, "inside the plugin folder"),
        ('name = "x"\nversion = "1"\ntimeout_s = 0\n', "plugin.py", "timeout_s must be > 0"),
        ('name = "x"\nversion = "1"\nmemory_mb = 8\n', "plugin.py", "memory_mb must be"),
        ('name = "x"\nversion = "1"\ntimeout_s = "slow"\n', "plugin.py", "Expected `float`"),
    ],
)
def test_broken_manifests_are_problems_not_crashes(
    tmp_path: Path, toml: str, entry: str | None, message: str
) -> None:
    make_plugin(tmp_path, "broken", toml, entry)
    make_plugin(tmp_path, "good", 'name = "good"\nversion = "1"\n')
    plugins, problems = discover_plugins([tmp_path])
    assert list(plugins) == ["good"]
    assert len(problems) == 1
    assert str(tmp_path / "broken" / "plugin.toml") in problems[0]
    assert message in problems[0]


def test_missing_dirs_duplicates_and_non_plugin_folders(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    make_plugin(first, "a", 'name = "same"\nversion = "1"\n')
    make_plugin(second, "b", 'name = "same"\nversion = "2"\n')
    (second / "__pycache__").mkdir()
    (second / "README.md").write_text("not a plugin")
    plugins, problems = discover_plugins([tmp_path / "nowhere", first, second])
    assert plugins["same"].version == "1"  # earlier folders win
    assert problems[0] == f"{tmp_path / 'nowhere'}: plugin folder does not exist"
    assert "already provided" in problems[1]
    assert len(problems) == 2


def test_load_manifest_raises_a_manifest_error_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"no plugin\.toml"):
        load_manifest(tmp_path)
    assert load_manifest(FIXTURES / "faulty").name == "faulty"


def test_a_manifest_declares_the_variables_it_reads(tmp_path: Path) -> None:
    from tray_app.creation.plugins.manifest import load_manifest

    folder = tmp_path / "reader"
    folder.mkdir()
    (folder / "plugin.py").write_text("def run(payload):\n    return {'status': 'ok'}\n")
    (folder / "plugin.toml").write_text(
        'name = "reader"\nversion = "1"\n[variables]\nbatch = "required"\nnote = "optional"\n'
    )
    assert load_manifest(folder).variables == {"batch": "required", "note": "optional"}
    (folder / "plugin.toml").write_text(
        'name = "reader"\nversion = "1"\n[variables]\nx = "maybe"\n'
    )
    with pytest.raises(ManifestError):
        load_manifest(folder)
