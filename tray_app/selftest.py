"""``exlab-tray --self-test``: proves an installation works, end to end and headless.

It starts the real service on a throw-away ``EXLAB_TRAY_HOME``, creates a project and a run
through the real HTTP API with the bundled templates and sample plugin (answering the
plugin's prompt), checks the folders and ``creation.json``, prints one line per check and
exits 0, or 1 when any check failed. It never imports Qt, so it runs where no display is.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tray_app import __version__
from tray_app.paths import HOME_ENV

if TYPE_CHECKING:
    import aiohttp

API = "/api/v1"
PROJECT_NAME = "SelfTest"
SAMPLE_PLUGIN = "plate_map"
DEFAULT_TIMEOUT_S = 60.0
STOP_BUDGET_S = 15.0


class CheckFailed(Exception):
    """One check did not hold; the message says what was expected and what was found."""


@dataclass
class Check:
    name: str
    ok: bool
    seconds: float
    detail: str = ""


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)
    prompts_answered: int = 0
    #: Everything sent through /resume, merged (what creation.json must record).
    answers: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @contextmanager
    def step(self, name: str) -> Iterator[Check]:
        """Time one check; a :class:`CheckFailed` or any other error marks it failed."""
        check = Check(name, ok=False, seconds=0.0)
        start = time.perf_counter()
        try:
            yield check
            check.ok = True
        except CheckFailed as exc:
            check.detail = str(exc)
        except TimeoutError:
            check.detail = "timed out"
        except Exception as exc:  # the report must say what broke, never show a traceback
            check.detail = f"{type(exc).__name__}: {exc}"
        finally:
            check.seconds = time.perf_counter() - start
            self.checks.append(check)
        if not check.ok:
            raise _Stop

    def render(self, total_s: float, marks: tuple[str, str]) -> str:
        good, bad = marks
        width = max(len(c.name) for c in self.checks) if self.checks else 0
        lines = []
        for c in self.checks:
            mark = good if c.ok else bad
            detail = f"  {c.detail}" if c.detail else ""
            lines.append(f"  {mark} {c.name.ljust(width)}  {c.seconds:6.2f} s{detail}")
        passed = sum(c.ok for c in self.checks)
        verdict = "PASSED" if self.ok else "FAILED"
        lines.append(f"self-test {verdict}: {passed}/{len(self.checks)} checks in {total_s:.1f} s")
        return "\n".join(lines)


class _Stop(Exception):
    """A check failed: later checks depend on it, so the run stops there."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def _marks() -> tuple[str, str]:
    # A Windows console in a legacy code page cannot print the check marks.
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        "✓✗".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return ("OK  ", "FAIL")
    return ("✓", "✗")


def _where() -> str:
    if getattr(sys, "frozen", False):
        return f"bundle {Path(sys.executable).resolve()}"
    return f"source {Path(__file__).resolve().parent}"


def main(args: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="exlab-tray --self-test",
        description="Create a project and a run through the real API in a temporary folder.",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds allowed per session"
    )
    options = parser.parse_args(args)

    home = Path(tempfile.mkdtemp(prefix="exlab-selftest-"))
    previous_home = os.environ.get(HOME_ENV)
    # Set before anything reads a path: settings, runtime.json and data all land in here.
    os.environ[HOME_ENV] = str(home)
    print(f"ExLab Tray {__version__} self-test ({_where()})", flush=True)
    print(f"  temporary home: {home}", flush=True)
    report = Report()
    start = time.perf_counter()
    try:
        asyncio.run(_run(report, options.timeout))
    except _Stop:
        pass
    except KeyboardInterrupt:
        report.checks.append(Check("interrupted", ok=False, seconds=0.0))
    finally:
        if previous_home is None:
            os.environ.pop(HOME_ENV, None)
        else:
            os.environ[HOME_ENV] = previous_home
    print(report.render(time.perf_counter() - start, _marks()), flush=True)
    if options.keep:
        print(f"  files kept in {home}")
    else:
        shutil.rmtree(home, ignore_errors=True)
    return 0 if report.ok else 1


