"""Receipt storage: one interface, SQLite embedded (WAL) and PostgreSQL backends."""

from __future__ import annotations

from llmseal.store.base import ReceiptStore, StoredReceipt
from llmseal.store.sharded import ShardedReceiptStore
from llmseal.store.sqlite import SqliteReceiptStore
from llmseal.store.writer import BatchWriter

__all__ = [
    "BatchWriter",
    "ReceiptStore",
    "ShardedReceiptStore",
    "SqliteReceiptStore",
    "StoredReceipt",
]
