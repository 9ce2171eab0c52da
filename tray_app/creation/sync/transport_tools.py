"""The ``rsync`` and ``rclone`` transports: the real programs, run without prompts.

rsync reaches a local path or ``[user@]host:path`` over SSH (key authentication,
``BatchMode``); rclone reaches ``remote:path`` of any remote in its config.
Both verify with their own checksum comparison after the copy.
"""

from __future__ import annotations

import os
import re
import shlex
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tray_app.config import is_remote_root
from tray_app.creation.record import RECORD_DIR, RECORD_NAME
from tray_app.creation.sync.control import Control, classify
from tray_app.creation.sync.manifest import (
    MANIFEST_RELATIVE,
    Manifest,
    changed_files,
    compare_tree,
    hash_folder,
    mismatch,
    nested_creations,
    save_manifest,
)
from tray_app.creation.sync.model import Code, SyncFailure
from tray_app.creation.sync.options import SyncOptions
from tray_app.creation.sync.transport_copy import check_local_root, sync_filesystem

__all__ = ["RcloneTransport", "RsyncTransport", "split_remote"]

_REMOTE = re.compile(r"^(?P<host>[^/:]+):(?P<path>.*)$")
_RECORD = f"/{RECORD_DIR}/{RECORD_NAME}"


def split_remote(root: str) -> tuple[str | None, str]:
    """``("user@host", "/path")`` for an SSH target, ``(None, root)`` for a local path."""
    match = _REMOTE.match(root)
    return (match["host"], match["path"]) if match else (None, root)


def _excludes(manifest: Manifest, *, flag: str, rclone: bool = False) -> list[str]:
    suffix = "/**" if rclone else "/"
    return [f"{flag}=/{name}{suffix}" for name in manifest.excluded]


def _dirty_files(itemized: str) -> list[str]:
    """Files rsync's dry run would still send: missing or different on the target."""
    dirty = []
    for line in itemized.splitlines():
        item, _, name = line.partition(" ")
        if len(item) >= 2 and item[1] == "f" and item[0] in "<>ch":
            dirty.append(name)
    return dirty


def _hashing_beside(source: Path, control: Control, transfer: Callable[[], None]) -> Manifest:
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


