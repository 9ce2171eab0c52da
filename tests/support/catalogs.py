"""The shipped catalogs, read the way a test checks them: what the code marks (extracted with
Babel, as scripts/i18n.sh does), what each .po holds, and a detector for English left in
what a translated surface shows."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

REPO = Path(__file__).resolve().parents[2]
LOCALE = REPO / "resources" / "locale"
LANGUAGES = ("de", "fr")
#: The keywords scripts/i18n.sh extracts with.
KEYWORDS = {"_": None, "gettext_": None, "N_": None, "ngettext": (1, 2)}

#: Common English words of the app's vocabulary that no German or French text uses as a
#: word (so "Details", "Plugin", "Pause", "Status", "Support", "in" and "an", which
#: German shares, are left out).
ENGLISH_WORDS = frozenset(
    [
        "the",
        "and",
        "of",
        "to",
        "is",
        "for",
        "on",
        "with",
        "at",
        "or",
        "not",
        "no",
        "yes",
        "new",
        "open",
        "close",
        "save",
        "quit",
        "cancel",
        "cancelled",
        "settings",
        "reload",
        "resume",
        "notifications",
        "hour",
        "tomorrow",
        "morning",
        "start",
        "login",
        "report",
        "folder",
        "data",
        "session",
        "sessions",
        "running",
        "failed",
        "done",
        "abandoned",
        "needs",
        "need",
        "input",
        "answer",
        "show",
        "more",
        "recent",
        "progress",
        "idle",
        "starting",
        "checking",
        "creating",
        "writing",
        "queueing",
        "waiting",
        "quitting",
        "run",
        "runs",
        "project",
        "label",
        "choices",
        "problems",
        "internal",
        "apply",
        "operator",
        "objective",
        "error",
        "unknown",
        "must",
        "be",
        "has",
        "are",
        "was",
        "were",
        "while",
        "just",
        "now",
        "asks",
        "copy",
        "choose",
        "edit",
        "help",
        "usage",
        "list",
        "watch",
        "command",
        "commands",
        "options",
        "arguments",
        "positional",
    ]
)
#: Words, with snake_case names (input_required) kept whole and then set aside.
_WORD = re.compile(r"[^\W\d]+")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def marked_messages() -> dict[str | tuple[str, str], str]:
    """Every message the code marks, as msgid (or (singular, plural)), with the comment
    for translators above it ("Translators: {Phase} is...") or ""."""
    found: dict[str | tuple[str, str], str] = {}
    method_map = [("**.py", "python")]
    for _filename, _lineno, message, comments, _context in extract_from_dir(
        str(REPO / "tray_app"), method_map, keywords=KEYWORDS, comment_tags=("Translators:",)
    ):
        key = message if isinstance(message, str) else (message[0], message[1])
        found[key] = found.get(key, "") + " ".join(comments)
    return found


def read_catalog(language: str) -> Catalog:
    path = LOCALE / language / "LC_MESSAGES" / "exlab-tray.po"
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def msgstrs(language: str) -> list[str]:
    """Every translation the catalog holds (each plural form apart)."""
    out: list[str] = []
    for message in read_catalog(language):
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        out.extend(s for s in strings if s)
    return out


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def english_words(text: str) -> set[str]:
    """The common English words in ``text`` (case-insensitive, whole words)."""
    words = (m.lower() for m in _WORD.findall(text) if "_" not in m)
    return {w for w in words if w in ENGLISH_WORDS}


def shown_pattern(language: str) -> re.Pattern[str]:
    """Matches a text built only from the catalog's translations: each msgstr with its
    placeholders as wildcards, glued by what a text may hold besides (data, digits, spaces)."""
    # A menu entry shows its msgstr without the "&" that marks its mnemonic.
    texts = {s.replace("&", "", 1) if s.count("&") == 1 else s for s in msgstrs(language)}
    pieces = sorted(
        (re.escape(s).replace(r"\{", "{").replace(r"\}", "}") for s in texts),
        key=len,
        reverse=True,
    )
    alternatives = [_PLACEHOLDER.sub(".*", p) for p in pieces if p.strip()]
    return re.compile("(?:" + "|".join(alternatives) + ")", re.S)
