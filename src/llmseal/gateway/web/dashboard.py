"""What the issuer dashboard shows, read from the gateway's data directory.

Everything comes from files the workers already keep — the key set
(``keys/keys.json``), the recent-receipt rings (:mod:`llmseal.gateway.observability.recent`),
the metrics files — so the same state can be served by a worker at
``/dashboard`` or by a separate, private listener in another process
(``llmseal serve --dashboard-listen``). It is read-only: nothing here changes a
key, a receipt or a setting.

What it reveals, and therefore why it is off by default on a public address:
the ids of recent receipts (which fetch those receipts from
``/v1/receipts/{id}``), the key set (public anyway) and traffic counters.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from llmseal.core import _time
from llmseal.gateway.observability.recent import read_recent
from llmseal.gateway.receipts.api import KeySetFile
from llmseal.store.base import StoredReceipt
from llmseal.store.sqlite import SqliteReceiptStore

__all__ = ["DashboardState", "ReadOnlyShards"]


class DashboardState:
    """Builds the ``/dashboard/state`` document."""

    def __init__(
        self,
        data_dir: Path,
        *,
        signing_key: str | None,
        issuer: str | None,
        clock: Callable[[], datetime],
        log_state: Callable[[], dict[str, Any] | None] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.keys = KeySetFile(self.data_dir / "keys" / "keys.json")
        self.signing_key = signing_key
        self.issuer = issuer
        self.clock = clock
        self.log_state = log_state

    def snapshot(self) -> dict[str, Any]:
        keyset, _ = self.keys.current()
        now = self.clock()
        keys = []
        for entry in keyset:
            keys.append(
                {
                    **entry.to_dict(),
                    "algorithm": entry.public_key.algorithm,
                    "fingerprint": entry.public_key.fingerprint(),
                    "signing": entry.key_id == self.signing_key,
                    "revoked_now": entry.revoked_as_of(now),
                }
            )
        return {
            "now": _time.format_utc(now),
            "issuer": self.issuer,
            "signing_key": self.signing_key,
            "keys": keys,
            "recent": read_recent(self.data_dir / "recent"),
            "log": self.log_state() if self.log_state else None,
        }


class ReadOnlyShards:
    """The gateway's receipt shards, read-only (for a dashboard in another process)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._open: dict[Path, SqliteReceiptStore] = {}
        self._lock = threading.Lock()

    def _shards(self) -> list[SqliteReceiptStore]:
        with self._lock:
            for path in sorted(self.directory.glob("shard-*.db")):
                if path not in self._open:
                    self._open[path] = SqliteReceiptStore(path, readonly=True)
            return list(self._open.values())

    def put_many(self, records: Sequence[StoredReceipt]) -> None:
        raise PermissionError("the dashboard's view of the receipt store is read-only")

    def get(self, receipt_id: str) -> StoredReceipt | None:
        for shard in self._shards():
            found = shard.get(receipt_id)
            if found is not None:
                return found
        return None

    def count(self) -> int:
        return sum(shard.count() for shard in self._shards())

    def close(self) -> None:
        with self._lock:
            for shard in self._open.values():
                shard.close()
            self._open.clear()