async def _run(report: Report, limit_s: float) -> None:
    # Imported here so `--help` and argument errors stay instant.
    import aiohttp

    from tray_app.api.runtime_file import read_runtime_info
    from tray_app.api.service import ExlabService
    from tray_app.config import load_settings

    with report.step("settings load (defaults, bundled templates and plugins)") as check:
        loaded = load_settings()
        expect(not loaded.problems, f"settings problems: {loaded.problems}")
        settings = loaded.settings
        expect(bool(settings.equipment), "no equipment in the default settings")
        check.detail = f"{len(settings.template_dirs)} template dir(s), equipment " + ", ".join(
            e.id for e in settings.equipment
        )

    service = ExlabService(loaded)
    try:
        with report.step("API server starts on loopback"):
            await asyncio.wait_for(service.start(), limit_s)
        with report.step("runtime.json written, owner-only") as check:
            info = read_runtime_info()
            expect(info is not None, "runtime.json is missing or malformed")
            assert info is not None
            mode = os.stat(_runtime_path()).st_mode & 0o777
            expect(os.name == "nt" or mode == 0o600, f"runtime.json mode is {oct(mode)}")
            check.detail = f"port {info.port}"
        base = f"http://127.0.0.1:{info.port}{API}"
        headers = {"Authorization": f"Bearer {info.token}"}
        client_timeout = aiohttp.ClientTimeout(total=limit_s)
        async with aiohttp.ClientSession(headers=headers, timeout=client_timeout) as http:
            with report.step("GET /health"):
                async with http.get(f"{base}/health") as response:
                    expect(response.status == 200, f"HTTP {response.status}")
            with report.step("token required") as check:
                async with aiohttp.ClientSession(timeout=client_timeout) as anonymous:
                    response = await anonymous.get(f"{base}/sessions")
                    expect(response.status == 401, f"no token gave HTTP {response.status}")
                    response.release()
            operators = settings.operators or ["selftest"]
            equipment = settings.equipment[0].id
            project_body = {
                "kind": "project",
                "equipment_id": equipment,
                "project_name": PROJECT_NAME,
                "operator": operators[0],
                "objective": "Installation self-test",
            }
            with report.step("project created through the API") as check:
                project = await _create_and_finish(http, base, project_body, report, limit_s)
                check.detail = project["path"]
            run_body = {
                "kind": "run",
                "equipment_id": equipment,
                "project_name": PROJECT_NAME,
                "operator": operators[0],
                "label": "selftest",
                "objective": "Installation self-test",
            }
            with report.step("run created through the API") as check:
                run = await _create_and_finish(http, base, run_body, report, limit_s)
                check.detail = f"{report.prompts_answered} plugin prompt(s) answered"
        with report.step("plugin prompt answered via /resume"):
            expect(report.prompts_answered > 0, "no plugin asked for input")
        _check_results(
            report, settings.local_root, equipment, (project, project_body), (run, run_body)
        )
    finally:
        with report.step("service stops, runtime.json removed"):
            # Its own budget: a tiny --timeout must not leave the server half-stopped.
            await asyncio.wait_for(service.stop(), STOP_BUDGET_S)
            expect(not _runtime_path().exists(), "runtime.json is still there")


def _runtime_path() -> Path:
    from tray_app.paths import runtime_file_path

    return runtime_file_path()


async def _create_and_finish(
    http: aiohttp.ClientSession,
    base: str,
    body: dict[str, Any],
    report: Report,
    limit_s: float,
) -> dict[str, Any]:
    """POST the request, follow its events, answer prompts; the ``done`` result."""
    progress = ["POST /sessions"]  # what the session was last seen doing, for a timeout
    try:
        async with asyncio.timeout(limit_s):
            return await _follow_session(http, base, body, report, progress)
    except TimeoutError:
        raise CheckFailed(f"timed out after {limit_s:g} s (last seen: {progress[-1]})") from None


async def _follow_session(
    http: aiohttp.ClientSession,
    base: str,
    body: dict[str, Any],
    report: Report,
    progress: list[str],
) -> dict[str, Any]:
    async with http.post(f"{base}/sessions", json=body) as response:
        payload = await response.json(content_type=None)
        expect(response.status in (200, 201), f"POST /sessions: HTTP {response.status} {payload}")
    handle = payload.get("session", payload)
    session_id = handle["session_id"]
    progress.append(f"session {session_id} opened")
    answered: set[int] = set()
    async with http.ws_connect(f"{base}/sessions/{session_id}/events") as ws:
        async for message in ws:
            frame = json.loads(message.data)
            kind = frame.get("kind")
            state = (frame.get("session") or {}).get("current_phase")
            progress.append(frame.get("phase") or state or kind)
            prompt = None
            if kind == "snapshot" and frame["session"].get("next_action") == "awaiting_input":
                prompt = frame["session"].get("pending_input")
            elif kind == "input_required":
                prompt = frame
            if prompt and prompt.get("attempt", 1) not in answered:
                answered.add(prompt.get("attempt", 1))
                report.answers.update(await _answer(http, base, session_id, prompt))
                report.prompts_answered += 1
            elif kind == "snapshot" and frame["session"].get("result"):
                return dict(frame["session"]["result"])
            elif kind == "done":
                return dict(frame["result"])
            elif kind in ("failed", "aborted"):
                why = frame.get("error") or frame.get("reason")
                raise CheckFailed(f"session {kind}: {why}")
    raise CheckFailed("the event stream ended before the session was done")