class RsyncTransport:
    def __init__(self, root: str, options: SyncOptions, control: Control, require_mount: bool):
        self.host, self.path = split_remote(root)
        self.options = options
        self.control = control
        self.require_mount = require_mount

    def _spec(self, relative: str) -> str:
        path = f"{self.path.rstrip('/')}/{relative}" if relative else self.path
        return f"{self.host}:{path}" if self.host else path

    def _rsync(self, *args: str) -> list[str]:
        cmd = ["rsync", f"--timeout={self.options.io_timeout_s}"]
        if self.host:
            cmd += ["-e", shlex.join(self.options.ssh_args())]
        return [*cmd, *args]

    def _ssh(self, script: str) -> tuple[int, str, str]:
        assert self.host is not None
        return self.control.run(
            [*self.options.ssh_args(), self.host, script],
            tool="ssh",
            timeout=self.options.probe_timeout_s,
        )

    def probe(self, relative: str) -> bool:
        if self.host is None:
            check_local_root(Path(self.path), self.require_mount)
            return Path(self._spec(relative)).exists()
        root, target = shlex.quote(self.path), shlex.quote(self._spec(relative).split(":", 1)[1])
        code, out, err = self._ssh(
            f"if ! test -d {root}; then echo missing; elif ! test -w {root}; then echo readonly;"
            f" elif test -e {target}; then echo exists; else echo fresh; fi"
        )
        answer = out.strip()
        if code != 0 or answer not in {"missing", "readonly", "exists", "fresh"}:
            raise classify("ssh", code, err or out)
        if answer == "missing":
            raise SyncFailure(
                Code.NOT_REACHABLE, f"The NAS folder {self.host}:{self.path} is not there."
            )
        if answer == "readonly":
            raise SyncFailure(
                Code.NOT_REACHABLE, f"The NAS folder {self.host}:{self.path} is not writable."
            )
        return answer == "exists"

    def send(self, source: Path, relative: str, fresh: bool) -> Manifest:
        """rsync copies (checking each file it sends with its own whole-file checksum)
        while this process hashes the folder for the manifest; then the manifest goes."""
        excludes = [f"--exclude=/{name}/" for name in nested_creations(source)]
        args = ["-a", "--mkpath", *excludes, f"--exclude=/{MANIFEST_RELATIVE}"]
        if not fresh:
            args.append("--delay-updates")  # files of an existing copy change all at once
            # An existing copy's files that size and time call equal are compared by content.
            args.append("--checksum")
        if self.options.bwlimit_kib:
            args.append(f"--bwlimit={self.options.bwlimit_kib}")

        def transfer() -> None:
            code, _out, err = self.control.run(
                self._rsync(*args, f"{source}/", f"{self._spec(relative)}/"), tool="rsync"
            )
            if code != 0:
                raise classify("rsync", code, err)

        manifest = _hashing_beside(source, self.control, transfer)
        self._put(source / MANIFEST_RELATIVE, f"{relative}/{MANIFEST_RELATIVE}")
        return manifest

    def verify(self, source: Path, relative: str, manifest: Manifest) -> None:
        """The NAS copy against the manifest, reading only the NAS side: read back here
        for a local path, by the NAS's own sha256sum over SSH."""
        if self.host is None:
            compare_tree(manifest, source, Path(self._spec(relative)))
            return
        target = shlex.quote(self._spec(relative).split(":", 1)[1])
        code, out, err = self._ssh_check(
            f"cd -- {target} || exit 111; exec sha256sum --check --strict --quiet -",
            manifest.text().encode(),
        )
        if code == 0:
            return
        failed = [line.rsplit(":", 1)[0] for line in out.splitlines() if "FAILED" in line]
        if code == 111:
            raise mismatch(["the folder is missing"])
        if code == 1 and failed:
            raise mismatch(failed)
        if code != 127:  # 127: no sha256sum on the NAS; rsync compares instead
            raise classify("ssh", code, err or out)
        self._verify_by_rsync(source, relative, manifest)

    def _ssh_check(self, script: str, data: bytes) -> tuple[int, str, str]:
        assert self.host is not None
        # Reading the folder back on the NAS takes as long as it takes (no probe timeout).
        return self.control.run(
            [*self.options.ssh_args(), self.host, script], tool="ssh", input=data
        )

    def _verify_by_rsync(self, source: Path, relative: str, manifest: Manifest) -> None:
        # rsync --checksum compares every file's content on both sides (the NAS
        # side is read by the rsync there); creation.json changes with the status.
        code, out, err = self.control.run(
            self._rsync(
                "-a", "--checksum", "--dry-run", "--out-format=%i %n",
                *_excludes(manifest, flag="--exclude"), f"--exclude={_RECORD}",
                f"{source}/", f"{self._spec(relative)}/",
            ),
            tool="rsync",
        )  # fmt: skip
        if code != 0:
            raise classify("rsync", code, err)
        dirty = _dirty_files(out)
        if dirty:
            raise mismatch(dirty)

    def _put(self, local: Path, remote_relative: str) -> None:
        code, _out, err = self.control.run(
            self._rsync("--mkpath", "--chmod=F644", str(local), self._spec(remote_relative)),
            tool="rsync",
        )
        if code != 0:
            raise classify("rsync", code, err)

    def put_record(self, relative: str, record_relative: str, data: bytes) -> None:
        with tempfile.TemporaryDirectory(prefix="exlab-record-") as tmp:
            local = Path(tmp) / RECORD_NAME
            local.write_bytes(data)
            self._put(local, f"{relative}/{record_relative}")

    def rename(self, partial: str, relative: str) -> None:
        if self.host is None:
            try:
                os.rename(self._spec(partial), self._spec(relative))
            except OSError as exc:
                raise SyncFailure(
                    Code.IO_ERROR, f"Could not move the copy into place: {exc}"
                ) from exc
            return
        source = shlex.quote(self._spec(partial).split(":", 1)[1])
        target = shlex.quote(self._spec(relative).split(":", 1)[1])
        code, out, err = self._ssh(f"mv -- {source} {target}")
        if code != 0:
            raise classify("ssh", code, err or out)

    def flush(self, relative: str) -> None:
        if self.host is None:
            sync_filesystem(Path(self._spec(relative)))


