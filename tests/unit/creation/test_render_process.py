"""The render worker process: real renders in a real child, errors as values, a worker
that dies or idles out is replaced, and the host process never imports Copier."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from pipeline_helpers import write_template

from tray_app.creation.render import RenderError
from tray_app.creation.render_process import RenderProcess

#: A template whose output shows the Python type of a variable after the trip.
TYPED = {"{{ name }}.txt.jinja": "{{ name }} {{ when.isoformat() }} {{ when.year }}\n"}


def render_process(**kwargs: object) -> RenderProcess:
    return RenderProcess(**kwargs)  # type: ignore[arg-type]


def worker_pid(renderer: RenderProcess) -> int:
    proc = renderer._proc
    assert proc is not None and proc.returncode is None
    return proc.pid


async def test_renders_in_a_child_process_keeping_variable_types(tmp_path: Path) -> None:
    template = write_template(tmp_path, "typed", "name: x\nwhen: 2020-01-01\n", TYPED)
    renderer = render_process()
    try:
        await renderer.render(
            template, tmp_path / "out", {"name": "alpha", "when": dt.date(2026, 3, 1)}
        )
        assert (tmp_path / "out" / "alpha.txt").read_text() == "alpha 2026-03-01 2026\n"
        assert worker_pid(renderer) != os.getpid()
    finally:
        await renderer.aclose()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_render_errors_come_back_as_values_and_the_worker_carries_on(
    tmp_path: Path,
) -> None:
    broken = write_template(tmp_path, "broken", "x: 1\n", {"a.txt.jinja": "{{ x | nope }}"})
    good = write_template(tmp_path, "good", "name: x\nwhen: 2020-01-01\n", TYPED)
    renderer = render_process()
    try:
        with pytest.raises(RenderError) as failed:
            await renderer.render(broken, tmp_path / "out1", {})
        assert failed.value.code == "render_failed" and "nope" in failed.value.message
        pid = worker_pid(renderer)
        await renderer.render(good, tmp_path / "out2", {"name": "b", "when": dt.date(2026, 1, 2)})
        assert worker_pid(renderer) == pid
    finally:
        await renderer.aclose()


async def test_a_worker_that_died_is_replaced_by_the_next_render(tmp_path: Path) -> None:
    template = write_template(tmp_path, "typed", "name: x\nwhen: 2020-01-01\n", TYPED)
    data = {"name": "c", "when": dt.date(2026, 1, 2)}
    renderer = render_process()
    try:
        await renderer.render(template, tmp_path / "out1", data)
        first = renderer._proc
        assert first is not None
        os.kill(first.pid, signal.SIGKILL)
        await first.wait()
        await renderer.render(template, tmp_path / "out2", data)
        assert worker_pid(renderer) != first.pid
        assert (tmp_path / "out2" / "c.txt").is_file()
    finally:
        await renderer.aclose()


FAKE_WORKER = textwrap.dedent(
    """
    import os, sys
    from tray_app.creation.render_worker import encode_frame
    out = sys.stdout.buffer
    out.write(encode_frame(("ready", os.getpid()))); out.flush()
    sys.stdin.buffer.read(4)  # the start of a request: die in the middle of it
    os._exit(3)
    """
)


async def test_a_worker_dying_mid_render_fails_that_render_only(tmp_path: Path) -> None:
    renderer = render_process(command=[sys.executable, "-c", FAKE_WORKER])
    with pytest.raises(RenderError) as failed:
        await renderer.render(tmp_path, tmp_path / "out", {})
    assert failed.value.code == "render_failed"
    assert "stopped while rendering (exit code 3)" in failed.value.message
    assert not renderer.running
    await renderer.aclose()


async def test_a_worker_that_cannot_start_is_a_render_error(tmp_path: Path) -> None:
    renderer = render_process(command=[sys.executable, "-c", "raise SystemExit(7)"])
    with pytest.raises(RenderError) as failed:
        await renderer.render(tmp_path, tmp_path / "out", {})
    assert "did not start (exit code 7)" in failed.value.message
    await renderer.aclose()


async def test_an_idle_worker_is_let_go_and_a_later_render_starts_another(
    tmp_path: Path,
) -> None:
    template = write_template(tmp_path, "typed", "name: x\nwhen: 2020-01-01\n", TYPED)
    data = {"name": "d", "when": dt.date(2026, 1, 2)}
    renderer = render_process(idle_s=0.2)
    try:
        await renderer.render(template, tmp_path / "out1", data)
        first = renderer._proc
        assert first is not None
        assert await asyncio.wait_for(first.wait(), 10) == 0  # stdin closed: a clean exit
        assert not renderer.running
        await renderer.render(template, tmp_path / "out2", data)
        assert worker_pid(renderer) != first.pid
    finally:
        await renderer.aclose()


async def test_warm_starts_the_worker_before_the_first_render(tmp_path: Path) -> None:
    renderer = render_process()
    try:
        renderer.warm()
        starting = renderer._starting
        renderer.warm()  # once is enough
        assert starting is not None and renderer._starting is starting
        await asyncio.wait_for(renderer.ready(), 60)
        assert renderer.running
    finally:
        await renderer.aclose()
    assert not renderer.running


async def test_closed_means_no_more_renders_and_bad_variables_are_refused(
    tmp_path: Path,
) -> None:
    renderer = render_process()
    with pytest.raises(RenderError, match="template variables"):
        await renderer.render(tmp_path, tmp_path / "out", {"f": lambda: None})
    await renderer.aclose()
    with pytest.raises(RenderError, match="shutting down"):
        await renderer.render(tmp_path, tmp_path / "out", {})


def test_creating_a_project_never_imports_copier_into_the_host(tmp_path: Path) -> None:
    probe = textwrap.dedent(
        f"""
        import asyncio, sys
        from pathlib import Path
        from tray_app.creation.render_process import RenderProcess

        async def main():
            renderer = RenderProcess()
            try:
                await renderer.render(Path({str(tmp_path / "t")!r}), Path({str(tmp_path / "o")!r}),
                                      {{"name": "e"}})
            finally:
                await renderer.aclose()
            print("copier" in sys.modules, Path({str(tmp_path / "o" / "e.txt")!r}).read_text())

        asyncio.run(main())
        """
    )
    write_template(tmp_path, "t", "name: x\n", {"{{ name }}.txt.jinja": "hello {{ name }}"})
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "hello", "e"]


async def test_a_start_that_fails_once_is_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = write_template(tmp_path, "typed", "name: x\nwhen: 2020-01-01\n", TYPED)
    real_exec = asyncio.create_subprocess_exec
    failures: list[str] = []

    async def flaky_exec(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
        if not failures:
            failures.append("fork refused")
            raise BlockingIOError("Resource temporarily unavailable")
        return await real_exec(*args, **kwargs)

    monkeypatch.setattr(asyncio, "create_subprocess_exec", flaky_exec)
    renderer = render_process()
    try:
        data = {"name": "f", "when": dt.date(2026, 1, 2)}
        await renderer.render(template, tmp_path / "out", data)
        assert failures == ["fork refused"]
        assert (tmp_path / "out" / "f.txt").is_file()
    finally:
        await renderer.aclose()


async def test_a_start_that_keeps_failing_fails_the_render(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refused(*_args: Any, **_kwargs: Any) -> asyncio.subprocess.Process:
        raise BlockingIOError("Resource temporarily unavailable")

    monkeypatch.setattr(asyncio, "create_subprocess_exec", refused)
    renderer = render_process()
    with pytest.raises(RenderError, match="could not start the renderer"):
        await renderer.render(tmp_path, tmp_path / "out", {})
    await renderer.aclose()
