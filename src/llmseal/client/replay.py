"""The replay check of a client that keeps no evidence store: nonces held in memory.

With a ``data_dir`` the evidence store's unique index decides, durably and across
processes. Without one, the client still refuses an answer whose nonce it has
already accepted, for as long as that answer could pass the freshness check:
a receipt issued at ``t`` is refused as stale after ``t + freshness`` anyway, so
its nonce can be forgotten then, and the window holds at most the answers of the
last ``2 × freshness``. With freshness off, nothing expires; the window is then
bounded by ``max_entries`` and refuses new answers when full (fail closed).
"""

from __future__ import annotations

import heapq
import threading
from datetime import datetime, timedelta

from llmseal.errors import ReplayError

__all__ = ["ReplayWindow"]


class ReplayWindow:
    """Thread-safe set of accepted ``(key_id, nonce)`` pairs, each kept until it expires."""

    def __init__(self, horizon: timedelta | None, *, max_entries: int = 1 << 20) -> None:
        self.horizon = horizon
        self.max_entries = max_entries
        self._seen: dict[tuple[str, str], datetime | None] = {}
        self._expiry: list[tuple[datetime, tuple[str, str]]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._seen)

    def accept(self, key_id: str, nonce: str, *, issued_at: datetime, now: datetime) -> None:
        """Remember the pair; ReplayError if it was accepted before (or the window is full)."""
        key = (key_id, nonce)
        with self._lock:
            self._expire(now)
            if key in self._seen:
                raise ReplayError(
                    f"nonce {nonce} of key {key_id!r} was already accepted by this client: "
                    "a replayed answer", status="replayed",
                )  # fmt: skip
            if len(self._seen) >= self.max_entries:
                raise ReplayError(
                    f"the in-memory replay window is full ({self.max_entries} answers); "
                    "give the client a data_dir or a freshness window", status="replayed",
                )  # fmt: skip
            until = None if self.horizon is None else issued_at + self.horizon
            self._seen[key] = until
            if until is not None:
                heapq.heappush(self._expiry, (until, key))

    def _expire(self, now: datetime) -> None:
        expiry = self._expiry
        while expiry and expiry[0][0] < now:
            _, key = heapq.heappop(expiry)
            self._seen.pop(key, None)