async def _answer(
    http: aiohttp.ClientSession, base: str, session_id: str, prompt: dict[str, Any]
) -> dict[str, Any]:
    answers = {f["id"]: answer_for(f) for f in prompt.get("fields", [])}
    url = f"{base}/sessions/{session_id}/resume"
    async with http.post(url, json={"answers": answers}) as response:
        if response.status != 200:
            text = await response.text()
            raise CheckFailed(f"resume with {answers}: HTTP {response.status} {text}")
    return answers


def answer_for(spec: dict[str, Any]) -> object:
    """A valid answer for one prompt field: its default, else the first acceptable value."""
    if spec.get("default") is not None:
        return spec["default"]
    kind = spec.get("type", "string")
    low = spec.get("min")
    if kind == "choice":
        return spec["options"][0]
    if kind == "integer":
        return int(low) if low is not None else 1
    if kind == "number":
        return float(low) if low is not None else 1.0
    if kind == "boolean":
        return True
    if kind == "date":
        return dt.date.today().isoformat()
    return "selftest"


def _check_results(
    report: Report,
    local_root: str,
    equipment: str,
    project: tuple[dict[str, Any], dict[str, Any]],
    run: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    """The on-disk checks, each ``(done result, request body)``; quick, so run inline."""
    project_path, run_path = Path(project[0]["path"]), Path(run[0]["path"])
    with report.step("folders where the design puts them"):
        _check_layout(Path(local_root).expanduser(), equipment, project_path, run_path)
    with report.step("creation.json records the project"):
        _check_record(project_path, project[1])
    with report.step("creation.json records the run"):
        run_record = _check_record(run_path, run[1])
    with report.step("sample plugin wrote its files") as check:
        check.detail = _check_plugin_output(run_path, run_record, report.answers)


def _check_layout(local_root: Path, equipment: str, project_path: Path, run_path: Path) -> None:
    expect(project_path.is_dir(), f"project folder {project_path} is missing")
    expect(run_path.is_dir(), f"run folder {run_path} is missing")
    expect(
        project_path.resolve() == (local_root / equipment / PROJECT_NAME).resolve(),
        f"project folder is {project_path}, expected <local_root>/{equipment}/{PROJECT_NAME}",
    )
    expect(
        run_path.parent.resolve() == (project_path / "Runs").resolve()
        and run_path.name.startswith("Run_"),
        f"run folder is {run_path}, expected <project>/Runs/Run_<stamp>",
    )
    expect(any(run_path.iterdir()), f"run folder {run_path} is empty")


def _check_record(folder: Path, body: dict[str, Any]) -> dict[str, Any]:
    """``.exlab-wizard/creation.json`` exists, parses, and says who asked for what."""
    record_path = folder / ".exlab-wizard" / "creation.json"
    expect(record_path.is_file(), f"{record_path} is missing")
    record: dict[str, Any] = json.loads(record_path.read_text(encoding="utf-8"))
    expect(isinstance(record, dict), "creation.json is not a JSON object")
    expect(record.get("kind") == body["kind"], f"kind is {record.get('kind')!r}")
    request = record.get("request") or {}
    for key, value in body.items():
        expect(request.get(key) == value, f"request.{key} is {request.get(key)!r}, sent {value!r}")
    template = (record.get("template") or {}).get("name")
    expect(template == f"exlab-{body['kind']}", f"template is {template!r}")
    expect(record.get("app_version") == __version__, f"app_version {record.get('app_version')!r}")
    return record


def _check_plugin_output(folder: Path, record: dict[str, Any], answers: dict[str, Any]) -> str:
    """The sample plugin ran ok, recorded the operator's answers, and its files are there."""
    plugins = {p.get("name"): p for p in record.get("plugins") or [] if isinstance(p, dict)}
    plate_map = plugins.get(SAMPLE_PLUGIN)
    expect(plate_map is not None, f"{SAMPLE_PLUGIN} is not in creation.json plugins")
    assert plate_map is not None
    expect(plate_map.get("status") == "ok", f"{SAMPLE_PLUGIN} status {plate_map.get('status')}")
    recorded = (record.get("answers") or {}).get(SAMPLE_PLUGIN)
    expect(recorded == answers, f"answers recorded {recorded!r}, sent {answers!r}")
    files = plate_map.get("files") or []
    expect(bool(files), f"{SAMPLE_PLUGIN} reported no files")
    missing = [name for name in files if not (folder / name).is_file()]
    expect(not missing, f"plugin files missing: {missing}")
    return (
        f"{SAMPLE_PLUGIN} ok in {plate_map.get('duration_s', 0):.2f} s, files: {', '.join(files)}"
    )
