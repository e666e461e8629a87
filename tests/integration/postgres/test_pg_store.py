"""The PostgreSQL receipt store against a real PostgreSQL: batches, partitions, outbox,
migrations."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from llmseal.devpostgres import PgCluster
from llmseal.errors import StoreError
from llmseal.store.base import StoredReceipt
from llmseal.store.pg import migrate
from llmseal.store.postgres import MIGRATIONS, PostgresReceiptStore


def record(n: int, issued_at: str = "2026-04-12T14:32:00Z") -> StoredReceipt:
    rid = f"00000000-0000-4000-8000-{n:012d}"
    body = f'{{"receipt_id":"{rid}","issued_at":"{issued_at}"}}'.encode()
    return StoredReceipt(rid, "k1", "m", issued_at, f"nonce{n}", body)


@pytest.fixture
def fresh(pg_cluster: PgCluster) -> Iterator[str]:
    url = pg_cluster.create_database()
    yield url
    pg_cluster.drop_database(url)


@pytest.fixture
def store(fresh: str) -> Iterator[PostgresReceiptStore]:
    s = PostgresReceiptStore(fresh, outbox=True)
    yield s
    s.close()


def test_a_batch_is_one_round_trip_and_every_record_reads_back(
    store: PostgresReceiptStore,
) -> None:
    batch = [record(i) for i in range(500)]
    before = store.round_trips
    store.put_many(batch)
    assert store.round_trips - before == 1
    assert store.count() == 500
    got = store.get(batch[123].receipt_id)
    assert got == batch[123]
    assert store.get("00000000-0000-4000-8000-999999999999") is None


def test_receipts_are_partitioned_by_month(store: PostgresReceiptStore) -> None:
    store.put_many([record(1, "2026-04-30T23:59:59Z"), record(2, "2026-12-01T00:00:00Z")])
    parts = store.partitions()
    # each month seen, and the one after it (made ahead of the month boundary)
    assert parts == ["receipts_y2026m04", "receipts_y2026m05",
                     "receipts_y2026m12", "receipts_y2027m01"]  # fmt: skip
    with psycopg.connect(store.url) as conn:
        rows = conn.execute("SELECT receipt_id FROM receipts_y2026m12").fetchall()
    assert rows == [(record(2).receipt_id,)]
    assert store.get(record(1).receipt_id) is not None


def test_a_failed_batch_stores_nothing(store: PostgresReceiptStore) -> None:
    store.put_many([record(1)])
    with pytest.raises(StoreError, match="store 2 receipt"):
        store.put_many([record(2), record(1)])  # record 1 again: the whole batch fails
    assert store.ids() == {record(1).receipt_id}
    assert store.outbox_count() == 1


def test_two_stores_share_receipts_and_each_drains_its_own_outbox(fresh: str) -> None:
    a = PostgresReceiptStore(fresh, outbox=True, orphan_after=3600)
    b = PostgresReceiptStore(fresh, outbox=True, orphan_after=3600)
    try:
        a.put_many([record(1)])
        b.put_many([record(2)])
        assert b.get(record(1).receipt_id) == record(1)
        assert a.get(record(2).receipt_id) == record(2)
        assert [r.receipt_id for r in a.outbox_pending(10)] == [record(1).receipt_id]
        assert [r.receipt_id for r in b.outbox_pending(10)] == [record(2).receipt_id]
        a.outbox_done([record(1).receipt_id])
        assert a.outbox_pending(10) == [] and b.outbox_count() == 1
    finally:
        a.close()
        b.close()


def test_orphaned_outbox_rows_are_adopted(fresh: str) -> None:
    dead = PostgresReceiptStore(fresh, outbox=True)
    dead.put_many([record(7)])
    dead.close()  # the process that queued it is gone
    alive = PostgresReceiptStore(fresh, outbox=True, orphan_after=0.0)
    try:
        deadline = time.time() + 5
        pending = alive.outbox_pending(10)
        while not pending and time.time() < deadline:  # queued_at < now - 0
            pending = alive.outbox_pending(10)
        assert [r.receipt_id for r in pending] == [record(7).receipt_id]
    finally:
        alive.close()


def test_an_older_schema_is_migrated_and_keeps_its_receipts(fresh: str) -> None:
    with psycopg.connect(fresh, autocommit=True) as conn:
        assert migrate(conn, "receipts", MIGRATIONS, upto=1) == 1
        conn.execute(
            "CREATE TABLE receipts_y2026m04 PARTITION OF receipts"
            " FOR VALUES FROM ('2026-04-01') TO ('2026-05-01')"
        )
        r = record(3)
        conn.execute(
            "INSERT INTO receipts VALUES (%s, %s, %s, %s, %s, %s, '2026-04-01')",
            (r.receipt_id, r.key_id, r.model_id, r.issued_at, r.nonce, r.body),
        )
    store = PostgresReceiptStore(fresh, outbox=True)
    try:
        assert store.schema_version == len(MIGRATIONS) == 2
        assert store.get(record(3).receipt_id) == record(3)
        store.put_many([record(4)])  # the outbox of version 2 exists now
        assert store.outbox_count() == 1
    finally:
        store.close()


def test_a_newer_schema_is_refused_with_one_line(fresh: str) -> None:
    PostgresReceiptStore(fresh).close()
    with psycopg.connect(fresh, autocommit=True) as conn:
        conn.execute("UPDATE llmseal_schema SET version = 9 WHERE component = 'receipts'")
    with pytest.raises(StoreError) as info:
        PostgresReceiptStore(fresh)
    message = str(info.value)
    assert "\n" not in message
    assert "schema version 9, newer than this llmseal understands (2)" in message


def test_an_unreachable_database_is_one_clear_error(pg_cluster: PgCluster) -> None:
    with pytest.raises(StoreError, match="cannot connect to PostgreSQL at postgresql://"):
        PostgresReceiptStore("postgresql://nobody@127.0.0.1:1/none", timeout=1.0)


def test_serve_refuses_a_newer_database_before_starting(
    fresh: str, cli: Callable[..., Any], tmp_path: Path
) -> None:
    PostgresReceiptStore(fresh).close()
    with psycopg.connect(fresh, autocommit=True) as conn:
        conn.execute("UPDATE llmseal_schema SET version = 3 WHERE component = 'receipts'")
    result = cli("serve", "--upstream", "http://127.0.0.1:1", "--data-dir", tmp_path / "d",
                 "--store", fresh)  # fmt: skip
    assert result.status == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "schema version 3, newer than this llmseal" in lines[0]
