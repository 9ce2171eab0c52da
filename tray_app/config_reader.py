"""Reading one settings file key by key: what is good applies, what is not is named in words.

The schema (msgspec Structs in ``config.py``) is the only description of the settings; this
module walks a parsed TOML table against it, keeps every value that fits, skips every one
that does not with a :class:`SettingsProblem` that says, at the value's true line, what the
value must be. A TOML syntax error skips the statement it is in, not the file.
"""

from __future__ import annotations

import difflib
import re
import tomllib
import typing
from dataclasses import dataclass
from typing import Any

import msgspec
import msgspec.inspect as mi

__all__ = ["SettingsProblem", "TableReader", "parse_salvaging", "value_words"]

#: After this many syntax errors the file is too broken to guess at; the rest is skipped.
MAX_SYNTAX_REPAIRS = 20


@dataclass(frozen=True)
class SettingsProblem:
    """One thing wrong with a settings file, located and worded for a person to fix."""

    file: str
    line: int | None
    #: The key's path in the file (``equipment[1].id``), for programs; None for syntax.
    key: str | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}, line {self.line}"
        return f"{where}: {self.message}"


# ---- TOML syntax: the true line, and the rest of the file kept ---------------------------

_AT_LINE = re.compile(r"\s*\(at line (\d+), column \d+\)$|\s*\(at end of document\)$")


def _parses(lines: list[str], upto: int) -> dict[str, Any] | None:
    try:
        return tomllib.loads("\n".join(lines[:upto]))
    except tomllib.TOMLDecodeError:
        return None


def statement_start(lines: list[str], reported: int) -> int:
    """The 1-based first line of the statement the parser choked on.

    tomllib reports where it noticed the error, which for an unclosed array or
    string is lines later. The statement starts right after the longest prefix
    of the file (ending before ``reported``) that still parses.
    """
    for upto in range(min(reported, len(lines)) - 1, -1, -1):
        if _parses(lines, upto) is not None:
            return upto + 1
    return 1


def parse_salvaging(text: str, file: str) -> tuple[dict[str, Any], str, list[SettingsProblem]]:
    """Parse ``text``; each statement with a syntax error is skipped and reported.

    Returns the table, the text as read (skipped lines blanked, so line numbers hold)
    and the problems.
    """
    lines = text.splitlines()
    problems: list[SettingsProblem] = []
    for _ in range(MAX_SYNTAX_REPAIRS):
        try:
            return tomllib.loads("\n".join(lines)), "\n".join(lines), problems
        except tomllib.TOMLDecodeError as exc:
            match = re.search(r"at line (\d+)", str(exc))
            reported = int(match.group(1)) if match else len(lines)
            start = statement_start(lines, reported)
            reason = _AT_LINE.sub("", str(exc))
            problems.append(
                SettingsProblem(
                    file,
                    start,
                    None,
                    f"this line is not valid TOML ({reason}); it is skipped",
                )
            )
            lines[start - 1] = ""  # the next pass names whatever else is wrong
    keep = statement_start(lines, len(lines) + 1) - 1
    problems.append(
        SettingsProblem(file, keep + 1, None, "too many syntax errors; the rest is skipped")
    )
    return _parses(lines, keep) or {}, "\n".join(lines[:keep]), problems


_KEY_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _has_path(table: Any, path: list[str | int]) -> bool:
    node = table
    for part in path:
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                return False
        elif not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def key_line(text: str, key: str) -> int | None:
    """The 1-based line where ``key`` (``a.b[2].c``) is set in ``text``.

    Found the way the parser sees it, not by pattern: the value is in the file
    once the shortest prefix that holds it is read, and its statement starts
    after the longest prefix before that which still parses without it.
    """
    path: list[str | int] = [name if name else int(index) for name, index in _KEY_PART.findall(key)]
    lines = text.splitlines()
    end = next(
        (upto for upto in range(1, len(lines) + 1) if _has_path(_parses(lines, upto) or {}, path)),
        None,
    )
    if end is None:
        return None
    for upto in range(end - 1, -1, -1):
        table = _parses(lines, upto)
        if table is not None and not _has_path(table, path):
            return upto + 1
    return end