class RcloneTransport:
    def __init__(self, root: str, options: SyncOptions, control: Control, require_mount: bool):
        self.root = root
        self.options = options
        self.control = control

    def _spec(self, relative: str) -> str:
        if not relative:
            return self.root
        sep = "" if self.root.endswith((":", "/")) else "/"
        return f"{self.root}{sep}{relative}"

    def _rclone(self, *args: str, timeout: float | None = None) -> tuple[int, str, str]:
        cmd = [
            "rclone",
            *args,
            "--contimeout=15s",
            f"--timeout={self.options.io_timeout_s}s",
            "--retries=1",
            "--low-level-retries=3",
            "--ask-password=false",
        ]
        if self.options.rclone_config is not None:
            cmd.append(f"--config={self.options.rclone_config}")
        env = {**os.environ, "RCLONE_PASSWORD_COMMAND": ""}
        return self.control.run(cmd, tool="rclone", timeout=timeout, env=env)

    def _exists(self, spec: str, *, what: str) -> bool:
        code, _out, err = self._rclone(
            "lsf", "--max-depth=1", "--dirs-only", spec, timeout=self.options.probe_timeout_s
        )
        if code == 0:
            return True
        if code == 3 or "directory not found" in err.lower():
            return False
        raise classify("rclone", code, err)

    def probe(self, relative: str) -> bool:
        if not self._exists(self.root, what="root"):
            raise SyncFailure(Code.NOT_REACHABLE, f"The NAS folder {self.root} is not there.")
        return self._exists(self._spec(relative), what="target")

    def send(self, source: Path, relative: str, fresh: bool) -> Manifest:
        """rclone copies (checking each upload's hash where both sides have one) while
        this process hashes the folder for the manifest; then the manifest goes."""
        excludes = [f"--exclude=/{name}/**" for name in nested_creations(source)]
        args = ["copy", str(source), self._spec(relative), *excludes]
        args.append(f"--exclude=/{MANIFEST_RELATIVE}")
        if self.options.bwlimit_kib:
            args.append(f"--bwlimit={self.options.bwlimit_kib}K")

        def transfer() -> None:
            code, _out, err = self._rclone(*args)
            if code != 0:
                raise classify("rclone", code, err)

        manifest = _hashing_beside(source, self.control, transfer)
        code, _out, err = self._rclone(
            "copyto", str(source / MANIFEST_RELATIVE), self._spec(f"{relative}/{MANIFEST_RELATIVE}")
        )
        if code != 0:
            raise classify("rclone", code, err)
        return manifest

    def verify(self, source: Path, relative: str, manifest: Manifest) -> None:
        """The copy against the manifest: read back here for a local path; rclone's
        own comparison of both sides' hashes for a remote."""
        if not is_remote_root(self.root):
            compare_tree(manifest, source, Path(self._spec(relative)))
            return
        args = [
            "check", str(source), self._spec(relative), "--one-way",
            *_excludes(manifest, flag="--exclude", rclone=True), f"--exclude={_RECORD}",
        ]  # fmt: skip
        code, _out, err = self._rclone(*args)
        if code == 0 and "no common hash" in err.lower():
            # Sizes alone prove nothing: compare the content by reading it back.
            code, _out, err = self._rclone(*args, "--download")
        if code == 0:
            changed = changed_files(manifest, source)  # since hashed: the manifest is stale
            if changed:
                raise mismatch([f"{name} changed while it was copied" for name in changed])
            return
        differing = re.findall(r"ERROR : (.+?): (?:sizes|hashes|md5|sha1|file not found)", err)
        if differing or "differences found" in err.lower():
            raise mismatch(differing or ["(see rclone's log)"])
        raise classify("rclone", code, err)

    def put_record(self, relative: str, record_relative: str, data: bytes) -> None:
        with tempfile.TemporaryDirectory(prefix="exlab-record-") as tmp:
            local = Path(tmp) / RECORD_NAME
            local.write_bytes(data)
            code, _out, err = self._rclone(
                "copyto", str(local), self._spec(f"{relative}/{record_relative}")
            )
        if code != 0:
            raise classify("rclone", code, err)

    def rename(self, partial: str, relative: str) -> None:
        code, _out, err = self._rclone("moveto", self._spec(partial), self._spec(relative))
        if code != 0:
            raise classify("rclone", code, err)

    def flush(self, relative: str) -> None:
        """rclone has finished writing when it exits."""
