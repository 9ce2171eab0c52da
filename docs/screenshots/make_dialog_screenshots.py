"""Take the README screenshots of the prompt dialog, the New run dialog and the sessions
window from the real app objects (store, controller, bundled templates and plugin).

The failed session in the details dialog is a real run whose plugin fails: the script
adds a run template that makes its one plugin fatal and a plugin whose plate reader is
offline (a request refused up front makes no session, so it cannot show one).

Run under a display, e.g.:
    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1280x900x24" \\
        .venv/bin/python docs/screenshots/make_dialog_screenshots.py docs/screenshots
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QApplication, QComboBox, QLineEdit, QSpinBox, QWidget


async def _until(predicate: Callable[[], bool]) -> None:
    async with asyncio.timeout(20):
        while not predicate():  # noqa: ASYNC110 - plain state, polled briefly
            await asyncio.sleep(0.02)


#: A run template whose plugin problems fail the session, and the plugin that fails it.
_FAILING_TEMPLATE = """\
    _exlab_type: run
    _exlab_title: Plate read
    _exlab_version: "1.0.0"
    _exlab_plugins: [reader_check]
    _exlab_plugins_fatal: true
    """
_FAILING_PLUGIN = """\
    def run(payload):
        raise RuntimeError("plate reader TECAN-02 did not answer (is it switched on?)")
    """


def _write_failing_run(extras: Path) -> tuple[Path, Path]:
    """The template and plugin folders of a run that fails in its plugin pass."""
    template = extras / "templates" / "plate-read"
    template.mkdir(parents=True)
    (template / "copier.yml").write_text(textwrap.dedent(_FAILING_TEMPLATE))
    (template / "run.yml.jinja").write_text("label: {{ label }}\n")
    plugin = extras / "plugins" / "reader_check"
    plugin.mkdir(parents=True)
    (plugin / "plugin.toml").write_text(
        'name = "reader_check"\nversion = "1.0.0"\ntimeout_s = 20\nmemory_mb = 256\n'
    )
    (plugin / "plugin.py").write_text(textwrap.dedent(_FAILING_PLUGIN))
    return template.parent, plugin.parent


def _save(widget: QWidget, path: Path) -> None:
    widget.grab().save(str(path))
    print(f"wrote {path} ({widget.width()}x{widget.height()})")


async def main(out: Path) -> None:
    from tray_app.config import Equipment, Settings
    from tray_app.creation.controller import CreationController
    from tray_app.creation.requests import ProjectRequest, RunRequest
    from tray_app.paths import resources_dir
    from tray_app.sessions.states import SessionState
    from tray_app.sessions.store import SessionStore
    from tray_app.ui.new_session_dialog import NewSessionDialog
    from tray_app.ui.prompt_dialog import PromptDialog
    from tray_app.ui.session_actions import SessionActions

    home = Path(os.environ["EXLAB_TRAY_HOME"])
    root = home / "ExLab"
    extra_templates, extra_plugins = _write_failing_run(home / "extras")
    settings = Settings(
        local_root=str(root),
        template_dirs=[str(resources_dir() / "templates"), str(extra_templates)],
        plugin_dirs=[str(resources_dir() / "plugins"), str(extra_plugins)],
        equipment=[
            Equipment(id="TECAN", name="Tecan Spark"),
            Equipment(id="HPLC", name="Agilent 1260"),
        ],
        operators=None,
    )
    store = SessionStore()
    controller = CreationController(store, settings)
    for name in ("Protein_Stability", "Enzyme_Kinetics"):
        (root / "TECAN" / name).mkdir(parents=True)
    done = await controller.create(
        ProjectRequest(equipment_id="HPLC", project_name="Lipid_Panel", operator="grace")
    )
    await _until(lambda: store.get(done["session_id"]).is_terminal())
    broken = await controller.create(
        RunRequest(
            equipment_id="TECAN",
            project_name="Protein_Stability",
            operator="ada",
            label="Plate 2",
            template="plate-read",
        )
    )
    await _until(lambda: store.get(broken["session_id"]).is_terminal())
    failed = store.get(broken["session_id"])
    if failed.state is not SessionState.FAILED:
        raise SystemExit(f"the plate-read run should have failed; it ended {failed.state}")
    waiting = await controller.create(
        RunRequest(
            equipment_id="TECAN",
            project_name="Protein_Stability",
            operator="ada",
            label="Plate 3 replicate",
            objective="Thermal shift screen",
        )
    )
    sid = waiting["session_id"]
    await _until(lambda: store.get(sid).state is SessionState.INPUT_REQUIRED)

    prompt = PromptDialog(store, controller, sid)
    prompt.show()
    spin = prompt.form.editors["sample_count"].widget
    assert isinstance(spin, QSpinBox)
    spin.setValue(120)
    prompt.form.editors["notes"].widget.setPlainText("Replicate of plate 2, fresh buffer.")
    line = spin.lineEdit()
    if line is not None:
        line.deselect()
    prompt.submit_button.setFocus()
    await asyncio.sleep(0.3)
    _save(prompt, out / "prompt-dialog.png")

    dialog = NewSessionDialog("run", controller, settings)
    dialog.show()
    await asyncio.sleep(0.3)
    project = dialog.project
    assert isinstance(project, QComboBox)
    project.setEditText("Protein_Stability")
    dialog.label.setText("Plate 4")
    operator = dialog.operator
    if isinstance(operator, QLineEdit):
        operator.setText("ada")
    await asyncio.sleep(0.2)
    _save(dialog, out / "new-run-dialog.png")
    dialog.close()

    actions = SessionActions(store, controller, settings)
    actions.show_sessions_window()
    window = actions.sessions_window
    assert window is not None
    window.select_session(sid)
    await asyncio.sleep(0.3)
    _save(window, out / "sessions-window.png")

    actions.show_details(failed.session_id)
    await asyncio.sleep(0.3)
    _save(actions.details[failed.session_id], out / "details-dialog.png")

    actions.set_quit_on_close(True)
    actions.show_sessions_window(
        "No system tray is available on this desktop, so ExLab Tray runs in this window. "
        "Closing it quits."
    )
    await asyncio.sleep(0.3)
    _save(window, out / "sessions-window-no-tray.png")

    prompt.close()
    actions.close_all()
    await controller.aclose()


if __name__ == "__main__":
    import qasync

    target = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    os.environ.setdefault("EXLAB_TRAY_HOME", tempfile.mkdtemp(prefix="exlab-shots-"))
    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
        runner.run(main(target))
