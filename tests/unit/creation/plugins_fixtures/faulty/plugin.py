"""Test-only plugin that misbehaves on purpose: ``payload["variables"]["mode"]``
picks the fault, ``payload["variables"]`` carries its parameters."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path


def _write_pids(destination, pids):
    """Publish pids atomically so the test never reads half a file."""
    tmp = Path(destination) / "pids.tmp"
    tmp.write_text(" ".join(str(pid) for pid in pids))
    os.replace(tmp, Path(destination) / "pids.txt")


def _spawn_sleeper():
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def run(payload):
    variables = payload["variables"]
    mode = variables["mode"]
    destination = payload["destination"]
    if mode == "sleep":
        time.sleep(60)
    if mode == "exit":
        print("about to exit hard", file=sys.stderr, flush=True)
        os._exit(3)
    if mode == "raise":
        raise ValueError("the plate reader file is missing")
    if mode == "sys_exit":
        sys.exit(4)
    if mode == "non_dict":
        return ["not", "a", "dict"]
    if mode == "not_json":
        return {"status": "ok", "data": {"when": object()}}
    if mode == "garbage":
        # Go around the worker on purpose: raw bytes on the envelope channel.
        from tray_app.creation.plugins import worker

        os.write(worker.ENVELOPE_FD, b"this is { not json")
        os._exit(0)
    if mode == "wrong_shape":
        return variables["envelope"]
    if mode == "big":
        return {"status": "ok", "data": {"blob": "x" * variables["size"]}}
    if mode == "noisy":
        print("hello from print")
        os.write(1, b"native write to fd 1\n")
        subprocess.run(["echo", "child process output"], check=True)
        return {"status": "ok", "message": "quiet envelope"}
    if mode == "memory":
        hog = bytearray(variables["bytes"])
        return {"status": "ok", "data": {"size": len(hog)}}
    if mode == "linger":
        threading.Thread(target=time.sleep, args=(60,)).start()
        return {"status": "ok", "message": "left a thread running"}
    if mode == "orphan":
        child = _spawn_sleeper()
        _write_pids(destination, [os.getpid(), child.pid])
        return {"status": "ok", "message": "left a child running"}
    if mode == "grandchild":
        child = _spawn_sleeper()
        _write_pids(destination, [os.getpid(), child.pid])
        time.sleep(60)
    if mode == "escape":
        return _escape(variables["how"], Path(variables["outside"]), Path(destination))
    if mode == "atexit":
        import atexit

        atexit.register(Path(variables["outside"]).write_text, "after the result")
        return {"status": "ok", "message": "registered a late write"}
    if mode == "inside":
        import tempfile

        (Path(destination) / "sub").mkdir()
        (Path(destination) / "sub" / "a.txt").write_text("inside")
        os.replace(Path(destination) / "sub" / "a.txt", Path(destination) / "b.txt")
        with tempfile.NamedTemporaryFile("w", delete=True) as handle:
            handle.write("scratch")
        with open(os.devnull, "w") as null:
            null.write("ignored")
        return {"status": "ok", "files": ["b.txt"]}
    raise AssertionError(f"unknown mode {mode}")


def _escape(how, outside, destination):
    try:
        if how == "write":
            outside.write_text("escaped")
        elif how == "mkdir":
            (outside / "newdir").mkdir()
        elif how == "rename_out":
            (destination / "moving.txt").write_text("x")
            os.rename(destination / "moving.txt", outside / "moved.txt")
        elif how == "remove":
            os.remove(outside / "keep.txt")
        elif how == "symlink":
            link = destination / "link.txt"
            os.symlink(outside / "via_link.txt", link)
            link.write_text("through the link")
        elif how == "append_fd":
            fd = os.open(outside / "appended.txt", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            os.close(fd)
    except PermissionError as exc:
        # A sneaky plugin swallows the refusal and claims success.
        return {"status": "ok", "message": f"swallowed {exc}"}
    return {"status": "ok", "message": "not refused"}
