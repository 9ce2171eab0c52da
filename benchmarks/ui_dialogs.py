"""Costs of the dialogs' live views: sessions-model updates under bursts, and building a
prompt form. Prints figures; asserts nothing.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/ui_dialogs.py
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication

from tray_app.creation.fields import parse_fields
from tray_app.sessions.states import SessionKind, SessionState
from tray_app.sessions.store import Retention, SessionStore
from tray_app.ui.field_widgets import FieldForm
from tray_app.ui.sessions_model import SessionsModel


def populated_store(finished: int, live: int) -> tuple[SessionStore, list[str]]:
    store = SessionStore(retention=Retention(max_finished=finished))
    for index in range(finished):
        sid = store.open(SessionKind.RUN, {}, title=f"done {index}").session_id
        for state in (SessionState.VALIDATING, SessionState.FAILED):
            store.transition(
                sid, state, outcome={"code": "x"} if state is SessionState.FAILED else None
            )
    live_ids = []
    for index in range(live):
        sid = store.open(SessionKind.RUN, {}, title=f"live {index}").session_id
        for state in (SessionState.VALIDATING, SessionState.RENDERING, SessionState.PLUGIN_PASS):
            store.transition(sid, state)
        live_ids.append(sid)
    return store, live_ids


def bench_model(finished: int, live: int, updates: int) -> None:
    store, live_ids = populated_store(finished, live)
    model = SessionsModel(store)
    rows_changed = [0]
    model.dataChanged.connect(lambda *_: rows_changed.__setitem__(0, rows_changed[0] + 1))
    started = time.perf_counter()
    for index in range(updates):
        sid = live_ids[index % len(live_ids)]
        store.report_progress(sid, index % 4 + 1, 4, "plate_map")
    observed = time.perf_counter() - started
    started = time.perf_counter()
    model.flush()
    flushed = time.perf_counter() - started
    print(
        f"model {finished + live} rows, {updates} progress updates: observers "
        f"{observed / updates * 1e6:.1f} µs/update, one flush {flushed * 1e3:.2f} ms, "
        f"{rows_changed[0]} row signals"
    )
    sid = store.open(SessionKind.RUN, {}, title="new").session_id
    started = time.perf_counter()
    model.flush()
    print(f"  a new session on top: flush {(time.perf_counter() - started) * 1e3:.2f} ms")
    del sid


def bench_form(count: int) -> None:
    kinds = ["string", "text", "integer", "number", "boolean", "date"]
    spec = [
        {"id": f"f{i}", "label": f"Field {i}", "type": kinds[i % len(kinds)], "hint": "a hint"}
        for i in range(count)
    ]
    fields = parse_fields(spec)
    started = time.perf_counter()
    form = FieldForm(fields)
    form.values()
    print(
        f"prompt form with {count} fields: built in {(time.perf_counter() - started) * 1e3:.1f} ms"
    )


if __name__ == "__main__":
    app = QApplication([])
    bench_model(finished=500, live=50, updates=10_000)
    bench_model(finished=50, live=5, updates=1_000)
    bench_form(5)
    bench_form(50)
