"""The template renderer's own process: ``python -m tray_app.creation.render_worker``
(the frozen app re-enters itself with ``--render-worker``).

The tray renders templates here rather than in its own process: Copier, Jinja
and pydantic hold ~40 MiB that an idle tray should not keep, and their import
(~0.5 s of CPU) then never competes with the tray's event loop. The worker
imports Copier, says it is ready, and renders one request at a time until its
stdin closes; :class:`~tray_app.creation.render_process.RenderProcess` closes
it after a few idle minutes.

Wire: frames of a 4-byte big-endian length and a pickle, both ways. Both ends
are this program, so pickle is safe and keeps the template variables' Python
types exactly.

- worker → host, once: ``("ready", pid)``
- host → worker: ``("render", template_dir, destination, data)``
- worker → host: ``("ok",)`` or ``("error", code, message)``
"""

from __future__ import annotations

import argparse
import os
import pickle
import struct
import sys
from pathlib import Path
from typing import IO, Any

from tray_app.creation.child_process import die_with_parent, take_stdout

MODULE = "tray_app.creation.render_worker"
FLAG = "--render-worker"
_HEADER = struct.Struct(">I")


def encode_frame(message: tuple[Any, ...]) -> bytes:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(body)) + body


def frame_length(header: bytes) -> int:
    (length,) = _HEADER.unpack(header)
    return int(length)


def decode_frame(body: bytes) -> tuple[Any, ...] | None:
    message = pickle.loads(body)
    return message if isinstance(message, tuple) else None


def _read_frame(stream: IO[bytes]) -> tuple[Any, ...] | None:
    """The next message, or None once the host has closed our stdin."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    return decode_frame(stream.read(frame_length(header)))


def _render(request: tuple[Any, ...]) -> tuple[Any, ...]:
    from tray_app.creation.render import RenderError, render_template

    try:
        _kind, template_dir, destination, data = request
        render_template(Path(template_dir), Path(destination), data)
    except RenderError as exc:
        return ("error", exc.code, exc.message)
    except Exception as exc:  # a malformed request, or anything render_template let through
        return ("error", "render_failed", f"{type(exc).__name__}: {exc}")
    return ("ok",)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="exlab-tray --render-worker")
    parser.add_argument("--host-pid", type=int, default=0)
    args = parser.parse_args(argv)
    die_with_parent(args.host_pid)
    replies = open(take_stdout(), "wb", buffering=0)  # noqa: SIM115 - lives as long as we do
    requests = sys.stdin.buffer

    from tray_app.creation.render import import_copier

    import_copier()
    replies.write(encode_frame(("ready", os.getpid())))
    while (request := _read_frame(requests)) is not None:
        replies.write(encode_frame(_render(request)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
