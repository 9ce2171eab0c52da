"""PLUGIN_PASS: run the template's plugins in order, each in its own worker process, and
the prompt loop: a plugin that asks for input puts its session in INPUT_REQUIRED until the
operator answers (``CreationController.resume``), then runs again with the merged answers.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from typing import Any

import msgspec

from tray_app import logs
from tray_app.config import Settings
from tray_app.creation.plugins.host import run_plugin
from tray_app.creation.plugins.manifest import PluginManifest, discover_plugins
from tray_app.creation.plugins.pool import WorkerPool
from tray_app.creation.prompt import Prompt
from tray_app.creation.record import PluginRecord
from tray_app.creation.session_run import PipelineFailure, SessionRun, Waiting
from tray_app.creation.wording import plugin_problem_words, too_many_prompts_words
from tray_app.sessions.states import SessionState
from tray_app.sessions.store import SessionStore

__all__ = ["PluginPass", "checkpoint"]

_log = logging.getLogger(__name__)

#: The one plugin status that is not a problem; every other is a warning, or FAILED
#: when the template makes plugins fatal.
_OK = "ok"


class PluginPass:
    """The plugin pass of every session of one controller."""

    def __init__(
        self, store: SessionStore, settings: Settings, workers: Callable[[], WorkerPool]
    ) -> None:
        self._store = store
        self._settings = settings
        #: The pool with a spare plugin worker (made on first use by the controller).
        self._workers = workers

    async def run(self, run: SessionRun, start: int = 0) -> bool:
        """Run the template's plugins in order (from ``start`` after a restart); False
        when the session ended meanwhile."""
        session_id = run.session_id
        template = run.template
        assert template is not None
        if start == 0:
            self._store.transition(session_id, SessionState.PLUGIN_PASS)
        if len(template.plugins) <= start:
            return True
        manifests, problems = await asyncio.to_thread(
            discover_plugins, self._settings.plugin_paths()
        )
        for problem in problems:
            _log.info("plugin discovery: %s", problem)
        total = len(template.plugins)
        for index, name in enumerate(template.plugins[start:], start=start + 1):
            self._store.report_progress(session_id, index, total, name)
            manifest = manifests.get(name)
            if manifest is None:
                record = PluginRecord(name=name, version=None, status="missing")
                # A broken manifest in a folder of that name explains more than "missing".
                related = [p for p in problems if f"{os.sep}{name}{os.sep}" in p]
                record.message = related[0] if related else "not installed in any plugin folder"
                run.plugins.append(record)
                self._problem(run, record)
                continue
            record = PluginRecord(name=name, version=manifest.version, status="running")
            run.plugins.append(record)
            if not await self._run_one(run, manifest, record):
                return False
            if record.status != _OK:
                self._problem(run, record)
        return True

    async def go_on(self, run: SessionRun, answers: dict[str, Any]) -> bool:
        """After a restart: wait for the answer to the restored prompt (``run.waiting``),
        run its plugin again with ``answers`` merged with it, then the plugins after it.
        False when the session ended meanwhile."""
        waiting = run.waiting
        assert waiting is not None and run.plugins
        try:
            state = await self._store.next_transition(run.session_id)
        finally:
            run.waiting = None
        if state is not SessionState.PLUGIN_PASS or waiting.answers is None:
            return False
        record = run.plugins[-1]
        answers = {**answers, **waiting.answers}
        run.answers[record.name] = answers
        manifests, _problems = await asyncio.to_thread(
            discover_plugins, self._settings.plugin_paths()
        )
        manifest = manifests.get(record.name)
        if manifest is None:
            record.status, record.message = "missing", "no longer installed"
            self._problem(run, record, gone=True)
        else:
            if not await self._run_one(run, manifest, record, answers):
                return False
            if record.status != _OK:
                self._problem(run, record)
        return await self.run(run, start=len(run.plugins))

    async def _run_one(
        self,
        run: SessionRun,
        manifest: PluginManifest,
        record: PluginRecord,
        answers: dict[str, Any] | None = None,
    ) -> bool:
        """Run one plugin until it is done, asking the operator as often as it needs
        (``answers``: those it had before a restart)."""
        assert run.template is not None and run.destination is not None
        answers = dict(answers or {})
        limit = self._settings.max_prompts_per_plugin
        while True:
            record.runs += 1
            payload = {
                "destination": str(run.destination),
                "request": run.request_data,
                "variables": run.variables,
                "answers": answers,
                "attempt": record.runs,
                "template": run.template.name,
            }
            result = await run_plugin(manifest, payload, run.destination, pool=self._workers())
            record.duration_s = round(record.duration_s + result.duration_s, 6)
            await logs.keep_plugin_log(
                run.session_id,
                plugin=record.name,
                attempt=record.runs,
                status=result.status,
                duration_s=result.duration_s,
                stderr=result.log,
                at=self._store.clock(),
            )
            if result.status != "input_required":
                record.status = result.status
                record.message = result.message
                record.files = list(result.files)
                return True
            if record.prompts >= limit:
                raise PipelineFailure(
                    "too_many_prompts",
                    too_many_prompts_words(record.name, limit),
                    {"plugin": record.name, "prompts": record.prompts},
                )
            assert result.fields is not None  # the host types them for every input_required
            record.prompts += 1
            prompt = Prompt(
                plugin=record.name,
                reason=result.reason or "",
                fields=result.fields,
                attempt=record.prompts,
                answers=dict(answers),
            )
            new_answers = await self._ask(run, prompt)
            if new_answers is None:
                return False
            answers = {**answers, **new_answers}
            run.answers[record.name] = answers

    async def _ask(self, run: SessionRun, prompt: Prompt) -> dict[str, Any] | None:
        """INPUT_REQUIRED until resume() answers (the answers) or the session ends (None)."""
        session_id = run.session_id
        waiting = Waiting(prompt)
        run.waiting = waiting
        # What a restart needs to ask again and go on (the journal keeps it).
        self._store.checkpoint(session_id, checkpoint(run))
        try:
            # The prompt goes out once, as the wire's plain data; the typed prompt stays here.
            self._store.await_input(session_id, prompt.to_wire())
            # Resolved by resume() (-> PLUGIN_PASS) or by the GC or anyone else ending it.
            state = await self._store.next_transition(session_id)
        finally:
            run.waiting = None
        return waiting.answers if state is SessionState.PLUGIN_PASS else None

    def _problem(self, run: SessionRun, record: PluginRecord, *, gone: bool = False) -> None:
        assert run.template is not None
        # The record (creation.json) keeps the status code and the plain message; people
        # read the sentence.
        status = "gone" if gone else record.status
        fatal = run.template.plugins_fatal
        words = plugin_problem_words(record.name, status, record.message, fatal=fatal)
        if fatal:
            raise PipelineFailure(
                "plugin_failed", words, {"plugin": record.name, "status": record.status}
            )
        self._store.warn(run.session_id, words)


def checkpoint(run: SessionRun) -> dict[str, Any]:
    """What a waiting run needs to go on after a restart, besides its session's prompt:
    its template, variables, the plugins run so far (the last one is asking) and the
    answers merged so far. Read back by ``creation/restarts.py``."""
    assert run.template is not None
    return {
        "template": run.template.name,
        "variables": run.variables,
        "plugins": [msgspec.to_builtins(p) for p in run.plugins],
        "answers": run.answers,
    }
