"""The ``rclone`` transport: the real ``rclone`` to ``remote:path`` of any remote in its
config, or to a local path.

To a remote, rclone compares each upload's hash with the one the remote computes of
its copy, where both sides have one; ``rclone check`` compares the files it did
not (all of them on a remote without a common hash, by reading them back). To a local path the
copy is read back as rclone names each file done (see :mod:`transport_tools`), and
rclone's own hashing of both sides is left out: the read-back compares what is on
the target byte for byte, which is more than a hash of the stream rclone wrote.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from tray_app.config import is_remote_root
from tray_app.creation.sync.control import Control, classify
from tray_app.creation.sync.local_target import LocalTarget
from tray_app.creation.sync.manifest import (
    MANIFEST_RELATIVE,
    Folder,
    Manifest,
    mismatch,
    nested_creations,
    raise_if_wrong,
)
from tray_app.creation.sync.model import Code, SyncFailure
from tray_app.creation.sync.options import SyncOptions
from tray_app.creation.sync.read_back import CheckedCopy, verify_local
from tray_app.creation.sync.transport_tools import (
    excludes,
    hashing_beside,
    send_to_local,
    staged_record,
)

__all__ = ["RcloneTransport"]

#: rclone's log line (``-v``) once a file's copy is complete.
_COPIED = re.compile(r"\sINFO\s+: (?P<name>.+): Copied \((?:new|replaced existing)\)$")
#: Its line (``-vv``) once it compared an upload's hash with the copy's on the remote.
_HASH_OK = re.compile(r"\sDEBUG : (?P<name>.+): (?:md5|sha1|[a-z0-9]+) = [0-9a-f]+ OK$")
#: What it says in passing, left out of what a failure is worded from.
_CHATTER = re.compile(r"^\S+ \S+ (?:INFO|DEBUG)\s*: ")


class RcloneTransport:
    def __init__(self, root: str, options: SyncOptions, control: Control, require_mount: bool):
        self.root = root
        self.options = options
        self.control = control
        self.local = None if is_remote_root(root) else LocalTarget(Path(root), require_mount)
        #: A local copy that send() read back as rclone made it.
        self._checked: CheckedCopy | None = None
        #: A remote copy's manifest, and the files rclone compared by hash as it copied.
        self._hash_checked: tuple[Manifest, set[str]] | None = None

    def _spec(self, relative: str) -> str:
        if not relative:
            return self.root
        sep = "" if self.root.endswith((":", "/")) else "/"
        return f"{self.root}{sep}{relative}"

    def _command(self, *args: str) -> tuple[list[str], dict[str, str]]:
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
        return cmd, {**os.environ, "RCLONE_PASSWORD_COMMAND": ""}

    def _rclone(self, *args: str, timeout: float | None = None) -> tuple[int, str, str]:
        cmd, env = self._command(*args)
        return self.control.run(cmd, tool="rclone", timeout=timeout, env=env)

    def _exists(self, spec: str) -> bool:
        code, _out, err = self._rclone(
            "lsf", "--max-depth=1", "--dirs-only", spec, timeout=self.options.probe_timeout_s
        )
        if code == 0:
            return True
        if code == 3 or "directory not found" in err.lower():
            return False
        raise classify("rclone", code, err)

    def probe(self, relative: str) -> bool:
        if self.local is not None:
            return self.local.probe(relative)
        if not self._exists(self.root):
            raise SyncFailure(Code.NOT_REACHABLE, f"The NAS folder {self.root} is not there.")
        return self._exists(self._spec(relative))

    def _copy_args(self, source: Path, relative: str, nested: list[str]) -> list[str]:
        args = ["copy", str(source), self._spec(relative)]
        args += excludes(nested, flag="--exclude", rclone=True)
        args.append(f"--exclude=/{MANIFEST_RELATIVE}")
        if self.options.bwlimit_kib:
            args.append(f"--bwlimit={self.options.bwlimit_kib}K")
        return args

    def send(self, source: Path, relative: str, fresh: bool) -> Manifest:
        """rclone copies while this process makes the manifest: by reading each copied
        file back on a local path, by hashing the folder beside rclone for a remote."""
        if self.local is not None:
            return self._send_local(source, relative)
        args = self._copy_args(source, relative, nested_creations(source))
        checked: set[str] = set()

        def transfer() -> None:
            # -vv: rclone says which uploads it compared by hash with the NAS's copy.
            cmd, env = self._command(*args, "-vv", "--stats=0")
            code, _out, err = self.control.follow(
                cmd, tool="rclone", on_line=lambda line: _hash_compared(line, checked),
                from_stderr=True, env=env,
            )  # fmt: skip
            if code != 0:
                raise classify("rclone", code, err)

        manifest = hashing_beside(source, self.control, transfer)
        self._hash_checked = (manifest, checked)
        code, _out, err = self._rclone(
            "copyto", str(source / MANIFEST_RELATIVE), self._spec(f"{relative}/{MANIFEST_RELATIVE}")
        )
        if code != 0:
            raise classify("rclone", code, err)
        return manifest

    def _send_local(self, source: Path, relative: str) -> Manifest:
        assert self.local is not None

        def command(folder: Folder) -> tuple[list[str], dict[str, str]]:
            args = self._copy_args(source, relative, folder.excluded)
            # -v: a line per file copied; no periodic statistics; the read-back checks.
            return self._command(*args, "-v", "--stats=0", "--ignore-checksum")

        self._checked = send_to_local(
            source, self.local, relative, self.control, tool="rclone", command=command,
            read_line=lambda line: _read(_COPIED, line), from_stderr=True, wait_for_name=False,
        )  # fmt: skip
        return self._checked.manifest

    def verify(self, source: Path, relative: str, manifest: Manifest) -> None:
        """The copy against the manifest: read back here for a local path; rclone's
        own comparison of both sides' hashes for a remote."""
        if self.local is not None:
            verify_local(self._checked, manifest, source, Path(self._spec(relative)))
            return
        unchecked = self._unchecked(manifest)
        if unchecked:
            self._check(source, relative, unchecked)
        raise_if_wrong(manifest, source)

    def _unchecked(self, manifest: Manifest) -> list[str]:
        """The manifest's files that rclone did not compare by hash as it uploaded them
        (it reads the NAS's copy for that: an MD5 or SHA-1 the remote computes there)."""
        if self._hash_checked is None or self._hash_checked[0] is not manifest:
            return list(manifest.digests)
        return [name for name in manifest.digests if name not in self._hash_checked[1]]

    def _check(self, source: Path, relative: str, names: list[str]) -> None:
        with tempfile.TemporaryDirectory(prefix="exlab-check-") as tmp:
            listing, report = Path(tmp) / "files.txt", Path(tmp) / "combined.txt"
            listing.write_text("".join(f"{name}\n" for name in names))
            args = [
                "check", str(source), self._spec(relative), "--one-way",
                f"--files-from={listing}", f"--combined={report}",
            ]  # fmt: skip
            code, _out, err = self._rclone(*args)
            if code == 0 and "no common hash" in err.lower():
                # Sizes alone prove nothing: compare the content by reading it back.
                code, _out, err = self._rclone(*args, "--download")
            # One line a file: "= name" the same, "*" different, "-" not on the NAS,
            # "!" could not be read.
            lines = report.read_text().splitlines() if report.exists() else []
        if code == 0:
            return
        wrong = {"*": "differs", "-": "is missing", "!": "could not be read"}
        differing = [
            f"{line[2:]} {wrong[line[0]]}" for line in lines if line[:2] in ("* ", "- ", "! ")
        ]
        if differing or "differences found" in err.lower():
            raise mismatch(differing or ["(see rclone's log)"])
        raise classify("rclone", code, err)

    def put_record(self, relative: str, record_relative: str, data: bytes) -> None:
        if self.local is not None:
            self.local.put(f"{relative}/{record_relative}", data)
            return
        with staged_record(data) as local:
            code, _out, err = self._rclone(
                "copyto", str(local), self._spec(f"{relative}/{record_relative}")
            )
        if code != 0:
            raise classify("rclone", code, err)

    def rename(self, partial: str, relative: str) -> None:
        if self.local is not None:
            self.local.rename(partial, relative)
            return
        code, _out, err = self._rclone("moveto", self._spec(partial), self._spec(relative))
        if code != 0:
            raise classify("rclone", code, err)

    def flush(self, relative: str) -> None:
        """A local path is flushed like any; a remote has its data once rclone exits."""
        if self.local is not None:
            self.local.flush(relative)


def _read(pattern: re.Pattern[str], line: str) -> tuple[str | None, bool]:
    """One line of rclone's log: the file ``pattern`` finds in it, and whether it is
    chatter (left out of what a failure is worded from)."""
    found = pattern.search(line)
    return (found["name"] if found else None), bool(_CHATTER.match(line))


def _hash_compared(line: str, compared: set[str]) -> bool:
    """One line of rclone's log (``-vv``): note the file whose upload it compared by hash."""
    name, chatter = _read(_HASH_OK, line)
    if name is not None:
        compared.add(name)
    return chatter
