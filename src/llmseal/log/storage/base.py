"""The storage a log sequences into: a small interface, two implementations.

:class:`~llmseal.log.storage.dirstore.DirectoryStorage` keeps the published tree as files
(any static web server can serve them) and its index in SQLite; a PostgreSQL
implementation can keep both in tables. The sequencer only ever calls these
methods, in this order per batch:

1. :meth:`LogStorage.sequence` — give new entries their indices, durably, before
   any caller hears its index; a leaf already in the log keeps its index.
2. :meth:`LogStorage.publish` — write the batch's tiles and bundles, then the new
   checkpoint; the published checkpoint is what defines the tree.

Between the two a crash may happen: on restart :meth:`LogStorage.unintegrated`
returns the sequenced entries no published checkpoint covers yet, and the
sequencer integrates them first (the half-done batch is completed, never lost).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["EntryRef", "LogStorage", "PendingEntry", "Sequenced"]


@dataclass(frozen=True, slots=True)
class PendingEntry:
    """An admitted entry waiting for its index."""

    data: bytes
    leaf_hash: bytes
    receipt_id: str


@dataclass(frozen=True, slots=True)
class Sequenced:
    """The index an entry got (or already had: ``duplicate``)."""

    index: int
    leaf_hash: bytes
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class EntryRef:
    """Where an entry is: its index and leaf hash."""

    index: int
    leaf_hash: bytes


class LogStorage(Protocol):
    """Durable state of one log. Implementations are thread-safe for readers;
    one sequencer thread writes."""

    def read(self, path: str) -> bytes:
        """A published resource (``checkpoint``, ``tile/...``); LogError if absent."""
        ...

    def sequence(self, batch: Sequence[PendingEntry]) -> list[Sequenced]:
        """Assign indices to ``batch`` in order; durable when this returns.

        A leaf hash already sequenced (earlier, or earlier in this batch) is not
        added again: it reports the existing index with ``duplicate=True``.
        Raises LogUnavailableError if nothing could be made durable (nothing was).
        """
        ...

    def sequenced_size(self) -> int:
        """How many entries have an index (published or not)."""
        ...

    def unintegrated(self, start: int) -> list[bytes]:
        """The entries with index ``start`` and above, in index order."""
        ...

    def publish(self, files: Mapping[str, bytes], checkpoint: bytes, size: int) -> None:
        """Make ``files`` durable, then replace the checkpoint (of tree ``size``)."""
        ...

    def find_leaf(self, leaf_hash: bytes) -> int | None:
        """The index of a leaf hash, or None."""
        ...

    def find_receipt(self, receipt_id: str) -> list[EntryRef]:
        """Every entry logged under a ``receipt_id`` (normally one), by index."""
        ...

    def close(self) -> None: ...
