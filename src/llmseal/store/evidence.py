"""The caller's evidence: every verified exchange, and full copies of a sample.

``DATA_DIR/evidence.db`` (SQLite, WAL) has one row per receipt a client checked
— valid or not — with its status, issuer, model, hashes and times. The
``(key_id, nonce)`` pair is unique among *accepted* receipts, which is what makes
replay detection exact even across processes sharing the directory.

The row is committed on the caller's thread before :meth:`EvidenceStore.submit`
returns, and the unique index *is* the replay check: a nonce is accepted once,
by one process, and that decision is on disk (WAL) before the answer reaches the
SDK — so a script that exits without closing its client loses nothing, and the
same answer replayed to the next process sharing the directory is refused.
Only sample files (below) are written on a background thread, which is flushed
on :meth:`~EvidenceStore.close`, at interpreter exit and on ``SIGTERM``.

A sample (default 1%, and every failure) is also written in full, with the
files of the AntSeed layout (seed 001)::

    DATA_DIR/verification_samples/accepted/<digest>/
    DATA_DIR/verification_samples/refused/<digest>/
        request.json  response.json  receipt.json  manifest.json

Evidence is append-only. A folder is named by the digest of the exact bytes of
its three files, never by anything the wire chose (an issuer claim, a
``receipt_id``: a forged receipt reusing an honest id must not touch the honest
sample), and refused samples live apart from accepted ones. A folder is built
under a temporary name (files fsynced, ``manifest.json`` last) and renamed into
place only if nothing is there: nothing is ever overwritten or truncated, and a
folder that exists is complete. The row records the folder (``sample``). A
sample over the size cap (default 16 MiB) is skipped, never truncated.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from llmseal.errors import StoreError
from llmseal.store._samples import flush_at_exit, write_folder
from llmseal.store.evidencerecord import (
    EvidenceRecord,
    Sample,
    record_from_row,
    record_row,
    replay_error,
)

__all__ = ["EvidenceStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS evidence (
    receipt_id   TEXT NOT NULL,
    status       TEXT NOT NULL,
    issuer       TEXT NOT NULL,
    key_id       TEXT NOT NULL,
    model_id     TEXT NOT NULL,
    issued_at    TEXT NOT NULL,
    verified_at  TEXT NOT NULL,
    nonce        TEXT NOT NULL,
    prompt_hash  TEXT NOT NULL,
    output_hash  TEXT NOT NULL,
    endpoint     TEXT NOT NULL,
    reasons      TEXT NOT NULL,
    receipt      BLOB NOT NULL,
    sampled      INTEGER NOT NULL DEFAULT 0,
    sample       TEXT
);
CREATE INDEX IF NOT EXISTS evidence_receipt_id ON evidence (receipt_id);
CREATE UNIQUE INDEX IF NOT EXISTS evidence_accepted_nonce
    ON evidence (key_id, nonce) WHERE status = 'valid';
CREATE TABLE IF NOT EXISTS log_proofs (
    receipt_id TEXT PRIMARY KEY,
    proof      TEXT NOT NULL,
    origin     TEXT NOT NULL,
    idx        INTEGER NOT NULL,
    tree_size  INTEGER NOT NULL
);
"""
_INSERT = (
    "INSERT INTO evidence (receipt_id, status, issuer, key_id, model_id, issued_at, "
    "verified_at, nonce, prompt_hash, output_hash, endpoint, reasons, receipt, sampled, sample) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SELECT = (
    "SELECT receipt_id, status, issuer, key_id, model_id, issued_at, verified_at, nonce, "
    "prompt_hash, output_hash, endpoint, reasons, receipt, sampled, sample FROM evidence"
)
_SAMPLE_NAME = re.compile(r"\A(?:accepted|refused)/[0-9a-f]{64}\Z")
log = logging.getLogger("llmseal.evidence")
_Job = Callable[[], object]


