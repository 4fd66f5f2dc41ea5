"""The consensus write-ahead log: replay of the height in progress, torn-tail repair, corruption, fsync, rotation."""
from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from consensus.errors import ConsensusError
from consensus.wal import (
    WAL,
    WALClosed,
    WALCorrupted,
    WALError,
    WALHeightNotFound,
    WALLocked,
    WALRecordTooLarge,
)

REPO_ROOT = Path(__file__).resolve().parents[1]


def segments(directory: Path) -> list[Path]:
    """The segment files of a log, oldest first."""
    return sorted(directory.glob("*.wal"))


def write_heights(wal: WAL, heights: range, per_height: int = 3) -> None:
    """Messages ``h/i`` for each height followed by its end-height marker."""
    for height in heights:
        for index in range(per_height):
            wal.write(f"{height}/{index}".encode())
        wal.write_end_height(height)


def test_round_trip_returns_the_messages_of_each_height(tmp_path: Path) -> None:
    with WAL(tmp_path / "wal") as wal:
        wal.write_end_height(0)
        write_heights(wal, range(1, 4))
        wal.write(b"")
        wal.write_sync(b"\x00\xffbinary")
        assert list(wal.replay_from(2)) == [b"2/0", b"2/1", b"2/2"]
        assert list(wal.replay_from(4)) == [b"", b"\x00\xffbinary"]
        assert wal.last_end_height == 3


def test_replay_after_reopen_returns_exactly_the_unfinished_height(tmp_path: Path) -> None:
    path = tmp_path / "wal"
    with WAL(path) as wal:
        wal.write_end_height(0)
        write_heights(wal, range(1, 6))
        wal.write(b"proposal 6")
        wal.write_sync(b"my prevote 6")
        wal.write(b"their precommit 6")
    with WAL(path) as reopened:
        assert reopened.last_end_height == 5
        assert list(reopened.replay_from(6)) == [b"proposal 6", b"my prevote 6", b"their precommit 6"]
        reopened.write_end_height(6)
        assert list(reopened.replay_from(7)) == []


def test_replay_without_the_marker_of_the_previous_height_raises(tmp_path: Path) -> None:
    with WAL(tmp_path / "wal") as wal:
        with pytest.raises(WALHeightNotFound):
            wal.replay_from(1)
        wal.write_end_height(4)
        with pytest.raises(WALHeightNotFound):
            wal.replay_from(4)


def test_a_repeated_marker_replays_from_its_newest_occurrence(tmp_path: Path) -> None:
    with WAL(tmp_path / "wal") as wal:
        wal.write_end_height(3)
        wal.write(b"before restart")
        wal.write_end_height(3)
        wal.write(b"after restart")
        assert list(wal.replay_from(4)) == [b"after restart"]


def test_torn_last_record_is_repaired_at_every_byte_offset(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    original = tmp_path / "original"
    with WAL(original) as wal:
        wal.write_end_height(0)
        wal.write(b"complete 1")
        wal.write(b"complete 2")
    intact = segments(original)[0].stat().st_size
    with WAL(original) as wal:
        wal.write(b"the record a crash cuts short")
    full = segments(original)[0].stat().st_size
    assert full > intact

    for cut in range(intact + 1, full):
        copy = tmp_path / f"cut{cut}"
        shutil.copytree(original, copy)
        segment = segments(copy)[0]
        with open(segment, "r+b") as handle:
            handle.truncate(cut)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="consensus.wal"), WAL(copy) as wal:
            assert segment.stat().st_size == intact, cut
            assert list(wal.replay_from(1)) == [b"complete 1", b"complete 2"], cut
            wal.write_sync(b"after repair")
        assert any("torn" in message for message in caplog.messages), cut
        with WAL(copy) as wal:
            assert list(wal.replay_from(1)) == [b"complete 1", b"complete 2", b"after repair"], cut