# ---- words for what a value must be ---------------------------------------------------------


_BOUND_WORDS = (("gt", "greater than"), ("ge", "at least"), ("lt", "below"), ("le", "at most"))


def _bounds(info: Any) -> str:
    words = []
    for attr, phrase in _BOUND_WORDS:
        bound = getattr(info, attr, None)
        if bound is not None:
            words.append(f"{phrase} {bound:g}")
    return " and ".join(words)


def _type_words(info: mi.Type) -> str:
    """``a number greater than 0``: what a value of this msgspec type is, in words."""
    if isinstance(info, mi.Metadata):
        return _type_words(info.type)
    if isinstance(info, mi.BoolType):
        return "true or false"
    if isinstance(info, (mi.IntType, mi.FloatType)):
        noun = "a whole number" if isinstance(info, mi.IntType) else "a number"
        bounds = _bounds(info)
        return f"{noun} {bounds}" if bounds else noun
    if isinstance(info, mi.StrType):
        if info.min_length and info.max_length:
            return f'text of {info.min_length} to {info.max_length} characters, in quotes ("...")'
        if info.min_length:
            return 'text that is not empty, in quotes ("...")'
        if info.max_length:
            return f'text of at most {info.max_length} characters, in quotes ("...")'
        return 'text in quotes ("...")'
    if isinstance(info, mi.LiteralType):
        return "one of " + ", ".join(f'"{v}"' for v in info.values)
    if isinstance(info, mi.ListType):
        item = _type_words(info.item_type)
        return f"a list of {item.removeprefix('a ').removeprefix('an ')} in [ ]"
    if isinstance(info, mi.StructType):
        return "a table"
    if isinstance(info, mi.UnionType):
        kinds = [t for t in info.types if not isinstance(t, mi.NoneType)]
        return " or ".join(_type_words(t) for t in kinds)
    return "a different kind of value"


def value_words(hint: Any) -> str:
    """``must be a number greater than 0``: the rule a value breaks, as a person says it.

    A field's ``msgspec.Meta(description=...)`` says it better where a pattern is
    involved; it is written as the rule itself ("must start with a capital letter...").
    """
    info = mi.type_info(hint)
    if isinstance(info, mi.Metadata):
        description = (info.extra_json_schema or {}).get("description")
        if description:
            return str(description)
    return "must be " + _type_words(info)


