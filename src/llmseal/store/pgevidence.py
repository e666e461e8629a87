"""The caller's evidence in PostgreSQL: one store for a fleet of callers.

``verifying_http_client(store="postgresql://…")`` keeps the evidence rows of every
process on every machine in one database. Replay protection is the same unique
index as in SQLite — ``(key_id, nonce)`` among accepted receipts — so the database
decides: of two callers handed the same answer at the same instant, exactly one
commit succeeds, the other gets :class:`~llmseal.errors.ReplayError`. There is no
window between a check and a write, because there is no separate check.

Full samples stay files on the caller's machine (``data_dir``), as with SQLite;
without a ``data_dir`` no samples are written.
"""

from __future__ import annotations

import json
import os
import queue
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from llmseal.errors import StoreError
from llmseal.store._samples import flush_at_exit
from llmseal.store.evidence import EvidenceStore
from llmseal.store.evidencerecord import EvidenceRecord, record_from_row, replay_error
from llmseal.store.pg import migrate, open_pool

__all__ = ["MIGRATIONS", "PostgresEvidenceStore"]

MIGRATIONS = (
    """
    CREATE TABLE evidence (
        seq          bigserial PRIMARY KEY,
        receipt_id   text  NOT NULL,
        status       text  NOT NULL,
        issuer       text  NOT NULL,
        key_id       text  NOT NULL,
        model_id     text  NOT NULL,
        issued_at    text  NOT NULL,
        verified_at  text  NOT NULL,
        nonce        text  NOT NULL,
        prompt_hash  text  NOT NULL,
        output_hash  text  NOT NULL,
        endpoint     text  NOT NULL,
        reasons      text  NOT NULL,
        receipt      bytea NOT NULL,
        sampled      boolean NOT NULL DEFAULT false,
        sample       text
    );
    CREATE INDEX evidence_receipt_id ON evidence (receipt_id);
    CREATE UNIQUE INDEX evidence_accepted_nonce ON evidence (key_id, nonce)
        WHERE status = 'valid';
    CREATE TABLE evidence_log_proofs (
        receipt_id text PRIMARY KEY,
        proof      text NOT NULL,
        origin     text NOT NULL,
        idx        bigint NOT NULL,
        tree_size  bigint NOT NULL
    );
    """,
)
_FIELDS = (
    "receipt_id, status, issuer, key_id, model_id, issued_at, verified_at, nonce,"
    " prompt_hash, output_hash, endpoint, reasons, receipt, sampled, sample"
)


class PostgresEvidenceStore(EvidenceStore):
    """:class:`EvidenceStore` with its rows in PostgreSQL (samples under ``data_dir``)."""

    def __init__(
        self,
        url: str,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        sample_cap: int = 16 << 20,
        pool_size: int = 2,
    ) -> None:
        # Not EvidenceStore.__init__: that one opens SQLite.
        self.url = url
        self.root = Path(data_dir) if data_dir is not None else Path(".")
        self.sample_cap = sample_cap if data_dir is not None else -1  # no folder, no samples
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        if data_dir is not None:
            try:
                self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create {self.root}: {exc.strerror}") from exc
        self._pool = open_pool(url, max_size=pool_size, name="llmseal-evidence")
        try:
            with self._pool.connection() as conn:
                migrate(conn, "evidence", MIGRATIONS)
        except BaseException:
            self._pool.close()
            raise
        flush_at_exit(self)

    def _rows(self, sql: str, args: Sequence[Any] = (), *, what: str) -> list[tuple[Any, ...]]:
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            with self._pool.connection() as conn:
                cur = conn.execute(sql, args, binary=True)
                return cur.fetchall() if cur.description is not None else []
        except (PoolTimeout, psycopg.Error) as exc:
            raise StoreError(f"cannot {what}: {str(exc).strip()}") from exc

    def record(self, rec: EvidenceRecord) -> None:
        import psycopg

        marks = ", ".join(["%b"] * 15)
        try:
            self._rows(f"INSERT INTO evidence ({_FIELDS}) VALUES ({marks})",  # noqa: S608
                       _row(rec), what="record evidence")  # fmt: skip
        except StoreError as exc:
            if isinstance(exc.__cause__, psycopg.errors.UniqueViolation):
                raise replay_error(rec) from exc
            raise

    def seen(self, key_id: str, nonce: str) -> bool:
        rows = self._rows(
            "SELECT 1 FROM evidence WHERE key_id = %b AND nonce = %b AND status = 'valid'",
            (key_id, nonce),
            what="read evidence",
        )
        return bool(rows)

    def put_log_proof(
        self, receipt_id: str, proof: str, *, origin: str, index: int, tree_size: int
    ) -> None:
        self._rows(
            "INSERT INTO evidence_log_proofs VALUES (%b, %b, %b, %b, %b) ON CONFLICT"
            " (receipt_id) DO UPDATE SET proof = EXCLUDED.proof, origin = EXCLUDED.origin,"
            " idx = EXCLUDED.idx, tree_size = EXCLUDED.tree_size",
            (receipt_id, proof, origin, index, tree_size),
            what="record a log proof",
        )

    def log_proof(self, receipt_id: str) -> str | None:
        rows = self._rows("SELECT proof FROM evidence_log_proofs WHERE receipt_id = %b",
                          (receipt_id,), what="read evidence")  # fmt: skip
        return str(rows[0][0]) if rows else None

    def unproven(self, *, limit: int | None = None) -> list[EvidenceRecord]:
        sql = (
            f"SELECT {_FIELDS} FROM evidence WHERE status = 'valid' AND receipt_id NOT IN"  # noqa: S608
            " (SELECT receipt_id FROM evidence_log_proofs) ORDER BY seq"
        )
        args: tuple[int, ...] = ()
        if limit is not None:
            sql, args = sql + " LIMIT %b", (limit,)
        return [record_from_row(r) for r in self._rows(sql, args, what="read evidence")]

    def list(self, *, limit: int | None = None) -> Iterator[EvidenceRecord]:
        sql = f"SELECT {_FIELDS} FROM evidence ORDER BY seq"  # noqa: S608
        args: tuple[int, ...] = ()
        if limit is not None:
            sql, args = sql + " LIMIT %b", (limit,)
        yield from (record_from_row(r) for r in self._rows(sql, args, what="read evidence"))

    def get(self, receipt_id: str) -> EvidenceRecord | None:
        rows = self._rows(
            f"SELECT {_FIELDS} FROM evidence WHERE receipt_id = %b ORDER BY seq DESC LIMIT 1",  # noqa: S608
            (receipt_id,),
            what="read evidence",
        )
        return record_from_row(rows[0]) if rows else None

    def close(self) -> None:
        writer = self._writer
        if writer is not None:
            self._queue.put(None)
            writer.join()
            self._writer = None
        self._pool.close()


def _row(rec: EvidenceRecord) -> tuple[Any, ...]:
    return (
        rec.receipt_id, rec.status, rec.issuer, rec.key_id, rec.model_id, rec.issued_at,
        rec.verified_at, rec.nonce, rec.prompt_hash, rec.output_hash, rec.endpoint,
        json.dumps(list(rec.reasons)), rec.receipt, rec.sampled, rec.sample,
    )  # fmt: skip
