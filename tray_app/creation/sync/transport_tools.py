"""What the ``rsync`` and ``rclone`` transports share: the real programs copy, this
process makes the manifest beside them.

To a local path (a mounted share) each file the program names as copied is read
back while it goes on, compared with its original and hashed for the manifest from
the same bytes (:mod:`read_back`). To a remote the folder is hashed on the other
core while the program copies, and the remote side checks the copy afterwards.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tray_app.creation.record import RECORD_NAME
from tray_app.creation.sync.control import Control, classify
from tray_app.creation.sync.local_target import LocalTarget
from tray_app.creation.sync.manifest import (
    Folder,
    Manifest,
    hash_folder,
    save_manifest,
    walk_folder,
)
from tray_app.creation.sync.model import Code, SyncFailure
from tray_app.creation.sync.read_back import (
    CheckedCopy,
    Following,
    ReadBack,
    listed_files,
    put_manifest,
)

__all__ = ["excludes", "hashing_beside", "send_to_local", "staged_record"]

#: The program's command line (and environment) for the folder.
Command = Callable[[Folder], tuple[list[str], dict[str, str] | None]]
#: One line of its output: the file it names as copied (or None), and whether the line
#: is chatter, left out of what a failure is worded from.
LineReader = Callable[[str], tuple[str | None, bool]]


def excludes(names: list[str], *, flag: str, rclone: bool = False) -> list[str]:
    """The program's options that leave the nested creations ``names`` out."""
    suffix = "/**" if rclone else "/"
    return [f"{flag}=/{name}{suffix}" for name in names]


def send_to_local(
    source: Path,
    target: LocalTarget,
    relative: str,
    control: Control,
    *,
    tool: str,
    command: Command,
    read_line: LineReader,
    from_stderr: bool = False,
    wait_for_name: bool,
) -> CheckedCopy:
    """Copy by a program to a local path, reading back each file it names as it goes;
    the rest once it is done. Writes the manifest into the folder and the copy."""
    folder = walk_folder(source)
    where = target.root / relative
    read_back = ReadBack(source, where, listed_files(folder), stop=control.cancelled)
    following = Following(read_back, where, wait_for_name=wait_for_name)

    def on_line(line: str) -> bool:
        name, chatter = read_line(line)
        if name is not None:
            following.copied(name)
        return chatter

    try:
        args, env = command(folder)
        code, _out, err = control.follow(
            args, tool=tool, on_line=on_line, from_stderr=from_stderr, env=env
        )
        if code != 0:
            raise classify(tool, code, err)
        # A file read while the program was still at it (an older copy it replaced
        # afterwards) is read once more before it counts as wrong.
        checked = read_back.finish(folder.excluded, again_if_wrong=True)
    except BaseException:
        read_back.abandon()
        raise
    put_manifest(source, checked.manifest, target, relative)
    return checked


@contextlib.contextmanager
def staged_record(data: bytes) -> Iterator[Path]:
    """The copy's record as a local ``creation.json`` (in a temporary folder, removed
    afterwards), for a program to send to a remote."""
    with tempfile.TemporaryDirectory(prefix="exlab-record-") as tmp:
        local = Path(tmp) / RECORD_NAME
        local.write_bytes(data)
        yield local


def hashing_beside(source: Path, control: Control, transfer: Callable[[], None]) -> Manifest:
    """Run ``transfer`` (a program copying the folder) while this process hashes the
    folder on the other core; returns the manifest, written into the folder."""
    stop = threading.Event()

    def between() -> None:
        if stop.is_set() or control.cancelled.is_set():
            raise SyncFailure(Code.INTERRUPTED, "The hashing was stopped.")

    with ThreadPoolExecutor(1, thread_name_prefix="exlab-sync-hash") as pool:
        hashing = pool.submit(hash_folder, source, between)
        try:
            transfer()
        except BaseException:
            stop.set()
            raise
        try:
            manifest = hashing.result()
        except OSError as exc:
            raise SyncFailure(Code.IO_ERROR, f"Could not read the local folder: {exc}") from exc
    try:
        save_manifest(source, manifest)
    except OSError as exc:
        raise SyncFailure(Code.IO_ERROR, f"Could not write the manifest: {exc}") from exc
    return manifest
