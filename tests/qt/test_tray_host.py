"""Labels written for the tray host in use read exactly as typed (Qt menu or dbusmenu)."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from tests.e2e.desktop_env import host_reading
from tray_app.ui.tray_host import dbus_menu_in_use, label_text, menu_label

NAMES = ["Run 'plate_7' of Assay_Y (TECAN_1): plate_map asks", "R&D_1 & co", "__init__"]


@pytest.mark.parametrize("name", NAMES)
def test_a_dbusmenu_host_reads_the_name_as_typed(name: str) -> None:
    label = menu_label(name, dbus_menu=True)
    # Qt turns the first "&" into the dbusmenu mnemonic "_" when it exports the label.
    exported = label.replace("&", "_", 1)
    assert host_reading(exported) == name
    assert label_text(label, dbus_menu=True) == name


@pytest.mark.parametrize("name", NAMES)
def test_qts_own_menu_reads_the_name_as_typed(name: str) -> None:
    label = menu_label(name, dbus_menu=False)
    assert "__" not in label or "__" in name
    assert label.replace("&&", "&") == name
    assert label_text(label, dbus_menu=False) == name


def test_offscreen_never_exports_the_menu(qapp: QApplication) -> None:
    assert qapp.platformName() == "offscreen"
    assert dbus_menu_in_use() is False


@pytest.mark.parametrize("dbus_menu", [True, False])
def test_a_mnemonic_reads_as_the_words_with_its_letter_marked(dbus_menu: bool) -> None:
    from tray_app.ui.tray_host import mnemonic_label

    label = mnemonic_label("Save a report for support…", 2, dbus_menu=dbus_menu)
    assert label == "Sa&ve a report for support…"
    assert label_text(label, dbus_menu=dbus_menu) == "Save a report for support…"
    if dbus_menu:
        # Exported as "Sa_ve ...": the host underlines the v and shows the words as typed.
        assert host_reading(label.replace("&", "_", 1)) == "Save a report for support…"
    # The marked position, not the letter's first match: "u" comes earlier here.
    assert mnemonic_label("Einstellungen neu laden", 16, dbus_menu=dbus_menu) == (
        "Einstellungen ne&u laden"
    )
    # Text with its own "&" or "_" keeps no mnemonic rather than reading wrong; so does a
    # position outside the text.
    for text, at in (("R&D_1", 3), ("Quit", 4)):
        assert mnemonic_label(text, at, dbus_menu=dbus_menu) == menu_label(
            text, dbus_menu=dbus_menu
        )
