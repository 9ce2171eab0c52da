"""Site policy: IT's settings file gives every user's defaults and locks the keys it names."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tray_app import paths
from tray_app.config import load_settings


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


SITE = """\
# The lab's policy for every workstation.
locked = ["nas_root", "equipment"]
nas_root = "/mnt/lab-nas"
abandon_after_s = 7200
template_dirs = ["templates"]

[[equipment]]
id = "TECAN"
name = "Tecan Spark"
"""


def test_the_site_file_gives_defaults_and_a_user_file_overrides_what_is_not_locked(
    tmp_path: Path,
) -> None:
    site = tmp_path / "site"
    write(site / "settings.toml", SITE)
    user = write(tmp_path / "user" / "settings.toml", "abandon_after_s = 600\n")
    loaded = load_settings(user, site_dir=site)
    assert loaded.problems == []
    assert loaded.site_path == site / "settings.toml"
    assert loaded.locked == {"nas_root", "equipment"}
    settings = loaded.settings
    assert settings.nas_root == "/mnt/lab-nas"
    assert [e.id for e in settings.equipment] == ["TECAN"]
    assert settings.abandon_after_s == 600  # not locked: the user's value wins
    # A relative folder in the site file is relative to the site folder.
    assert settings.template_dirs == [str(site / "templates")]


def test_a_users_value_for_a_locked_key_is_ignored_and_said_so(tmp_path: Path) -> None:
    site = tmp_path / "site"
    write(site / "settings.toml", SITE)
    user = write(
        tmp_path / "user" / "settings.toml",
        """\
        gc_interval_s = 60
        nas_root = "/home/me/nas"

        [[equipment]]
        id = "MINE"
        name = "My own"
        """,
    )
    loaded = load_settings(user, site_dir=site)
    assert loaded.settings.nas_root == "/mnt/lab-nas"
    assert [e.id for e in loaded.settings.equipment] == ["TECAN"]
    assert loaded.settings.gc_interval_s == 60
    assert [(p.file, p.line, p.key) for p in loaded.problems] == [
        (str(user), 4, "equipment"),
        (str(user), 2, "nas_root"),
    ]
    assert loaded.problems[1].message == (
        f"`nas_root` is set for everyone by your site's policy ({site / 'settings.toml'}); "
        "the value here is ignored"
    )


def test_problems_in_the_site_file_are_named_with_its_path(tmp_path: Path) -> None:
    site = tmp_path / "site"
    write(site / "settings.toml", 'locked = ["nas_rot"]\ngc_interval_s = -1\n')
    loaded = load_settings(tmp_path / "none.toml", site_dir=site)
    assert [(p.file, p.line) for p in loaded.problems] == [
        (str(site / "settings.toml"), 2),
        (str(site / "settings.toml"), 1),
    ]
    assert "`locked` names `nas_rot`, which is not a setting" in loaded.problems[1].message
    assert loaded.locked == frozenset()
    assert loaded.settings.gc_interval_s == 300


def test_the_site_folder_is_the_platforms_unless_told_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exlab_home: Path
) -> None:
    # Under EXLAB_TRAY_HOME (tests, demos) the machine's /etc is never read.
    assert paths.site_config_dir() == exlab_home / "site"
    monkeypatch.setenv(paths.SITE_CONFIG_ENV, str(tmp_path / "policy"))
    assert paths.site_config_dir() == tmp_path / "policy"
    write(tmp_path / "policy" / "settings.toml", 'nas_root = "/mnt/x"\nlocked = ["nas_root"]\n')
    assert load_settings().settings.nas_root == "/mnt/x"
    monkeypatch.delenv(paths.SITE_CONFIG_ENV)
    monkeypatch.delenv(paths.HOME_ENV)
    monkeypatch.setenv("XDG_CONFIG_DIRS", f"{tmp_path / 'xdg'}:/etc/xdg")
    # platformdirs: the first of XDG_CONFIG_DIRS, /etc/xdg when it is not set.
    assert paths.site_config_dir() == tmp_path / "xdg" / "exlab-tray"
    monkeypatch.delenv("XDG_CONFIG_DIRS")
    assert paths.site_config_dir() == Path("/etc/xdg/exlab-tray")


EXAMPLE = Path(__file__).resolve().parents[2] / "packaging" / "site" / "settings.toml"


def test_the_packaged_example_sets_nothing_and_is_right_once_uncommented(tmp_path: Path) -> None:
    # As installed: every line a comment, so it changes nothing.
    loaded = load_settings(tmp_path / "user.toml", site_dir=EXAMPLE.parent)
    assert loaded.problems == [] and loaded.locked == frozenset()
    assert loaded.settings.nas_root is None
    # Each example, uncommented, is a valid setting.
    text = EXAMPLE.read_text(encoding="utf-8").splitlines()
    example = [line.removeprefix("# ") for line in text if line.startswith("# ") and (
        "=" in line or line.startswith("# [[") or line.strip() == "#"
    )]  # fmt: skip
    write(tmp_path / "site" / "settings.toml", "\n".join(example) + "\n")
    loaded = load_settings(tmp_path / "user.toml", site_dir=tmp_path / "site")
    assert loaded.problems == []
    assert loaded.locked == {"nas_root", "equipment", "operators"}
    assert [e.id for e in loaded.settings.equipment] == ["TECAN_1", "HPLC_2"]
