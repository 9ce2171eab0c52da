"""The ``copy`` transport: a mounted NAS path, copied and read back by this process."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import time
from pathlib import Path

from tray_app.creation.sync.control import Control
from tray_app.creation.sync.local_target import LocalTarget, errno_failure
from tray_app.creation.sync.manifest import MANIFEST_RELATIVE, Manifest, walk_folder
from tray_app.creation.sync.options import SyncOptions
from tray_app.creation.sync.read_back import (
    CheckedCopy,
    ReadBack,
    listed_files,
    put_manifest,
    verify_local,
)

__all__ = ["CopyTransport"]

_CHUNK = 1 << 20


class _Throttle:
    """Keeps one copy under ``kib`` KiB/s by pausing between chunks."""

    def __init__(self, kib: int | None, control: Control) -> None:
        self._rate = kib * 1024 if kib else None
        self._control = control
        self._start = time.monotonic()
        self._sent = 0

    @property
    def limited(self) -> bool:
        return self._rate is not None

    def sent(self, count: int) -> None:
        if self._rate is None:
            return
        self._sent += count
        ahead = self._sent / self._rate - (time.monotonic() - self._start)
        if ahead > 0 and self._control.cancelled.wait(ahead):
            self._control.check()


#: One sendfile() call moves at most this much, so a stop or the bandwidth limit is
#: heard between calls even in a file of many gigabytes.
_SEND_CHUNK = 8 << 20
#: sendfile() refused for this pair of files: copy through a buffer instead.
_NO_SENDFILE = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV}


def _send_file(reader: int, writer: int, throttle: _Throttle, control: Control) -> None:
    """Copy ``reader`` to ``writer`` in the kernel, without a pass through Python's memory."""
    chunk = _CHUNK if throttle.limited else _SEND_CHUNK
    offset = 0
    while True:
        try:
            sent = os.sendfile(writer, reader, offset, chunk)
        except OSError as exc:
            if offset == 0 and exc.errno in _NO_SENDFILE:
                _copy_through_buffer(reader, writer, throttle, control)
                return
            raise
        if not sent:
            return
        offset += sent
        throttle.sent(sent)
        control.check()


def _copy_through_buffer(reader: int, writer: int, throttle: _Throttle, control: Control) -> None:
    buffer = memoryview(bytearray(_CHUNK))
    while count := os.readv(reader, [buffer]):
        chunk = buffer[:count]
        while chunk:
            chunk = chunk[os.write(writer, chunk) :]
        throttle.sent(count)
        control.check()


class CopyTransport:
    def __init__(self, root: Path, options: SyncOptions, control: Control, require_mount: bool):
        self.target = LocalTarget(root, require_mount)
        self.options = options
        self.control = control
        #: The copy send() made and read back as it went.
        self._checked: CheckedCopy | None = None

    def probe(self, relative: str) -> bool:
        return self.target.probe(relative)

    def send(self, source: Path, relative: str, fresh: bool) -> Manifest:
        """Copy the folder file by file (in the kernel: ``sendfile``), each copy read back
        while the next ones copy: compared with its original and hashed for the manifest
        from the same bytes, so the folder is read once for the manifest and the check."""
        target = self.target.root / relative
        throttle = _Throttle(self.options.bwlimit_kib, self.control)
        folder = walk_folder(source)
        read_back = ReadBack(source, target, listed_files(folder), stop=self.control.cancelled)
        try:
            target.mkdir(parents=True, exist_ok=True)
            for name in folder.dirs:
                (target / name).mkdir(exist_ok=True)
            for name, src in folder.files:
                self.control.check()
                if name == MANIFEST_RELATIVE:
                    continue  # written anew below, for what this copy read
                self._copy_file(src, target / name, throttle, in_place=not fresh)
                read_back.check(name)
            checked = read_back.finish(folder.excluded)
        except OSError as exc:
            read_back.abandon()
            raise errno_failure(exc, f"Copy to {target} failed") from exc
        except BaseException:
            read_back.abandon()
            raise
        put_manifest(source, checked.manifest, self.target, relative)
        self._checked = checked
        return checked.manifest

    def _copy_file(self, src: Path, dst: Path, throttle: _Throttle, *, in_place: bool) -> None:
        """Copy one file, with its times and mode."""
        # In an existing target, each file appears whole: written beside, then renamed.
        tmp = dst.with_name(f".{dst.name}.exlab-tmp") if in_place else dst
        try:
            with src.open("rb", buffering=0) as reader, tmp.open("wb", buffering=0) as writer:
                _send_file(reader.fileno(), writer.fileno(), throttle, self.control)
            shutil.copystat(src, tmp)
            if in_place:
                os.replace(tmp, dst)
        except BaseException:
            if in_place:
                with contextlib.suppress(OSError):
                    tmp.unlink()
            raise

    def verify(self, source: Path, relative: str, manifest: Manifest) -> None:
        """The copy against the original: send() read this manifest's files back as it
        went; any other manifest is checked by reading the whole copy back now."""
        verify_local(self._checked, manifest, source, self.target.root / relative)

    def put_record(self, relative: str, record_relative: str, data: bytes) -> None:
        self.target.put(f"{relative}/{record_relative}", data)

    def rename(self, partial: str, relative: str) -> None:
        self.target.rename(partial, relative)

    def flush(self, relative: str) -> None:
        self.target.flush(relative)
