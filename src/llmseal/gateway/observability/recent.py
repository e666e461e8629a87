"""The last receipts each gateway worker committed, for the dashboard.

The receipt store has no cheap "newest first" query (its key is the random
receipt id), and a dashboard must not cost the gateway a table scan per poll.
So, like the metrics, each worker keeps a small file-backed ring under
``DATA_DIR/recent/<pid>.bin``: fixed-size slots, written in place after each
commit (a memory copy, no system call), read and merged by whoever serves the
dashboard — a worker, or a separate listener in another process.

Slot layout: 8-byte little-endian sequence number, 2-byte length, then a small
JSON object that repeats the sequence number. The number is written last and a
reader keeps a slot only if both agree, so a slot read mid-write is skipped, not
shown half-written.
"""

from __future__ import annotations

import json
import mmap
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from llmseal.store.base import ReceiptStore, StoredReceipt

__all__ = ["RecentReceipts", "RecordingStore", "read_recent"]

SLOTS = 64
SLOT = 512
_HEAD = 10


class RecentReceipts:
    """This process's ring of recently committed receipts."""

    def __init__(self, directory: Path, slots: int = SLOTS) -> None:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = directory / f"{os.getpid()}.bin"
        self._slots = slots
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.ftruncate(fd, slots * SLOT)
            self._map: mmap.mmap | None = mmap.mmap(fd, slots * SLOT)
        finally:
            os.close(fd)
        self._seq = 0
        self._lock = threading.Lock()

    def record(self, records: Sequence[StoredReceipt]) -> None:
        with self._lock:
            ring = self._map
            if ring is None:
                return
            for rec in records[-self._slots :]:
                self._seq += 1
                payload = json.dumps(
                    {"seq": self._seq, "receipt_id": rec.receipt_id, "model_id": rec.model_id,
                     "key_id": rec.key_id, "issued_at": rec.issued_at},
                    ensure_ascii=False, separators=(",", ":"),
                ).encode()  # fmt: skip
                if len(payload) > SLOT - _HEAD:
                    continue  # absurdly long identifiers: not worth a slot
                at = (self._seq % self._slots) * SLOT
                ring[at : at + 8] = bytes(8)  # invalid while the slot is rewritten
                ring[at + 8 : at + _HEAD] = len(payload).to_bytes(2, "little")
                ring[at + _HEAD : at + _HEAD + len(payload)] = payload
                ring[at : at + 8] = self._seq.to_bytes(8, "little")

    def close(self) -> None:
        with self._lock:
            if self._map is not None:
                self._map.close()
                self._map = None


def _slots(data: bytes) -> Iterator[dict[str, Any]]:
    for at in range(0, len(data) - SLOT + 1, SLOT):
        seq = int.from_bytes(data[at : at + 8], "little")
        length = int.from_bytes(data[at + 8 : at + _HEAD], "little")
        if not seq or length > SLOT - _HEAD:
            continue
        try:
            item = json.loads(data[at + _HEAD : at + _HEAD + length])
        except ValueError:
            continue
        if isinstance(item, dict) and item.get("seq") == seq:
            yield item


def read_recent(directory: Path, limit: int = 20) -> list[dict[str, Any]]:
    """The newest receipts over every worker's ring, newest first."""
    found: list[dict[str, Any]] = []
    for path in directory.glob("*.bin"):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        found.extend(_slots(data))
    found.sort(key=lambda item: (str(item.get("issued_at")), item["seq"]), reverse=True)
    for item in found:
        item.pop("seq", None)
    return found[:limit]


class RecordingStore:
    """A receipt store that also notes each committed batch in a :class:`RecentReceipts`."""

    def __init__(self, store: ReceiptStore, recent: RecentReceipts) -> None:
        self._store = store
        self._recent = recent

    def put_many(self, records: Sequence[StoredReceipt]) -> None:
        self._store.put_many(records)
        self._recent.record(records)  # only after the commit succeeded

    def get(self, receipt_id: str) -> StoredReceipt | None:
        return self._store.get(receipt_id)

    def count(self) -> int:
        return self._store.count()

    def close(self) -> None:
        self._store.close()
