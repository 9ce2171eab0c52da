"""What the command line prints in German, as a person runs it against a real instance: a
real ``exlab-tray serve`` and real ``python -m tray_app`` subprocesses, sessions in several
states (a project done, a run waiting for input, a run answered and done, one failed after
its plugin kept asking, one cancelled), then ``new``, ``answer`` (refused), ``watch``,
``list``, ``show``, ``cancel``, ``sync`` and ``report`` find no common English word in what
they print. Twice: with no locale at all and ``language = "de"`` in the settings (the CLI
follows the setting, as the tray does), and with ``LANGUAGE=de`` and no setting.

Set aside as data first: what the plugin says (its question, its field labels), the names
a person typed (project, label, equipment, operator), ids, paths, times and the commands
the output suggests typing."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.api.serve_process import Serve
from tests.support.catalogs import REPO, english_words
from tray_app import paths

#: What a person types, or the output quotes for typing: not words.
_NAMES = re.compile(
    r"exlab-tray(?: [a-z]+)?(?: ID| [0-9a-f-]{36})?(?: KEY=VALUE \.\.\.)?"
    r"|[0-9a-f]{8}-[0-9a-f-]{27}"  # session and job ids
    r"|\S*/\S*"  # paths
    r"|\b[A-Z][A-Z_=]+\b"  # KEY=VALUE, column headings are checked as translated below
    r"|\b\w+_\w+\b"  # wire names (sync_status=...)
    r"|\d{4}-\d\d-\d\d[T ][\d:.]+Z?"
)
TYPED = ("Alpha", "Plate1", "Plate2", "Crowded", "DEMO", "ana", "plate_map", "96-well")


def cli(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "tray_app", *argv],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def english_left(text: str, data: list[str]) -> set[str]:
    for item in sorted(data, key=len, reverse=True):
        text = text.replace(item, " ")
    return english_words(_NAMES.sub(" ", text))


def plugin_words(handle: dict[str, Any]) -> list[str]:
    """What the plugin says while a session waits on it (its question, its fields)."""
    prompt = handle.get("pending_input") or {}
    words = [str(prompt.get("reason") or "")]
    for field in prompt.get("fields") or []:
        words += [str(field.get(k) or "") for k in ("label", "hint", "id")]
        words += [str(o) for o in field.get("options") or []]
    return [w for w in words if w]


def german_env(*, setting: bool) -> dict[str, str]:
    """The test's own home (the autouse fixture), with no locale, or with LANGUAGE=de."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG"))}
    if not setting:
        env["LANGUAGE"] = "de"
    settings = paths.settings_path()
    settings.parent.mkdir(parents=True, exist_ok=True)
    local = Path(env["EXLAB_TRAY_HOME"]) / "ExLab"
    lines = [f'local_root = "{local}"'] + (['language = "de"'] if setting else [])
    settings.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return env


@pytest.mark.slow
@pytest.mark.parametrize("setting", [True, False], ids=["language-setting", "LANGUAGE=de"])
def test_the_cli_prints_german_for_sessions_in_every_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: bool
) -> None:
    env = german_env(setting=setting)
    # serve reads the same settings and environment: its words (titles, refusals) are
    # German too (docs/api.md: API words are in the serving process's language).
    for name in [k for k in os.environ if k.startswith(("LC_", "LANG"))]:
        monkeypatch.delenv(name)
    if not setting:
        monkeypatch.setenv("LANGUAGE", "de")
    server = Serve(tmp_path / "serve.log")
    printed: list[str] = []
    data: list[str] = list(TYPED)
    today = dt.date.today().isoformat()

    def run(*argv: str, codes: tuple[int, ...] = (0,)) -> str:
        done = cli(*argv, env=env)
        assert done.returncode in codes, (argv, done.stdout, done.stderr)
        if "--json" not in argv:  # JSON is for programs: wire values, English keys
            printed.append(done.stdout + done.stderr)
        return done.stdout + done.stderr

    try:
        run("new", "project", "-e", "DEMO", "-p", "Alpha", "-o", "ana", "--watch")
        base = ("new", "run", "-e", "DEMO", "-p", "Alpha", "-o", "ana")
        opened = run(*base, "-l", "Plate1")
        waiting = re.search(r"[0-9a-f]{8}-[0-9a-f-]{27}", opened)
        assert waiting, opened
        handle = server.wait_for_state(waiting.group(0), {"input_required"})
        data += plugin_words(handle)
        refused = run("answer", waiting.group(0), "sample_count=999", codes=(2,))
        assert "sample_count" not in refused.split(":")[0]

        # Answered from a file through watch: its frames until done.
        answers = tmp_path / "answers.json"
        answers.write_text(
            json.dumps({"sample_count": 8, "plate_type": "96-well", "prep_date": today}),
            encoding="utf-8",
        )
        second = json.loads(run(*base, "-l", "Plate2", "--json"))["session_id"]
        data += plugin_words(server.wait_for_state(second, {"input_required"}))
        run("watch", second, "--answers", str(answers))

        # 200 samples never fit the plate it insists on: the plugin asks until the limit.
        crowded = tmp_path / "crowded.json"
        crowded.write_text(
            json.dumps({"sample_count": 200, "plate_type": "96-well", "prep_date": today}),
            encoding="utf-8",
        )
        failing = json.loads(run(*base, "-l", "Crowded", "--json"))["session_id"]
        data += plugin_words(server.wait_for_state(failing, {"input_required"}))
        watched = run("watch", failing, "--answers", str(crowded), codes=(1,))
        # The plugin's own question, each time it asks again (it names the numbers).
        data += re.findall(r"A 96-well plate holds [^\n]*", watched)

        third = json.loads(run(*base, "-l", "Plate2", "--json"))["session_id"]
        server.wait_for_state(third, {"input_required"})
        run("cancel", third)

        listed = run("list")
        for heading in ("ZUSTAND", "ERSTELLT", "TITEL"):
            assert heading in listed
        for state in ("Wartet auf Eingabe", "Fertig", "Fehlgeschlagen", "Abgebrochen"):
            assert state in listed, listed
        for session_id in (waiting.group(0), second, failing, third):
            run("show", session_id, codes=(0, 1))
        run("sync")
        run("report", "--output", str(tmp_path))
    finally:
        server.stop()

    text = "\n".join(printed)
    assert "Sitzung" in text and "Messung" in text
    left = english_left(text, data)
    assert not left, f"English left ({sorted(left)}) in:\n{text}"
