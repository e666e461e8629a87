"""PostgreSQL receipt store: one database, any number of gateway replicas.

Every replica (and every worker of one) writes and reads the same tables, so
``GET /v1/receipts/<id>`` answers from any of them. The durability contract is the
SQLite store's: :meth:`put_many` returns once PostgreSQL committed the batch, and
the gateway sends no response before that (:class:`~llmseal.store.writer.BatchWriter`
runs it off the event loop, so batches grow while a commit is in flight).

A batch is **one statement**: ``INSERT … SELECT FROM unnest(arrays)`` — and with a
log outbox a ``WITH … INSERT … RETURNING`` that adds the outbox rows in the same
statement. An autocommit statement is its own transaction, so a batch costs one
round trip whatever its size (:attr:`round_trips` counts them for the benchmark).

``receipts`` is partitioned by month of ``issued_at`` (``receipts_y2026m04``...):
old months can be detached, archived or dropped whole. The primary key is
``(receipt_id, month)`` — PostgreSQL needs the partition key in it; receipt ids are
random UUIDs chosen by the signer, and a lookup by ``receipt_id`` probes each
month's index. A partition is created (under an advisory lock) the first time a
replica sees its month, together with the next month's, so month boundaries do not
stall on DDL.

The outbox is shared: each row names the process that queued it (``owner``); a
process drains its own rows, and rows older than ``orphan_after`` seconds from
anyone (a replica killed with ``-9``), so no receipt waits forever for the log. The
log ignores a receipt submitted twice (it answers with the existing index).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

from llmseal.errors import StoreError
from llmseal.store.base import StoredReceipt
from llmseal.store.pg import advisory_key, describe, migrate, open_pool

__all__ = ["MIGRATIONS", "PostgresReceiptStore"]

MIGRATIONS = (
    # 1: receipts, partitioned by month of issued_at
    """
    CREATE TABLE receipts (
        receipt_id text  NOT NULL,
        key_id     text  NOT NULL,
        model_id   text  NOT NULL,
        issued_at  text  NOT NULL,
        nonce      text  NOT NULL,
        body       bytea NOT NULL,
        month      date  NOT NULL,
        PRIMARY KEY (receipt_id, month)
    ) PARTITION BY RANGE (month);
    """,
    # 2: the transparency log's outbox (receipts stored but not yet logged)
    """
    CREATE TABLE receipt_log_outbox (
        seq        bigserial PRIMARY KEY,
        receipt_id text NOT NULL UNIQUE,
        owner      text NOT NULL,
        queued_at  double precision NOT NULL
    );
    CREATE INDEX receipt_log_outbox_owner ON receipt_log_outbox (owner, seq);
    """,
)
_COLUMNS = "receipt_id, key_id, model_id, issued_at, nonce, body"
_UNNEST = (
    "SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::text[],"
    " %b::bytea[], %b::date[])"
)
_INSERT = f"INSERT INTO receipts ({_COLUMNS}, month) {_UNNEST}"
_INSERT_OUTBOX = (
    f"WITH r AS ({_INSERT} RETURNING receipt_id) "  # noqa: S608
    "INSERT INTO receipt_log_outbox (receipt_id, owner, queued_at)"
    " SELECT receipt_id, %b, %b FROM r"
)


def _month(issued_at: str) -> str:
    return f"{issued_at[:7]}-01"


def _next_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    year, mon = (year + 1, 1) if mon == 12 else (year, mon + 1)
    return f"{year:04d}-{mon:02d}-01"


class PostgresReceiptStore:
    """A :class:`~llmseal.store.base.ReceiptStore` (and log outbox) in PostgreSQL."""

    remote = True  # commits are network round trips: the group commit runs them off the loop

    def __init__(
        self,
        url: str,
        *,
        outbox: bool = False,
        pool_size: int = 4,
        timeout: float = 3.0,
        orphan_after: float = 10.0,
    ) -> None:
        import psycopg

        self.url = url
        self._outbox = outbox
        self._orphan_after = orphan_after
        self.owner = uuid.uuid4().hex
        self._months: set[str] = set()
        self._months_lock = threading.Lock()
        self.round_trips = 0
        """Statements sent (the benchmark divides them by receipts stored)."""
        self._pool = open_pool(url, max_size=pool_size, timeout=timeout, name="llmseal-receipts")
        try:
            with self._pool.connection() as conn:
                self.schema_version = migrate(conn, "receipts", MIGRATIONS)
        except (StoreError, psycopg.Error) as exc:
            self._pool.close()
            if isinstance(exc, StoreError):
                raise
            raise StoreError(f"cannot open the receipt store {describe(url)}: {exc}") from exc

    def _execute(self, sql: str, args: Sequence[Any] = (), *, what: str) -> list[tuple[Any, ...]]:
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            with self._pool.connection() as conn:
                cur = conn.execute(sql, args, binary=True)
                self.round_trips += 1
                return cur.fetchall() if cur.description is not None else []
        except PoolTimeout as exc:
            raise StoreError(f"cannot {what}: PostgreSQL is unreachable ({exc})") from exc
        except psycopg.Error as exc:
            raise StoreError(f"cannot {what}: {str(exc).strip()}") from exc

    # --- writing -----------------------------------------------------------------
    def put_many(self, records: Sequence[StoredReceipt]) -> None:
        if not records:
            return
        months = [_month(r.issued_at) for r in records]
        missing = set(months) - self._months
        if missing:
            self._create_partitions(missing)
        columns: list[Any] = [
            [r.receipt_id for r in records],
            [r.key_id for r in records],
            [r.model_id for r in records],
            [r.issued_at for r in records],
            [r.nonce for r in records],
            [r.body for r in records],
            months,
        ]
        if self._outbox:
            sql, args = _INSERT_OUTBOX, [*columns, self.owner, time.time()]
        else:
            sql, args = _INSERT, columns
        self._execute(sql, args, what=f"store {len(records)} receipt(s)")

    def _create_partitions(self, months: set[str]) -> None:
        import psycopg

        wanted = months | {_next_month(m) for m in months}
        try:
            with self._pool.connection() as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%b)", (advisory_key("partitions"),))
                for month in sorted(wanted):
                    name = f"receipts_y{month[:4]}m{month[5:7]}"
                    conn.execute(
                        f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF receipts"
                        f" FOR VALUES FROM ('{month}') TO ('{_next_month(month)}')"
                    )
        except psycopg.Error as exc:
            raise StoreError(f"cannot create receipt partitions: {str(exc).strip()}") from exc
        with self._months_lock:
            self._months |= wanted

    # --- reading -----------------------------------------------------------------
    def get(self, receipt_id: str) -> StoredReceipt | None:
        rows = self._execute(
            f"SELECT {_COLUMNS} FROM receipts WHERE receipt_id = %b LIMIT 1",  # noqa: S608
            (receipt_id,),
            what="read the receipt store",
        )
        return _stored(rows[0]) if rows else None

    def count(self) -> int:
        rows = self._execute("SELECT count(*) FROM receipts", what="read the receipt store")
        return int(rows[0][0])

    def ids(self) -> set[str]:
        """Every stored receipt id (for audits and tests)."""
        rows = self._execute("SELECT receipt_id FROM receipts", what="read the receipt store")
        return {row[0] for row in rows}

    def partitions(self) -> list[str]:
        """The monthly partitions of ``receipts``, oldest first."""
        rows = self._execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'receipts'::regclass ORDER BY c.relname",
            what="list receipt partitions",
        )
        return [row[0] for row in rows]

    # --- the log outbox ------------------------------------------------------------
    def outbox_pending(
        self, limit: int, *, queued_before: float | None = None
    ) -> list[StoredReceipt]:
        """Own unacknowledged receipts (and orphans of dead replicas), oldest first."""
        before = time.time() if queued_before is None else queued_before
        rows = self._execute(
            f"SELECT {', '.join('r.' + c for c in _COLUMNS.split(', '))}"  # noqa: S608
            " FROM receipt_log_outbox o JOIN receipts r ON r.receipt_id = o.receipt_id"
            " WHERE (o.owner = %b AND o.queued_at <= %b) OR o.queued_at < %b"
            " ORDER BY o.seq LIMIT %b",
            (self.owner, before, time.time() - self._orphan_after, limit),
            what="read the log outbox",
        )
        return [_stored(row) for row in rows]

    def outbox_done(self, receipt_ids: Sequence[str]) -> None:
        if receipt_ids:
            self._execute(
                "DELETE FROM receipt_log_outbox WHERE receipt_id = ANY(%b)",
                (list(receipt_ids),),
                what="update the log outbox",
            )

    def outbox_count(self) -> int:
        rows = self._execute("SELECT count(*) FROM receipt_log_outbox", what="read the outbox")
        return int(rows[0][0])

    def close(self) -> None:
        self._pool.close()


def _stored(row: tuple[Any, ...]) -> StoredReceipt:
    return StoredReceipt(row[0], row[1], row[2], row[3], row[4], bytes(row[5]))
