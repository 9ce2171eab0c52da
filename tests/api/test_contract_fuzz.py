"""Schemathesis fuzzes every operation of the published document against a real ``serve``.

Its own CLI runs all four phases (examples, coverage, fuzzing with valid and
invalid inputs, stateful sequences along the document's links: create ->
get -> resume -> cancel) with the real token from runtime.json. Zero server
errors and zero responses that break the document, or the test fails with
Schemathesis's report. Bounded by the number of examples per operation;
``EXLAB_FUZZ_EXAMPLES`` and ``EXLAB_FUZZ_SEED`` widen or vary a run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tray_app import paths

from .test_serve_e2e import read_ready_line

CONFIG = Path(__file__).parent / "contract" / "schemathesis.toml"
#: Every check Schemathesis has, less those that need a second user or a rate limit.
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "positive_data_acceptance",
        "missing_required_header",
        "unsupported_method",
        "use_after_free",
        "ensure_resource_availability",
        "ignored_auth",
    ]
)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_schemathesis_finds_nothing_against_serve(tmp_path: Path) -> None:
    stderr_path = tmp_path / "serve.stderr"
    with stderr_path.open("w") as stderr:
        server = subprocess.Popen(
            [sys.executable, "-m", "tray_app", "serve"],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        read_ready_line(server)
        runtime = json.loads(paths.runtime_file_path().read_text())
        report_path = tmp_path / "schemathesis.json"
        command = [
            sys.executable, "-m", "schemathesis.cli",
            "--config-file", str(CONFIG),
            "run", f"{runtime['url']}/api/v1/openapi.json",
            "--header", f"Authorization: Bearer {runtime['token']}",
            "--checks", CHECKS,
            "--max-examples", os.environ.get("EXLAB_FUZZ_EXAMPLES", "30"),
            "--seed", os.environ.get("EXLAB_FUZZ_SEED", "15"),
            "--workers", "1",
            "--request-timeout", "30",
            "--report", "json", "--report-json-path", str(report_path),
        ]  # fmt: skip
        run = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=540,
            cwd=tmp_path,
            check=False,
        )
        report = json.loads(report_path.read_text())
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
        if server.stdout is not None:
            server.stdout.close()
    cases = report["test_cases"]
    phases = ", ".join(f"{name} {phase['status']}" for name, phase in report["phases"].items())
    print(
        f"\nschemathesis: {cases['generated']} generated cases over "
        f"{report['operations']['tested']} operations in {report['running_time']:.0f} s "
        f"({phases})"
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert report["failures"] == [] and report["errors"] == []
    assert report["operations"]["tested"] == report["operations"]["total"] >= 10
    assert all(phase["status"] == "success" for phase in report["phases"].values())
    assert cases["generated"] > 200
    # The stateful phase really created sessions and answered a prompt.
    rates = report["valid_rates"]
    assert sum(p["accepted"] for p in rates["POST /api/v1/sessions"].values()) > 0
    server_log = stderr_path.read_text()
    assert "Traceback" not in server_log
    assert "does not fit the wire schema" not in server_log
