"""ExLab sample plugin: lay samples out on a microplate and write ``plate_map.csv``.

Sample ids S001, S002, ... fill the wells in reading order (A1, A2, ... A12, B1,
...). With controls, the last two wells hold NEG and POS. The plate type, prep
date and notes go to ``plate_map_notes.txt``. Values come from the run's
variables or, when missing, from the operator (``input_required``). Standard
library only: a plugin runs in a bare worker process.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import string
import tempfile
from pathlib import Path
from typing import Any

PLATES = {"96-well": (8, 12), "384-well": (16, 24)}
LARGEST_PLATE = max(rows * cols for rows, cols in PLATES.values())
CONTROLS = ("NEG", "POS")
CSV_NAME = "plate_map.csv"
NOTES_NAME = "plate_map_notes.txt"
_TRUE = {"true", "yes", "y", "on", "1"}
_FALSE = {"false", "no", "n", "off", "0", ""}


def run(payload: dict[str, Any]) -> dict[str, Any]:
    """The plugin protocol: one payload in, one envelope out."""
    values = {**(payload.get("variables") or {}), **(payload.get("answers") or {})}
    plate = _plate_type(values.get("plate_type"))
    count = _count(values.get("sample_count"))
    prep_date = _date(values.get("prep_date"))
    controls = bool(_flag(values.get("include_controls")))
    notes = str(values.get("notes") or "").strip()

    known = {
        "count": count,
        "plate": plate,
        "prep_date": prep_date,
        "controls": controls,
        "notes": notes,
    }
    if count is None or plate is None or prep_date is None:
        return _ask(
            "The plate map needs the number of samples, the plate type and the prep date.",
            **known,
        )
    capacity = _capacity(plate, controls)
    if count > capacity:
        room = f"{capacity} samples" + (" besides the 2 controls" if controls else "")
        return _ask(
            f"A {plate} plate holds {room}; {count} were requested. "
            "Choose a larger plate or fewer samples.",
            **known,
        )

    destination = Path(payload["destination"])
    wells = plate_wells(plate)
    _write_atomic(destination / CSV_NAME, _csv_text(wells, count, controls))
    request = payload.get("request") or {}
    _write_atomic(
        destination / NOTES_NAME,
        _notes_text(
            plate=plate,
            count=count,
            controls=controls,
            prep_date=prep_date,
            notes=notes,
            request=request,
        ),
    )
    return {
        "status": "ok",
        "message": f"plate map: {count} samples on a {plate} plate",
        "files": [CSV_NAME, NOTES_NAME],
        "data": {"plate_type": plate, "sample_count": count, "controls": controls},
    }


def plate_wells(plate: str) -> list[str]:
    """Well ids in reading order: A1..H12 for 96 wells, A1..P24 for 384."""
    rows, cols = PLATES[plate]
    return [f"{row}{col}" for row in string.ascii_uppercase[:rows] for col in range(1, cols + 1)]


def _capacity(plate: str, controls: bool) -> int:
    rows, cols = PLATES[plate]
    return rows * cols - (len(CONTROLS) if controls else 0)


def _ask(
    reason: str,
    *,
    count: int | None,
    plate: str | None,
    prep_date: str | None,
    controls: bool,
    notes: str,
) -> dict[str, Any]:
    """An input_required envelope; what is already known becomes the defaults."""
    if count is not None and not 1 <= count <= LARGEST_PLATE:
        count = None  # a default outside the field's own bounds would be refused
    return {
        "status": "input_required",
        "reason": reason,
        "fields": [
            {
                "id": "sample_count",
                "label": "Number of samples",
                "type": "integer",
                "required": True,
                "min": 1,
                "max": LARGEST_PLATE,
                "default": count,
                "hint": "Sample ids S001, S002, ... are placed from well A1 on.",
            },
            {
                "id": "plate_type",
                "label": "Plate type",
                "type": "choice",
                "required": True,
                "options": list(PLATES),
                "default": plate or "96-well",
            },
            {
                "id": "prep_date",
                "label": "Preparation date",
                "type": "date",
                "required": True,
                "default": prep_date or dt.date.today().isoformat(),
                "hint": "YYYY-MM-DD",
            },
            {
                "id": "include_controls",
                "label": "Include controls",
                "type": "boolean",
                "default": controls,
                "hint": "Reserve the last two wells for a negative (NEG) and a positive (POS) "
                "control.",
            },
            {
                "id": "notes",
                "label": "Notes",
                "type": "text",
                "max": 2000,
                "default": notes or None,
                "hint": "Written to plate_map_notes.txt beside the plate map.",
            },
        ],
    }


def _csv_text(wells: list[str], count: int, controls: bool) -> str:
    control_wells = dict(zip(wells[-len(CONTROLS) :], CONTROLS, strict=True)) if controls else {}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["well", "row", "column", "sample_id", "role"])
    for index, well in enumerate(wells):
        if well in control_wells:
            sample_id, role = control_wells[well], "control"
        elif index < count:
            sample_id, role = f"S{index + 1:03d}", "sample"
        else:
            sample_id, role = "", "empty"
        writer.writerow([well, well[0], well[1:], sample_id, role])
    return out.getvalue()


def _notes_text(
    *,
    plate: str,
    count: int,
    controls: bool,
    prep_date: str,
    notes: str,
    request: dict[str, Any],
) -> str:
    lines = [
        f"Plate type: {plate}",
        f"Samples: {count} (S001-S{count:03d})",
        f"Controls: {'NEG and POS in the last two wells' if controls else 'none'}",
        f"Prep date: {prep_date}",
    ]
    for key, label in (("project_name", "Project"), ("label", "Run"), ("operator", "Operator")):
        if request.get(key):
            lines.append(f"{label}: {request[key]}")
    lines += ["", "Notes:", notes or "(none)", ""]
    return "\n".join(lines)


def _write_atomic(path: Path, text: str) -> None:
    """Temp file beside the target, then rename: never a half-written plate map."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a plate map is for everyone
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _plate_type(value: Any) -> str | None:
    text = str(value or "").strip().lower().replace(" ", "").replace("_", "-")
    for plate in PLATES:
        if text in (plate, plate.split("-")[0], plate.replace("-", "")):
            return plate
    return None


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if number >= 1 else None


def _date(value: Any) -> str | None:
    try:
        return dt.date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        return None


def _flag(value: Any) -> bool | None:
    """Answers arrive as booleans, variables often as text; None when unreadable."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    return None