@pytest.mark.parametrize("damage", ["flip last byte", "zero-filled record", "zero-filled extension"])
def test_damaged_tail_of_the_head_segment_is_repaired(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "wal"
    with WAL(path) as wal:
        wal.write_end_height(0)
        wal.write(b"kept")
        wal.write(b"last record")
    segment = segments(path)[0]
    data = bytearray(segment.read_bytes())
    last_record = len(data) - (8 + 1 + len(b"last record"))
    if damage == "flip last byte":
        data[-1] ^= 0x01
    elif damage == "zero-filled record":
        data[last_record:] = bytes(len(data) - last_record)
    else:
        data += bytes(4096)
    segment.write_bytes(bytes(data))
    with WAL(path) as wal:
        expected = [b"kept", b"last record"] if damage == "zero-filled extension" else [b"kept"]
        assert list(wal.replay_from(1)) == expected


def test_checksum_mismatch_in_the_middle_raises_unless_repairing(tmp_path: Path) -> None:
    path = tmp_path / "wal"
    with WAL(path) as wal:
        wal.write_end_height(0)
        wal.write(b"first")
        wal.write(b"second, to be damaged")
        wal.write(b"third")
    segment = segments(path)[0]
    data = bytearray(segment.read_bytes())
    position = data.index(b"second")
    data[position] ^= 0x40
    segment.write_bytes(bytes(data))

    with pytest.raises(WALCorrupted, match="checksum mismatch"):
        WAL(path)
    with WAL(path, repair=True) as wal:
        assert list(wal.replay_from(1)) == [b"first"]
        wal.write(b"fourth")
    with WAL(path) as wal:
        assert list(wal.replay_from(1)) == [b"first", b"fourth"]


def test_damage_in_an_older_segment_raises_and_repair_drops_later_segments(tmp_path: Path) -> None:
    path = tmp_path / "wal"
    with WAL(path, segment_bytes=64) as wal:
        wal.write_end_height(0)
        for index in range(12):
            wal.write(f"message {index:02d}".encode())
    files = segments(path)
    assert len(files) >= 3
    tail = files[0].read_bytes()
    files[0].write_bytes(tail[:-1])  # a torn record is only acceptable in the head segment

    with pytest.raises(WALCorrupted):
        WAL(path, segment_bytes=64)
    with WAL(path, segment_bytes=64, repair=True) as wal:
        replayed = list(wal.replay_from(1))
    assert replayed == [f"message {index:02d}".encode() for index in range(len(replayed))]
    assert len(replayed) < 12
    assert segments(path) == files[:1]


def test_a_length_field_beyond_the_limit_is_corruption(tmp_path: Path) -> None:
    path = tmp_path / "wal"
    with WAL(path, max_record_bytes=1024) as wal:
        wal.write_end_height(0)
        wal.write(b"x" * 1000)
        wal.write(b"after")
    with pytest.raises(WALCorrupted, match="outside"):
        WAL(path, max_record_bytes=100)


def test_records_larger_than_the_limit_are_refused(tmp_path: Path) -> None:
    with WAL(tmp_path / "wal", max_record_bytes=100) as wal:
        wal.write_end_height(0)
        wal.write(b"y" * 100)
        with pytest.raises(WALRecordTooLarge):
            wal.write(b"y" * 101)
        with pytest.raises(WALRecordTooLarge):
            wal.write_sync(b"y" * 101)
        assert list(wal.replay_from(1)) == [b"y" * 100]


def test_write_sync_and_markers_fsync_the_log_but_write_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with WAL(tmp_path / "wal") as wal:
        synced: list[int] = []
        real_fsync = os.fsync

        def recording_fsync(fd: int) -> None:
            synced.append(fd)
            real_fsync(fd)

        monkeypatch.setattr(os, "fsync", recording_fsync)
        wal.write(b"buffered")
        assert synced == []
        wal.write_sync(b"own vote")
        assert len(synced) == 1
        assert os.fstat(synced[0]).st_ino == segments(tmp_path / "wal")[0].stat().st_ino
        wal.write_end_height(1)
        assert len(synced) == 2


def test_a_record_written_with_write_sync_survives_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "wal"
    script = textwrap.dedent(
        """
        import sys
        from consensus.wal import WAL
        wal = WAL(sys.argv[1])
        wal.write_end_height(0)
        wal.write(b"proposal")
        wal.write_sync(b"own prevote")
        print("synced", flush=True)
        sys.stdin.read()
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=REPO_ROOT, env=env, text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "synced"
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    with WAL(path) as wal:
        assert list(wal.replay_from(1)) == [b"proposal", b"own prevote"]


def test_rotation_and_pruning_bound_the_disk_and_keep_replay_correct(tmp_path: Path) -> None:
    path = tmp_path / "wal"
    with WAL(path, segment_bytes=200, keep_end_heights=2) as wal:
        wal.write_end_height(0)
        for height in range(1, 41):
            write_heights(wal, range(height, height + 1), per_height=4)
            assert len(segments(path)) <= 4
        wal.write(b"41/0")
        wal.write_sync(b"41/1")
        assert list(wal.replay_from(41)) == [b"41/0", b"41/1"]
        assert list(wal.replay_from(40)) == [b"40/0", b"40/1", b"40/2", b"40/3"]
        with pytest.raises(WALHeightNotFound):
            wal.replay_from(10)
    assert segments(path)[0].name != "000000000000.wal"
    with WAL(path, segment_bytes=200, keep_end_heights=2) as wal:
        assert wal.last_end_height == 40
        assert list(wal.replay_from(41)) == [b"41/0", b"41/1"]


def test_the_messages_of_an_unfinished_height_are_never_pruned(tmp_path: Path) -> None:
    path = tmp_path / "wal"
    long_height = [f"round message {index:03d}".encode() for index in range(50)]
    with WAL(path, segment_bytes=100, keep_end_heights=1) as wal:
        wal.write_end_height(0)
        write_heights(wal, range(1, 5))
        for message in long_height:
            wal.write(message)
        assert len(segments(path)) > 10
    with WAL(path, segment_bytes=100, keep_end_heights=1) as wal:
        assert list(wal.replay_from(5)) == long_height
        wal.write_end_height(5)
        assert list(wal.replay_from(6)) == []
    assert len(segments(path)) == 1


def test_a_second_process_cannot_open_an_open_log(tmp_path: Path) -> None:
    path = tmp_path / "wal"
    with WAL(path):
        script = "import sys\nfrom consensus.wal import WAL, WALLocked\ntry:\n    WAL(sys.argv[1])\n" \
                 "except WALLocked:\n    sys.exit(3)\n"
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        result = subprocess.run([sys.executable, "-c", script, str(path)], check=False, cwd=REPO_ROOT, env=env,
                                timeout=60)
        assert result.returncode == 3
    WAL(path).close()


def test_a_closed_log_refuses_writes(tmp_path: Path) -> None:
    wal = WAL(tmp_path / "wal")
    wal.close()
    wal.close()
    with pytest.raises(WALClosed):
        wal.write(b"late")
    with pytest.raises(WALClosed):
        wal.replay_from(1)


def test_wal_errors_are_consensus_errors() -> None:
    for error in (WALCorrupted, WALRecordTooLarge, WALHeightNotFound, WALLocked, WALClosed):
        assert issubclass(error, WALError)
    assert issubclass(WALError, ConsensusError)
