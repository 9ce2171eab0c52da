"""Each plugin call's stderr is kept with its session: one file per session, through the
real pipeline and a real plugin worker process."""

from __future__ import annotations

from pathlib import Path

from pipeline_helpers import START, finish, start_plugin_run, wait_state

from tray_app import logs
from tray_app.creation.controller import CreationController
from tray_app.sessions.states import SessionState
from tray_app.sessions.store import SessionStore

TALKATIVE = """\
import sys

def run(payload):
    print(f"talkative call {payload['attempt']} starting", file=sys.stderr)
    print("a line a plugin prints to stdout ends up on stderr too")
    if not payload["answers"]:
        return {"status": "input_required", "reason": "How many?",
                "fields": [{"id": "n", "label": "How many", "type": "integer",
                            "required": True}]}
    print(f"got n={payload['answers']['n']}", file=sys.stderr)
    return {"status": "ok", "message": "fine"}
"""


async def test_every_plugin_call_of_a_session_lands_in_its_log(
    controller: CreationController,
    store: SessionStore,
    template_dir: Path,
    plugin_dir: Path,
) -> None:
    handle = await start_plugin_run(
        controller, store, template_dir, plugin_dir, "talkative", TALKATIVE
    )
    sid = handle["session_id"]
    await wait_state(store, sid, SessionState.INPUT_REQUIRED)
    path = logs.plugin_log_path(sid)
    first = path.read_text()
    assert f"=== {START.isoformat(timespec='seconds')} plugin talkative call 1: input_required" in (
        first
    )
    assert "talkative call 1 starting" in first
    await controller.resume(sid, {"n": 3})
    session = await finish(store, sid)
    assert session.state is SessionState.DONE, session.outcome
    text = path.read_text()
    assert text.startswith(first)  # appended, not replaced
    assert "plugin talkative call 2: ok" in text
    assert "got n=3" in text
    assert "a line a plugin prints to stdout ends up on stderr too" in text
    assert path.parent == Path(logs.plugin_log_dir())
