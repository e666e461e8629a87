"""The receipt store interface.

The gateway commits every receipt *before* the response carrying it is sent
(issue 3, "Storage"), so a receipt a client holds is always one the issuer can
look up — even after a crash. Stores take batches because committing many
receipts in one transaction is what makes that affordable at thousands per second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from llmseal.core.receipt import Receipt

__all__ = ["LogOutbox", "ReceiptStore", "StoredReceipt"]


@dataclass(frozen=True, slots=True)
class StoredReceipt:
    """A receipt as stored: the exact JSON that was delivered, plus index columns."""

    receipt_id: str
    key_id: str
    model_id: str
    issued_at: str
    nonce: str
    body: bytes  # the receipt JSON exactly as delivered

    @classmethod
    def of(cls, receipt: Receipt, body: bytes) -> StoredReceipt:
        return cls(
            receipt.receipt_id,
            receipt.key_id,
            receipt.model_id,
            receipt.issued_at,
            receipt.nonce,
            body,
        )

    def receipt(self) -> Receipt:
        return Receipt.from_json(self.body)


class ReceiptStore(Protocol):
    """Durable storage of issued receipts. Implementations are thread-safe."""

    def put_many(self, records: Sequence[StoredReceipt]) -> None:
        """Store all records in one transaction; raise StoreError if any fails."""
        ...

    def get(self, receipt_id: str) -> StoredReceipt | None:
        """The receipt with this id, or None."""
        ...

    def count(self) -> int:
        """How many receipts are stored."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class LogOutbox(Protocol):
    """Receipts stored but not yet acknowledged by the transparency log.

    A store with an outbox adds each receipt to it in the same transaction as the
    receipt itself, so a crash between delivering a response and logging its
    receipt delays the log entry, never loses it.
    """

    def outbox_pending(
        self, limit: int, *, queued_before: float | None = None
    ) -> list[StoredReceipt]:
        """Up to ``limit`` unacknowledged receipts, oldest first (queued before a time)."""
        ...

    def outbox_done(self, receipt_ids: Sequence[str]) -> None:
        """Drop acknowledged receipts from the outbox."""
        ...

    def outbox_count(self) -> int: ...
