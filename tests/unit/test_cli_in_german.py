"""The command line in German, as a person runs it: a real ``python -m tray_app`` subprocess
with LANGUAGE=de prints its help (every command's), its usage and its usage errors with no
common English word left, once the names a person types (commands, --options, METAVARS,
quoted examples) are set aside. The same commands in English show English."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.support.catalogs import REPO, english_words

COMMANDS = ("new", "list", "show", "watch", "answer", "cancel", "discard", "again", "serve")
COMMANDS += ("report", "sync", "help")
#: What a person types or reads as a name, not as words: options, metavars, quoted
#: examples, {choices} and JSON, and the command column of the command list.
_NAMES = re.compile(
    r"""--?[\w-]+|\b[A-Z][A-Z_=]+\b|'[^']*'|"[^"]*"|\{[^{}]*\}|\{.*?\}\}|^\s{4}\w+\b"""
    r"""|\bexlab-tray(?: (?:"""
    + "|".join((*COMMANDS, "project", "run"))
    + r""")\b)*|\bExLab Tray\b|\w+\.toml\b""",
    re.M,
)


def run_cli(*argv: str, language: str = "de") -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG"))}
    env.update(LANGUAGE=language, LANG="C.UTF-8", COLUMNS="100")
    done = subprocess.run(
        [sys.executable, "-m", "tray_app", *argv],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in done.stderr
    return done.stdout + done.stderr


def words_left(text: str) -> set[str]:
    return english_words(_NAMES.sub(" ", text))


@pytest.mark.parametrize(
    "argv",
    [
        ("--help",),
        *((c, "--help") for c in COMMANDS),
        ("new", "project", "--help"),
        ("new", "run", "--help"),
        ("lst",),
        ("new", "run"),
        ("show",),
    ],
    ids=" ".join,
)
def test_the_cli_speaks_german(argv: tuple[str, ...]) -> None:
    text = run_cli(*argv)
    assert "Aufruf:" in text
    assert not words_left(text), f"English left in {' '.join(argv)}:\n{text}"


def test_the_same_help_in_english_is_english() -> None:
    text = run_cli("new", "run", "--help", language="en")
    assert "usage:" in text
    assert {"show", "the", "folder", "usage"} <= words_left(text)