class EvidenceStore:
    """Thread-safe; one connection per thread."""

    def __init__(self, data_dir: str | os.PathLike[str], *, sample_cap: int = 16 << 20) -> None:
        self.root = Path(data_dir)
        self.sample_cap = sample_cap
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            conn = self._conn()
            conn.executescript(_SCHEMA)
            columns = {row[1] for row in conn.execute("PRAGMA table_info(evidence)")}
            if "sample" not in columns:  # a store made before samples were named by digest
                conn.execute("ALTER TABLE evidence ADD COLUMN sample TEXT")
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open evidence store in {self.root}: {exc}") from exc
        flush_at_exit(self)

    @property
    def samples_dir(self) -> Path:
        return self.root / "verification_samples"

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.root / "evidence.db", timeout=30, check_same_thread=False, isolation_level=None
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def record(self, rec: EvidenceRecord) -> None:
        """Store one record now; ReplayError if an accepted receipt already used its nonce."""
        try:
            self._conn().execute(_INSERT, record_row(rec))
        except sqlite3.IntegrityError as exc:
            raise replay_error(rec) from exc
        except sqlite3.Error as exc:
            raise StoreError(f"cannot record evidence: {exc}") from exc

    def submit(self, rec: EvidenceRecord, sample: Sample | None = None) -> EvidenceRecord:
        """Record ``rec`` now (committed when this returns); write ``sample`` in the background.

        Returns the record as stored (with its ``sample`` folder, when there is one).

        Raises:
            ReplayError: ``rec`` is accepted (valid) and an accepted receipt already used
                its nonce, in this process or any other sharing the directory.
            StoreError: the record could not be committed (nothing is accepted then).
        """
        if sample is not None and sample.size <= self.sample_cap:
            rec = replace(rec, sample=self.sample_name(rec, sample))
        else:
            sample = None
        self.record(rec)
        if sample is None:
            return rec
        stored, content = rec, sample
        self.submit_job(lambda: self.write_sample(stored, content))
        return rec

    @staticmethod
    def sample_name(rec: EvidenceRecord, sample: Sample) -> str:
        """Where ``sample`` of ``rec`` goes: ``accepted/<digest>`` or ``refused/<digest>``."""
        return ("accepted/" if rec.status == "valid" else "refused/") + sample.digest

    def submit_job(self, job: Callable[[], object]) -> None:
        """Run ``job`` on the background writer, after everything submitted before it."""
        with self._lock:
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._drain, name="llmseal-evidence", daemon=True
                )
                self._writer.start()
        self._queue.put(job)

    def put_log_proof(
        self, receipt_id: str, proof: str, *, origin: str, index: int, tree_size: int
    ) -> None:
        """Keep a verified transparency-log proof (tlog-proof text) of a receipt."""
        try:
            self._conn().execute(
                "INSERT OR REPLACE INTO log_proofs VALUES (?, ?, ?, ?, ?)",
                (receipt_id, proof, origin, index, tree_size),
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot record a log proof: {exc}") from exc

    def log_proof(self, receipt_id: str) -> str | None:
        """The kept log proof of a receipt, or None."""
        try:
            row = (
                self._conn()
                .execute("SELECT proof FROM log_proofs WHERE receipt_id = ?", (receipt_id,))
                .fetchone()
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read evidence: {exc}") from exc
        return None if row is None else str(row[0])

    def unproven(self, *, limit: int | None = None) -> list[EvidenceRecord]:
        """Accepted receipts with no log proof kept yet, oldest first."""
        query = (
            "SELECT * FROM evidence WHERE status = 'valid' AND receipt_id NOT IN"
            " (SELECT receipt_id FROM log_proofs) ORDER BY rowid"
        )
        args: tuple[int, ...] = ()
        if limit is not None:
            query += " LIMIT ?"
            args = (limit,)
        try:
            return [record_from_row(r) for r in self._conn().execute(query, args).fetchall()]
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read evidence: {exc}") from exc

    def flush(self) -> None:
        """Wait until every sample submitted so far is written."""
        if self._writer is None:
            return
        done = threading.Event()
        self._queue.put(done.set)
        done.wait()

    def _drain(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                job()
            except Exception as exc:  # a sample that could not be written; keep going
                log.error("evidence sample failed: %s", exc)

    def seen(self, key_id: str, nonce: str) -> bool:
        """Whether an accepted receipt already used this nonce (committed by anyone)."""
        try:
            cur = self._conn().execute(
                "SELECT 1 FROM evidence WHERE key_id = ? AND nonce = ? AND status = 'valid'",
                (key_id, nonce),
            )
            return cur.fetchone() is not None
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read evidence: {exc}") from exc

    def write_sample(self, rec: EvidenceRecord, sample: Sample) -> Path | None:
        """Write the sample folder, never over an existing one; None if over the size cap."""
        if sample.size > self.sample_cap:
            return None
        target = self.samples_dir / self.sample_name(rec, sample)
        if target.exists():
            return target  # same digest: the same bytes are already there
        write_folder(target, rec, sample)
        return target

    def list(self, *, limit: int | None = None) -> Iterator[EvidenceRecord]:
        query = _SELECT + " ORDER BY rowid"
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        try:
            rows = self._conn().execute(query).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read evidence: {exc}") from exc
        for row in rows:
            yield record_from_row(row)

    def get(self, receipt_id: str) -> EvidenceRecord | None:
        try:
            row = (
                self._conn()
                .execute(
                    _SELECT + " WHERE receipt_id = ? ORDER BY rowid DESC LIMIT 1", (receipt_id,)
                )
                .fetchone()
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read evidence: {exc}") from exc
        return None if row is None else record_from_row(row)

    def sample_path(self, rec: EvidenceRecord) -> Path | None:
        """The record's complete sample folder, or None."""
        if rec.sample is None or not _SAMPLE_NAME.match(rec.sample):
            return None
        path = self.samples_dir / rec.sample
        return path if (path / "manifest.json").exists() else None

    def close(self) -> None:
        """Write the pending samples, then close the connections."""
        writer = self._writer
        if writer is not None:
            self._queue.put(None)
            writer.join()
            self._writer = None
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()
