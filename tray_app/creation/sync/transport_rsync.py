"""The ``rsync`` transport: the real ``rsync`` to a local path or to ``[user@]host:path``
over SSH (key authentication, ``BatchMode``, no prompts).

A local copy is read back as rsync goes (see :mod:`transport_tools`); over SSH
rsync compares both sides' contents once the copy is done (``--checksum``).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from tray_app.creation.record import RECORD_DIR, RECORD_NAME
from tray_app.creation.sync.control import Control, classify
from tray_app.creation.sync.local_target import LocalTarget
from tray_app.creation.sync.manifest import (
    MANIFEST_RELATIVE,
    Folder,
    Manifest,
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

__all__ = ["RsyncTransport", "split_remote"]

_REMOTE = re.compile(r"^(?P<host>[^/:]+):(?P<path>.*)$")
_RECORD = f"/{RECORD_DIR}/{RECORD_NAME}"
#: rsync names each file it has sent: with ``%b`` in the format it does so once the file
#: is sent (without, before it starts). A line is "<bytes> <name>".
_NAMED_WHEN_SENT = "--out-format=%b %n"


def split_remote(root: str) -> tuple[str | None, str]:
    """``("user@host", "/path")`` for an SSH target, ``(None, root)`` for a local path."""
    match = _REMOTE.match(root)
    return (match["host"], match["path"]) if match else (None, root)


def _dirty_files(itemized: str) -> list[str]:
    """Files rsync's dry run would still send: missing or different on the target."""
    dirty = []
    for line in itemized.splitlines():
        item, _, name = line.partition(" ")
        if len(item) >= 2 and item[1] == "f" and item[0] in "<>ch":
            dirty.append(name)
    return dirty


class RsyncTransport:
    def __init__(self, root: str, options: SyncOptions, control: Control, require_mount: bool):
        self.host, self.path = split_remote(root)
        self.options = options
        self.control = control
        self.local = LocalTarget(Path(self.path), require_mount) if self.host is None else None
        #: A local copy that send() read back as rsync made it.
        self._checked: CheckedCopy | None = None

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
        if self.local is not None:
            return self.local.probe(relative)
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

    def _args(self, nested: list[str], fresh: bool) -> list[str]:
        args = ["-a", "--mkpath", *excludes(nested, flag="--exclude")]
        args.append(f"--exclude=/{MANIFEST_RELATIVE}")
        if not fresh:
            args.append("--delay-updates")  # files of an existing copy change all at once
            # An existing copy's files that size and time call equal are compared by content.
            args.append("--checksum")
        if self.options.bwlimit_kib:
            args.append(f"--bwlimit={self.options.bwlimit_kib}")
        return args

    def send(self, source: Path, relative: str, fresh: bool) -> Manifest:
        """rsync copies (checking each file it sends with its own whole-file checksum)
        while this process makes the manifest: by reading each copied file back on a
        local path, by hashing the folder beside rsync for a remote one."""
        if self.local is not None:
            return self._send_local(source, relative, fresh)
        args = self._args(nested_creations(source), fresh)

        def transfer() -> None:
            code, _out, err = self.control.run(
                self._rsync(*args, f"{source}/", f"{self._spec(relative)}/"), tool="rsync"
            )
            if code != 0:
                raise classify("rsync", code, err)

        manifest = hashing_beside(source, self.control, transfer)
        self._put(source / MANIFEST_RELATIVE, f"{relative}/{MANIFEST_RELATIVE}")
        return manifest

    def _send_local(self, source: Path, relative: str, fresh: bool) -> Manifest:
        assert self.local is not None

        def command(folder: Folder) -> tuple[list[str], None]:
            args = self._args(folder.excluded, fresh)
            # An existing copy changes all at once at the end (--delay-updates): nothing
            # to read back before that, so rsync need not name what it sends.
            if fresh:
                args.append(_NAMED_WHEN_SENT)
            return self._rsync(*args, f"{source}/", f"{self._spec(relative)}/"), None

        self._checked = send_to_local(
            source, self.local, relative, self.control,
            tool="rsync", command=command, read_line=_named, wait_for_name=True,
        )  # fmt: skip
        return self._checked.manifest

    def verify(self, source: Path, relative: str, manifest: Manifest) -> None:
        """The NAS copy against the folder: read back here for a local path; over SSH by
        rsync's own comparison of both sides' contents (``--checksum``: the NAS side is
        read by the rsync there), which also finds a file changed since it was hashed."""
        if self.host is None:
            verify_local(self._checked, manifest, source, Path(self._spec(relative)))
            return
        # Not sha256sum -c on the NAS: coreutils' SHA-256 (no SHA-NI) hashes ~140 MB/s on
        # the lab's 2-core machines, 7 s a GiB; rsync's checksum (xxh128 since rsync 3.2,
        # MD5 before) keeps up with the disk.
        # creation.json changes with the status and is not compared.
        code, out, err = self.control.run(
            self._rsync(
                "-a", "--checksum", "--dry-run", "--out-format=%i %n",
                *excludes(manifest.excluded, flag="--exclude"), f"--exclude={_RECORD}",
                f"{source}/", f"{self._spec(relative)}/",
            ),
            tool="rsync",
        )  # fmt: skip
        if code != 0:
            raise classify("rsync", code, err)
        raise_if_wrong(manifest, source, _dirty_files(out))

    def _put(self, local: Path, remote_relative: str) -> None:
        code, _out, err = self.control.run(
            self._rsync("--mkpath", "--chmod=F644", str(local), self._spec(remote_relative)),
            tool="rsync",
        )
        if code != 0:
            raise classify("rsync", code, err)

    def put_record(self, relative: str, record_relative: str, data: bytes) -> None:
        if self.local is not None:
            self.local.put(f"{relative}/{record_relative}", data)
            return
        with staged_record(data) as local:
            self._put(local, f"{relative}/{record_relative}")

    def rename(self, partial: str, relative: str) -> None:
        if self.local is not None:
            self.local.rename(partial, relative)
            return
        source = shlex.quote(self._spec(partial).split(":", 1)[1])
        target = shlex.quote(self._spec(relative).split(":", 1)[1])
        code, out, err = self._ssh(f"mv -- {source} {target}")
        if code != 0:
            raise classify("ssh", code, err or out)

    def flush(self, relative: str) -> None:
        if self.local is not None:
            self.local.flush(relative)


def _named(line: str) -> tuple[str | None, bool]:
    """One line of rsync's ``%b %n`` output: the file it names (kept out of the output)."""
    size, _, name = line.partition(" ")
    return (name, True) if size.isdigit() else (None, False)
