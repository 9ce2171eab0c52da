"""Writes a .deb from a package tree, the way ``dpkg-deb --build`` does, but without
claiming the system's own folders.

``dpkg-deb --build`` puts every parent folder into the package, so the package owned
``/opt`` and purging it warned "directory '/opt' not empty so not removed". Here the
folders in :data:`NOT_OURS` are left out of the data archive (dpkg unpacks into them as
they are); everything else is as dpkg-deb writes it: ``debian-binary``, ``control.tar.gz``
and ``data.tar.gz`` in an ar archive, owned by root.

    python packaging/deb/pack.py ROOT OUT.deb      (ROOT holds DEBIAN/ and the files)
"""

from __future__ import annotations

import io
import os
import sys
import tarfile
import time
from pathlib import Path

#: Folders the package installs into but does not own (no other package ships /opt).
NOT_OURS = frozenset({"./opt"})


def _owned_by_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def _tar(root: Path, members: list[str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(
        fileobj=buffer, mode="w:gz", format=tarfile.GNU_FORMAT, compresslevel=1
    ) as tar:
        for member in members:
            tar.add(root / member, arcname=member, recursive=False, filter=_owned_by_root)
    return buffer.getvalue()


def _members(root: Path, *, skip: frozenset[str] = frozenset()) -> list[str]:
    found = ["."]
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        relative = Path(folder).relative_to(root)
        found += ["./" + (relative / name).as_posix() for name in [*dirs, *sorted(files)]]
    return [member for member in found if member not in skip]


def _ar_member(name: str, data: bytes, mtime: int) -> bytes:
    header = f"{name:<16}{mtime:<12}{0:<6}{0:<6}{0o100644:<8o}{len(data):<10}`\n".encode("ascii")
    return header + data + (b"\n" if len(data) % 2 else b"")


def pack(root: Path, out: Path) -> None:
    control_dir = root / "DEBIAN"
    data_members = [
        m
        for m in _members(root, skip=NOT_OURS)
        if m != "./DEBIAN" and not m.startswith("./DEBIAN/")
    ]
    control = _tar(control_dir, _members(control_dir))
    data = _tar(root, data_members)
    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", time.time()))
    archive = b"!<arch>\n" + b"".join(
        _ar_member(name, content, mtime)
        for name, content in (
            ("debian-binary", b"2.0\n"),
            ("control.tar.gz", control),
            ("data.tar.gz", data),
        )
    )
    partial = out.with_name(out.name + ".part")
    partial.write_bytes(archive)
    partial.replace(out)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    pack(Path(argv[0]), Path(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
