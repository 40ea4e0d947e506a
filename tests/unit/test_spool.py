"""The spool on a real directory: order, byte accounting, restarts and capacity."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from facility import DeviceRef, EquipmentKind, Event
from ingest.lineprotocol import encode_record
from ingest.spool import SUFFIX, Spool


def batch(name: str, n: int = 3) -> list[str]:
    return [f"pump,site=s,device={name} x={i}.0 {1_700_000_000_000 + i}" for i in range(n)]


def disk_bytes(spool: Spool) -> int:
    return sum(p.stat().st_size for p in spool.files())


def test_batches_come_back_oldest_first(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    batches = [batch(name) for name in ("a", "b", "c", "d")]
    paths = [spool.append(lines) for lines in batches]
    assert spool.files() == paths
    assert [Spool.read(p) for p in spool.files()] == batches
    assert all(p.name.endswith(SUFFIX) for p in paths)


def test_size_follows_appends_and_removals(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    assert spool.size_bytes == 0
    first = spool.append(batch("a", 50))
    second = spool.append(batch("b", 5))
    assert spool.size_bytes == disk_bytes(spool) == first.stat().st_size + second.stat().st_size
    spool.remove(first)
    assert not first.exists()
    assert spool.files() == [second]
    assert spool.size_bytes == second.stat().st_size
    spool.remove(second)
    assert spool.files() == []
    assert spool.size_bytes == 0


def test_removing_from_the_middle_keeps_the_others_in_order(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    paths = [spool.append(batch(name)) for name in "abc"]
    spool.remove(paths[1])
    assert spool.files() == [paths[0], paths[2]]
    assert [Spool.read(p) for p in spool.files()] == [batch("a"), batch("c")]


def test_files_are_gzip_compressed(tmp_path: Path) -> None:
    # Operators can inspect a spooled batch with zcat.
    spool = Spool(tmp_path)
    path = spool.append(batch("a"))
    text = gzip.decompress(path.read_bytes()).decode()
    assert all(line in text for line in batch("a"))


def test_reopened_spool_sees_earlier_batches_and_continues_after_them(tmp_path: Path) -> None:
    first = Spool(tmp_path)
    old = [first.append(batch(name)) for name in "ab"]
    reopened = Spool(tmp_path)
    assert reopened.files() == old
    assert reopened.size_bytes == disk_bytes(reopened)
    new = reopened.append(batch("c"))
    assert reopened.files() == [*old, new]
    assert [Spool.read(p) for p in reopened.files()] == [batch("a"), batch("b"), batch("c")]


def test_numbering_continues_after_files_from_a_clock_that_ran_ahead(tmp_path: Path) -> None:
    first = Spool(tmp_path)
    ahead = first.append(batch("ahead"))
    far_future = tmp_path / f"{10**19:020d}{SUFFIX}"  # a sequence beyond any time-based start
    ahead.rename(far_future)
    reopened = Spool(tmp_path)
    new = reopened.append(batch("next"))
    assert reopened.files() == [far_future, new]
    assert [Spool.read(p) for p in reopened.files()] == [batch("ahead"), batch("next")]


def test_leftover_temporary_files_are_removed_on_open(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    kept = spool.append(batch("a"))
    leftover = tmp_path / f"{99:020d}{SUFFIX}.tmp"
    leftover.write_bytes(b"half a batch")
    unrelated = tmp_path / "notes.txt"
    unrelated.write_text("keep me")
    reopened = Spool(tmp_path)
    assert not leftover.exists()
    assert unrelated.exists()
    assert reopened.files() == [kept]
    assert reopened.size_bytes == kept.stat().st_size


def test_directory_is_created(tmp_path: Path) -> None:
    directory = tmp_path / "state" / "spool"
    spool = Spool(directory)
    assert directory.is_dir()
    assert spool.files() == []


def test_has_room_until_max_bytes_is_reached(tmp_path: Path) -> None:
    probe = Spool(tmp_path / "probe")
    one_batch = probe.append(batch("a")).stat().st_size
    spool = Spool(tmp_path / "spool", max_bytes=2 * one_batch)
    assert spool.has_room()
    first = spool.append(batch("a"))
    assert spool.size_bytes == one_batch
    assert spool.has_room()
    spool.append(batch("a"))
    assert spool.size_bytes == spool.max_bytes
    assert not spool.has_room()
    spool.remove(first)
    assert spool.has_room()


def test_reopened_spool_counts_existing_bytes_against_max_bytes(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    for name in "abc":
        spool.append(batch(name, 20))
    assert not Spool(tmp_path, max_bytes=spool.size_bytes).has_room()
    assert Spool(tmp_path, max_bytes=spool.size_bytes + 1).has_room()


@given(batches=st.lists(st.lists(st.text()), min_size=1, max_size=4))
def test_any_batches_round_trip_in_order(
    tmp_path_factory: pytest.TempPathFactory, batches: list[list[str]]
) -> None:
    spool = Spool(tmp_path_factory.mktemp("spool"))
    for lines in batches:
        spool.append(lines)
    assert [Spool.read(p) for p in spool.files()] == batches
    assert spool.size_bytes == disk_bytes(spool)


def test_spooled_event_with_a_multi_line_note_reads_back_intact(tmp_path: Path) -> None:
    # A text field may hold a newline inside one line-protocol line.
    event = Event(DeviceRef("s", EquipmentKind.PUMP, "p1"), 1, "note", {"text": "a\nb"})
    lines = [encode_record(event), "pump,site=s,device=p1 x=1.0 2"]
    spool = Spool(tmp_path)
    assert Spool.read(spool.append(lines)) == lines
