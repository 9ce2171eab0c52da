"""Mnemonics (the Alt+letter marked with "&" in a label): the one parser of a marked
label (what it reads as, which letter is marked), and the picker that hands out letters so
that no two clash in one window. No Qt here: the pure menu model uses it too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "Marked",
    "MnemonicPicker",
    "mnemonic_letters",
    "parse_mnemonic",
    "strip_mnemonic",
]


@dataclass(frozen=True, slots=True)
class Marked:
    """A label as read, and where in it the mnemonic letter is (None: it has none)."""

    text: str
    at: int | None = None

    @property
    def letter(self) -> str:
        """The marked letter as written ("" without one)."""
        return "" if self.at is None else self.text[self.at]


def parse_mnemonic(label: str) -> Marked:
    """Read ``label`` as Qt does: "&&" is a literal "&", the first other "&" marks the
    character after it, any further lone "&" is dropped."""
    text: list[str] = []
    at: int | None = None
    index = 0
    while index < len(label):
        char = label[index]
        if char == "&" and index + 1 < len(label):
            following = label[index + 1]
            if following == "&":
                text.append("&")
            else:
                if at is None:
                    at = len(text)
                text.append(following)
            index += 2
            continue
        if char != "&":  # a lone "&" at the end marks nothing
            text.append(char)
        index += 1
    return Marked("".join(text), at)


def mnemonic_letters(*labels: str) -> tuple[str, ...]:
    """The letters the (translated) button words mark with "&", for a form to leave free."""
    letters = (parse_mnemonic(label).letter.lower() for label in labels)
    return tuple(letter for letter in letters if letter)


def strip_mnemonic(label: str) -> str:
    """A label as read: the mnemonic marker gone, "&&" back to "&"."""
    return parse_mnemonic(label).text


class MnemonicPicker:
    """Hands out one mnemonic letter per label, never the same one twice in a window."""

    def __init__(self, reserved: Iterable[str] = ()) -> None:
        self.used = {letter.lower() for letter in reserved}

    def mark(self, text: str) -> str:
        """``text`` for a QLabel or button: "&" escaped, and one before a free letter (the
        first letter of a word if one is free, else any letter); unchanged without one."""
        at = self._pick(text)
        escaped = text.replace("&", "&&")
        if at is None:
            return escaped
        self.used.add(text[at].lower())
        return text[:at].replace("&", "&&") + "&" + text[at:].replace("&", "&&")

    def _pick(self, text: str) -> int | None:
        starts = [i for i, c in enumerate(text) if c.isalnum() and (i == 0 or text[i - 1] == " ")]
        others = [i for i, c in enumerate(text) if c.isalnum() and i not in starts]
        for index in (*starts, *others):
            if text[index].lower() not in self.used and text[index].isascii():
                return index
        return None
