"""A real ``exlab-tray serve`` subprocess for tests: start it, talk to it over HTTP with
the token from runtime.json, stop it politely or with ``kill -9``."""

from __future__ import annotations

import json
import selectors
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tray_app import paths
from tray_app.headless import READY_PREFIX

EXE = [sys.executable, "-m", "tray_app"]


class Serve:
    """One serve process (its stderr goes to ``log``)."""

    def __init__(self, log: Path) -> None:
        self.log = log
        with log.open("a") as stderr:
            self.process = subprocess.Popen(
                [*EXE, "serve"], stdout=subprocess.PIPE, stderr=stderr, text=True
            )
        assert self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(60):
                self.kill()
                raise AssertionError(f"serve did not become ready; see {log}")
        line = self.process.stdout.readline()
        if not line.startswith(READY_PREFIX):
            self.kill()
            raise AssertionError(f"serve did not start: {line!r}; see {log}")
        self.url = line[len(READY_PREFIX) :].strip()
        runtime = json.loads(paths.runtime_file_path().read_text())
        assert runtime["url"] == self.url
        self.token = runtime["token"]

    def call(
        self, method: str, path: str, body: Any = None, timeout: float = 60
    ) -> tuple[int, Any]:
        """``(status, decoded JSON body)``; raises OSError when the server is gone."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}/api/v1{path}",
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raw = error.read()
            return error.code, json.loads(raw) if raw else None

    def sessions(self) -> dict[str, dict[str, Any]]:
        status, body = self.call("GET", "/sessions")
        assert status == 200, body
        return {h["session_id"]: h for h in body["sessions"]}

    def health(self) -> dict[str, Any]:
        status, body = self.call("GET", "/health")
        assert status == 200, body
        return body

    def wait_for_folder_scan(self, limit_s: float = 30.0) -> dict[str, Any]:
        """/health once the start's folder scan has run (a positive event, bounded)."""
        deadline = time.monotonic() + limit_s
        while True:
            health = self.health()
            if health["journal"].get("folder_scan") == "done":
                return health
            if time.monotonic() > deadline:
                raise AssertionError(f"folder scan did not finish: {health}")
            time.sleep(0.02)

    def wait_for_state(self, session_id: str, states: set[str], limit_s: float = 60.0) -> dict:
        deadline = time.monotonic() + limit_s
        while True:
            status, handle = self.call("GET", f"/sessions/{session_id}")
            assert status == 200, handle
            if handle["state"] in states:
                return handle
            if time.monotonic() > deadline:
                raise AssertionError(f"{session_id} stayed {handle['state']}: {handle}")
            time.sleep(0.02)

    def kill(self) -> None:
        """``kill -9``: no goodbye, no final commit."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self._close()

    def stop(self) -> int:
        """SIGTERM, as a logout or systemd stop does; the exit status."""
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        self._close()
        return code

    def _close(self) -> None:
        if self.process.stdout is not None:
            self.process.stdout.close()
