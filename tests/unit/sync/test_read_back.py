"""Reading a copy back while its program copies: the manifest made from the read-back,
an older copy the program replaces afterwards, and following a real program's output."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from pathlib import Path

import pytest
from sync_helpers import job_for, make_folder, sample_files, sha256sum_ok

from tray_app.creation.sync import Code, SyncFailure, SyncOptions, Transport
from tray_app.creation.sync.attempt import make_transport
from tray_app.creation.sync.control import Control
from tray_app.creation.sync.manifest import walk_folder
from tray_app.creation.sync.read_back import Following, ReadBack, compare_file, listed_files


@pytest.mark.parametrize("transport", [Transport.COPY, Transport.RSYNC, Transport.RCLONE])
async def test_the_manifest_made_while_reading_back_is_the_folders_own(
    transport: Transport, tmp_path: Path
) -> None:
    nas = tmp_path / "nas"
    nas.mkdir()
    files = sample_files(count=40) | {"raw/empty.bin": b"", "raw/big.bin": bytes(3 << 20)}
    folder = make_folder(tmp_path / "L", "EQ/Run_1", files)
    sender = make_transport(job_for(folder, nas, transport), SyncOptions(), Control())
    manifest = await asyncio.to_thread(sender.send, folder, "EQ/Run_1", True)
    await asyncio.to_thread(sender.verify, folder, "EQ/Run_1", manifest)
    assert manifest.digests == {
        name: hashlib.sha256(data).hexdigest() for name, data in files.items()
    }
    assert sha256sum_ok(nas / "EQ/Run_1")


@pytest.mark.parametrize("transport", [Transport.RSYNC, Transport.RCLONE])
async def test_an_older_copy_left_by_a_stopped_attempt_is_replaced_and_checked(
    transport: Transport, tmp_path: Path
) -> None:
    nas = tmp_path / "nas"
    folder = make_folder(tmp_path / "L", "EQ/Run_1", sample_files(count=5))
    # What a stopped attempt left under the partial name: one file whole, one older.
    where = "EQ/.Run_1.exlab-partial-j1"
    (nas / where / "raw").mkdir(parents=True)
    (nas / where / "raw/data_0.csv").write_bytes((folder / "raw/data_0.csv").read_bytes())
    (nas / where / "raw/data_1.csv").write_bytes(b"an older version\n")
    sender = make_transport(job_for(folder, nas, transport), SyncOptions(), Control())
    manifest = await asyncio.to_thread(sender.send, folder, where, True)
    await asyncio.to_thread(sender.verify, folder, where, manifest)
    assert (nas / where / "raw/data_1.csv").read_bytes() == (folder / "raw/data_1.csv").read_bytes()
    assert sha256sum_ok(nas / where)


def test_a_file_read_while_its_program_was_still_at_it_is_read_again(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "L", "EQ/Run_1", sample_files())
    target = tmp_path / "nas"
    (target / "raw").mkdir(parents=True)
    for name in ("raw/data_0.csv", "raw/data_2.csv", "README.md"):
        (target / name).write_bytes((folder / name).read_bytes())
    (target / "raw/data_1.csv").write_bytes(b"older\n")
    local = walk_folder(folder)
    with pytest.raises(SyncFailure) as caught:  # the older copy is wrong for good...
        read_back = ReadBack(folder, target, listed_files(local))
        following = Following(read_back, target, wait_for_name=False)
        following.copied("raw/data_1.csv")  # named while the older copy is still there
        following.copied("raw/not-listed.tmp")  # not the folder's: ignored
        read_back.finish(local.excluded).verify(folder)
    assert caught.value.reason.code == Code.MISMATCH
    assert "raw/data_1.csv differs" in caught.value.reason.message

    read_back = ReadBack(folder, target, listed_files(local))
    Following(read_back, target, wait_for_name=False).copied("raw/data_1.csv")
    (target / "raw/data_1.csv").write_bytes((folder / "raw/data_1.csv").read_bytes())
    checked = read_back.finish(local.excluded, again_if_wrong=True)  # ...unless replaced
    checked.verify(folder)
    assert checked.manifest.file_count == 4


def test_following_waits_until_a_named_file_has_its_name(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "L", "EQ/Run_1", sample_files())
    target = tmp_path / "nas"
    (target / "raw").mkdir(parents=True)
    local = walk_folder(folder)
    read_back = ReadBack(folder, target, listed_files(local))
    following = Following(read_back, target, wait_for_name=True)
    following.copied("raw/data_0.csv")  # sent, not yet renamed into place
    (target / "raw/data_0.csv").write_bytes((folder / "raw/data_0.csv").read_bytes())
    following.copied("raw/data_1.csv")  # now the first one is there: it is read back
    for name in ("raw/data_1.csv", "raw/data_2.csv", "README.md"):
        (target / name).write_bytes((folder / name).read_bytes())
    read_back.finish(local.excluded).verify(folder)


def test_follow_hands_over_each_line_as_it_comes_and_keeps_the_rest(tmp_path: Path) -> None:
    control = Control()
    # A megabyte on the other stream first: a pipe nobody read would block it for good.
    script = "head -c 1000000 /dev/zero | tr '\\0' x >&2; echo one; echo skip; echo two; exit 3"
    seen: list[str] = []
    code, out, err = control.follow(
        ["sh", "-c", script], tool="sh", on_line=lambda line: seen.append(line) or line == "skip"
    )
    assert (code, out, len(err)) == (3, "one\ntwo\n", 1_000_000)
    assert seen == ["one", "skip", "two"]
    code, out, err = control.follow(
        ["sh", "-c", "echo out; echo err >&2"], tool="sh", on_line=lambda _: False, from_stderr=True
    )
    assert (code, out, err) == (0, "out\n", "err\n")


def test_a_followed_program_is_stopped_by_cancel(tmp_path: Path) -> None:
    control = Control()
    started = threading.Event()

    def stop_when_started() -> None:
        started.wait(30)
        control.cancel()

    threading.Thread(target=stop_when_started, daemon=True).start()
    before = time.monotonic()
    with pytest.raises(SyncFailure) as caught:
        control.follow(
            ["sh", "-c", "echo ready; exec sleep 60"],
            tool="sh",
            on_line=lambda line: started.set() or False,
        )
    assert caught.value.reason.code == Code.INTERRUPTED
    assert time.monotonic() - before < 30  # not the program's 60 s


def test_a_stop_ends_the_reading_back_of_a_big_file_between_two_chunks(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "L", "EQ/Run_1", {"raw/big.bin": bytes(3 << 20)})
    target = tmp_path / "nas"
    (target / "raw").mkdir(parents=True)
    (target / "raw/big.bin").write_bytes(bytes(3 << 20))
    assert compare_file(folder, target, "raw/big.bin").wrong is None
    stop = threading.Event()
    stop.set()
    with pytest.raises(SyncFailure) as caught:
        compare_file(folder, target, "raw/big.bin", hashed=True, stop=stop)
    assert caught.value.reason.code == Code.INTERRUPTED
