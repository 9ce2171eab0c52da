"""The one parser of "&"-marked labels (menu entries, buttons, form labels): what a label
reads as and which letter is its mnemonic, as Qt reads it (pure: no Qt)."""

from __future__ import annotations

import pytest

from tray_app.ui.keyboard import Marked, mnemonic_letters, parse_mnemonic, strip_mnemonic


@pytest.mark.parametrize(
    ("label", "marked"),
    [
        ("&Quit", Marked("Quit", 0)),
        ("Sa&ve a report…", Marked("Save a report…", 2)),
        ("&R&&D code", Marked("R&D code", 0)),
        ("R&&D &code", Marked("R&D code", 4)),  # "&&" first: a literal "&", not the marker
        ("&&only", Marked("&only", None)),
        ("a&b&c", Marked("abc", 1)),  # the first marker counts, a later one is dropped
        ("end&", Marked("end", None)),
        ("plain", Marked("plain", None)),
        ("", Marked("", None)),
    ],
)
def test_a_marked_label_reads_as_qt_reads_it(label: str, marked: Marked) -> None:
    assert parse_mnemonic(label) == marked
    assert strip_mnemonic(label) == marked.text


def test_the_letters_to_leave_free_are_the_marked_ones() -> None:
    assert parse_mnemonic("Un&til tomorrow").letter == "t"
    assert mnemonic_letters("C&reate", "&Cancel", "R&&D &code", "none", "&&") == ("r", "c", "c")