def _shown(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 40 else text[:37] + "..."


# ---- walking a table against a Struct -----------------------------------------------------------


def _struct_of(hint: Any) -> type[msgspec.Struct] | None:
    """The Struct a hint reads as a table (``Equipment``), else None."""
    base = typing.get_args(hint)[0] if typing.get_origin(hint) is typing.Annotated else hint
    return base if isinstance(base, type) and issubclass(base, msgspec.Struct) else None


def _list_of_struct(hint: Any) -> type[msgspec.Struct] | None:
    if typing.get_origin(hint) is list:
        return _struct_of(typing.get_args(hint)[0])
    return None


class TableReader:
    """Checks one file's tables against the schema, collecting problems as it goes."""

    def __init__(self, file: str, text: str, root: type[msgspec.Struct] | None = None) -> None:
        self.file = file
        self.text = text
        #: The file's top-level fields: a key of theirs found inside a table was misplaced.
        self.top_level: tuple[str, ...] = tuple(root.__struct_fields__) if root else ()
        self.problems: list[SettingsProblem] = []

    def problem(self, key: str | None, message: str) -> None:
        line = key_line(self.text, key) if key else None
        self.problems.append(SettingsProblem(self.file, line, key, message))

    def read(
        self,
        table: dict[str, Any],
        struct: type[msgspec.Struct],
        *,
        prefix: str = "",
        entry_name: str | None = None,
        skip: frozenset[str] = frozenset(),
        consequence: str = "it is ignored",
    ) -> tuple[dict[str, Any], set[str]]:
        """The values of ``table`` that fit ``struct``'s fields (each checked on its own),
        and the names of the fields whose value did not fit. ``entry_name`` names the
        entry of a list being read (``equipment #2``)."""
        hints = typing.get_type_hints(struct, include_extras=True)
        good: dict[str, Any] = {}
        bad: set[str] = set()
        for name, value in table.items():
            if name in skip:
                continue
            key = f"{prefix}{name}"
            if name not in struct.__struct_fields__:
                close = difflib.get_close_matches(name, struct.__struct_fields__, n=1)
                hint = f" (did you mean `{close[0]}`?)" if close else ""
                top = difflib.get_close_matches(name, self.top_level, n=1) if entry_name else []
                if top and not close:
                    # TOML puts every key after a [[table]] header into that table.
                    hint = (
                        f" (`{top[0]}` is a setting of its own: write it above the "
                        "first [table] or [[table]] line)"
                    )
                where = f"{entry_name} has" if entry_name else "there is"
                self.problem(key, f"{where} no setting `{name}`{hint}; it is ignored")
                continue
            label = f"{entry_name}: the {name}" if entry_name else f"`{name}`"
            checked = self.value(key, label, hints[name], value, consequence)
            if checked is _SKIP:
                bad.add(name)
            else:
                good[name] = checked
        return good, bad

    def value(self, key: str, label: str, hint: Any, value: Any, consequence: str) -> Any:
        struct = _struct_of(hint)
        if struct is not None:
            if not isinstance(value, dict):
                self.problem(key, f"{label} must be a table; {consequence}")
                return _SKIP
            return self.entry(key, label, struct, value)
        item_struct = _list_of_struct(hint)
        if item_struct is not None:
            if not isinstance(value, list):
                self.problem(key, f"{label} must be a list of tables ([[{key}]]); {consequence}")
                return _SKIP
            # A list's entries may need one field to differ (``Equipment.unique_key = "id"``).
            unique = getattr(item_struct, "unique_key", None)
            seen: dict[Any, str] = {}
            entries = []
            for index, item in enumerate(value):
                name = f"{label.strip('`')} #{index + 1}"
                entry = self.entry(f"{key}[{index}]", name, item_struct, item)
                if entry is _SKIP:
                    continue
                if unique is not None:
                    mark = getattr(entry, unique)
                    if mark in seen:
                        self.problem(
                            f"{key}[{index}].{unique}",
                            f"{name}: the {unique} {_shown(mark)} is already used by "
                            f"{seen[mark]}; this entry is skipped",
                        )
                        continue
                    seen[mark] = name
                entries.append(entry)
            return entries
        try:
            return msgspec.convert(value, hint)
        except msgspec.ValidationError:
            self.problem(key, f"{label} {value_words(hint)}, not {_shown(value)}; {consequence}")
            return _SKIP

    def entry(self, key: str, name: str, struct: type[msgspec.Struct], table: Any) -> Any:
        """One table of a list (an equipment entry): whole and valid, or skipped."""
        if not isinstance(table, dict):
            self.problem(key, f"{name} must be a table; this entry is skipped")
            return _SKIP
        hints = typing.get_type_hints(struct, include_extras=True)
        values, bad = self.read(
            table,
            struct,
            prefix=f"{key}.",
            entry_name=name,
            consequence="this entry is skipped",
        )
        if bad:
            return _SKIP
        missing = [f for f in _required_fields(struct) if f not in values]
        if missing:
            what = " and ".join(f"{f} ({_type_words(mi.type_info(hints[f]))})" for f in missing)
            self.problem(key, f"{name} has no {what}; this entry is skipped")
            return _SKIP
        return msgspec.convert(values, struct)


def _required_fields(struct: type[msgspec.Struct]) -> list[str]:
    info = mi.type_info(struct)
    assert isinstance(info, mi.StructType)
    return [f.name for f in info.fields if f.required]


class _Skip:
    """Marks a value that did not fit (None may be a good value)."""


_SKIP: Any = _Skip()
