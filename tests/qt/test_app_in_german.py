"""The desktop app's own notices in German: a real DesktopApp started on a settings file that
says ``language = "de"`` and has five problems tells of them in German (the first three
named, "… und 2 weitere"), and an error nothing caught on the loop is told in German too.
What the problems and the error say of themselves is data, set aside first."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from tests.qt.loop_helpers import settle
from tests.support.catalogs import english_words
from tray_app import i18n, paths
from tray_app.config import load_settings
from tray_app.ui.notifications import NullBackend

FIVE_PROBLEMS = """\
language = "de"
gc_interval_s = "often"
log_level = 42
heartbeat_s = 3
foo = 1
bar = 2
"""


@pytest.fixture
def english_after() -> Iterator[None]:
    yield
    i18n.install("en")


def assert_german(text: str, data: list[str]) -> None:
    rest = text
    for item in sorted(data, key=len, reverse=True):
        rest = rest.replace(item, " ")
    assert not english_words(rest), f"English in {text!r}: {english_words(rest)}"


@pytest.mark.usefixtures("english_after")
def test_the_apps_notices_read_in_german(
    tray_loop: asyncio.AbstractEventLoop, make_app: Any
) -> None:
    path = paths.settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(FIVE_PROBLEMS, encoding="utf-8")
    loaded = load_settings(path)
    assert loaded.settings.language == "de" and len(loaded.problems) == 5
    desktop, _task = make_app(loaded=loaded)
    backend = desktop.notifier.backend
    assert isinstance(backend, NullBackend)

    problems = backend.shown[0]
    assert problems.summary == "Die ExLab-Tray-Einstellungen haben Probleme"
    lines = problems.body.split("\n")
    assert lines[0] == "Die übrigen Einstellungen gelten."
    assert lines[1:4] == [str(p) for p in loaded.problems[:3]]
    assert lines[4:] == ["… und 2 weitere"]
    assert_german(problems.body, [str(p) for p in loaded.problems])

    def broken() -> None:
        raise ZeroDivisionError("boom")

    tray_loop.call_soon(broken)
    settle(tray_loop)
    error = backend.shown[-1]
    assert error.summary == "ExLab Tray ist auf einen internen Fehler gestoßen"
    log = paths.log_dir() / "exlab-tray.log"
    assert error.body == f"ZeroDivisionError: boom\nDetails stehen in {log}."
    assert_german(error.summary + "\n" + error.body, ["ZeroDivisionError: boom", str(log)])
