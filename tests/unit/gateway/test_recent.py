"""The recent-receipt rings: cheap to write, merged across workers, torn slots skipped."""

from __future__ import annotations

from pathlib import Path

from llmseal.gateway.observability.recent import SLOT, RecentReceipts, RecordingStore, read_recent
from llmseal.store.base import StoredReceipt
from llmseal.store.sqlite import SqliteReceiptStore


def _rec(i: int, at: str = "2026-04-12T14:32:00Z") -> StoredReceipt:
    return StoredReceipt(f"r-{i}", "k", "m", at, f"n{i}", b"{}")


def test_newest_first_and_bounded(tmp_path: Path) -> None:
    ring = RecentReceipts(tmp_path, slots=8)
    ring.record([_rec(i, f"2026-04-12T14:32:{i:02d}Z") for i in range(20)])
    found = read_recent(tmp_path, limit=50)
    assert [r["receipt_id"] for r in found] == [f"r-{i}" for i in range(19, 11, -1)]
    assert set(found[0]) == {"receipt_id", "model_id", "key_id", "issued_at"}
    ring.close()


def test_two_workers_merge_and_a_torn_slot_is_skipped(tmp_path: Path) -> None:
    ring = RecentReceipts(tmp_path, slots=4)
    ring.record([_rec(1, "2026-04-12T14:32:01Z"), _rec(2, "2026-04-12T14:32:03Z")])
    other = tmp_path / "999999.bin"  # another worker's file
    data = bytearray(ring.path.read_bytes())
    data[2 * SLOT + 20] ^= 0xFF  # slot of seq 2: its JSON no longer agrees with its number
    other.write_bytes(bytes(data))
    ring.record([_rec(3, "2026-04-12T14:32:02Z")])
    found = [r["receipt_id"] for r in read_recent(tmp_path)]
    assert found == ["r-2", "r-3", "r-1", "r-1"]  # r-2 of the torn copy is gone
    ring.close()


def test_only_committed_batches_are_recorded(tmp_path: Path) -> None:
    ring = RecentReceipts(tmp_path / "recent")
    store = RecordingStore(SqliteReceiptStore(tmp_path / "s.db", checkpoint_interval=None), ring)
    store.put_many([_rec(1)])
    try:
        store.put_many([_rec(1)])  # duplicate id: the commit fails
    except Exception as exc:
        assert "receipt" in str(exc)
    assert [r["receipt_id"] for r in read_recent(tmp_path / "recent")] == ["r-1"]
    assert store.get("r-1") is not None and store.count() == 1
    store.close()
    ring.close()
    ring.record([_rec(2)])  # after close: ignored, no crash
