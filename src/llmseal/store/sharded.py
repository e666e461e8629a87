"""One SQLite file per writing process, one logical store.

Gateway workers (and vLLM API processes running the middleware) are separate
processes; if they shared one SQLite file their writers would queue on its lock,
and SQLite's busy handler sleeps in whole milliseconds — measured here, that
capped two workers at ~3,000 signed responses/s with 10 ms of waiting each.
Instead each process claims a shard slot with ``flock`` (``shard-N.lock``, the
first free N) and writes ``shard-N.db`` alone. The kernel drops the lock when the
process dies, even under ``kill -9``, so a restarted worker reuses the slot and
the number of files stays bounded by the peak number of live writers.

Reads look in the own shard first, then in every other shard (read-only).
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from llmseal.errors import StoreError
from llmseal.store.base import StoredReceipt
from llmseal.store.sqlite import SqliteReceiptStore

__all__ = ["ShardedReceiptStore"]


class ShardedReceiptStore:
    """A directory of SQLite shards; this process writes only its own."""

    def __init__(
        self, directory: str | Path, *, durable: bool = False, outbox: bool = False
    ) -> None:
        self.directory = Path(directory)
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create receipt store {self.directory}: {exc.strerror}"
            ) from exc
        self.slot, self._lock_fd = self._claim_slot()
        self._own = SqliteReceiptStore(self._path(self.slot), durable=durable, outbox=outbox)
        self._readers: dict[int, SqliteReceiptStore] = {}
        self._readers_lock = threading.Lock()

    def _path(self, slot: int) -> Path:
        return self.directory / f"shard-{slot}.db"

    def _claim_slot(self) -> tuple[int, int]:
        slot = 0
        while True:
            path = self.directory / f"shard-{slot}.lock"
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                raise StoreError(f"cannot open {path}: {exc.strerror}") from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                slot += 1
                continue
            return slot, fd

    def put_many(self, records: Sequence[StoredReceipt]) -> None:
        self._own.put_many(records)

    def get(self, receipt_id: str) -> StoredReceipt | None:
        found = self._own.get(receipt_id)
        if found is not None:
            return found
        for reader in self._others():
            found = reader.get(receipt_id)
            if found is not None:
                return found
        return None

    def outbox_pending(
        self, limit: int, *, queued_before: float | None = None
    ) -> list[StoredReceipt]:
        """This process's log outbox (a restarted worker reclaims its slot, and its rows)."""
        return self._own.outbox_pending(limit, queued_before=queued_before)

    def outbox_done(self, receipt_ids: Sequence[str]) -> None:
        self._own.outbox_done(receipt_ids)

    def outbox_count(self) -> int:
        return self._own.outbox_count()

    def count(self) -> int:
        return self._own.count() + sum(reader.count() for reader in self._others())

    def ids(self) -> set[str]:
        ids = self._own.ids()
        for reader in self._others():
            ids |= reader.ids()
        return ids

    def _others(self) -> list[SqliteReceiptStore]:
        slots = []
        for path in self.directory.glob("shard-*.db"):
            try:
                slots.append(int(path.stem.split("-", 1)[1]))
            except ValueError:
                continue
        with self._readers_lock:
            for slot in slots:
                if slot != self.slot and slot not in self._readers:
                    self._readers[slot] = SqliteReceiptStore(self._path(slot), readonly=True)
            return [self._readers[s] for s in sorted(self._readers)]

    def close(self) -> None:
        self._own.close()
        with self._readers_lock:
            for reader in self._readers.values():
                reader.close()
            self._readers.clear()
        if self._lock_fd >= 0:
            os.close(self._lock_fd)  # releases the slot
            self._lock_fd = -1
