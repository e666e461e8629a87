"""Opening a receipt store from where it is: a directory (SQLite shards) or a URL."""

from __future__ import annotations

from pathlib import Path

from llmseal.store.base import ReceiptStore
from llmseal.store.pg import is_postgres_url

__all__ = ["commits_block", "open_receipt_store"]


def open_receipt_store(
    location: str | Path, *, durable: bool = False, outbox: bool = False
) -> ReceiptStore:
    """``postgresql://…`` → :class:`~llmseal.store.postgres.PostgresReceiptStore`;
    anything else is a directory of SQLite shards."""
    if isinstance(location, str) and is_postgres_url(location):
        from llmseal.store.postgres import PostgresReceiptStore

        return PostgresReceiptStore(location, outbox=outbox)
    from llmseal.store.sharded import ShardedReceiptStore

    return ShardedReceiptStore(location, durable=durable, outbox=outbox)


def commits_block(
    location: str | Path | None, *, durable: bool = False, store: object = None
) -> bool:
    """Whether a commit waits for something slow (an fsync, a network round trip), so
    the group commit should run it off the event loop. ``store``: one given ready-made
    (a store over the network says so with ``remote = True``)."""
    if store is not None and getattr(store, "remote", False):
        return True
    return durable or (isinstance(location, str) and is_postgres_url(location))
