"""The caller's evidence: every verified exchange, and full copies of a sample.

``DATA_DIR/evidence.db`` (SQLite, WAL) has one row per receipt a client checked
— valid or not — with its status, issuer, model, hashes and times. The
``(key_id, nonce)`` pair is unique among *accepted* receipts, which is what makes
replay detection exact even across processes sharing the directory.

Writes are batched on a background thread (one transaction per batch), off the
caller's request path; the replay check stays synchronous: a nonce counts as
seen if it is pending in this process or committed by any process. The one
window left open is two processes accepting the same nonce within the same few
milliseconds; the unique index still refuses the second row, which is logged.

A sample (default 1%, and every failure) is also written in full, in the AntSeed
layout (seed 001)::

    DATA_DIR/verification_samples/<issuer>/<receipt_id>/
        request.json  response.json  receipt.json  manifest.json

``manifest.json`` is written last (files fsynced first, then the manifest
atomically renamed into place), so a directory with a manifest is complete; a
sample over the size cap (default 16 MiB) is skipped, never truncated.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import queue
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from llmseal.errors import ReplayError, StoreError

__all__ = ["EvidenceRecord", "EvidenceStore", "Sample"]

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
    sampled      INTEGER NOT NULL DEFAULT 0
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
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_INSERT = "INSERT INTO evidence VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
log = logging.getLogger("llmseal.evidence")
_Job = tuple["EvidenceRecord | None", "Callable[[], object] | None"]


@dataclass(frozen=True, slots=True)
class EvidenceRecord:
    """One checked exchange."""

    receipt_id: str
    status: str
    issuer: str
    key_id: str
    model_id: str
    issued_at: str
    verified_at: str
    nonce: str
    prompt_hash: str
    output_hash: str
    endpoint: str
    reasons: tuple[str, ...]
    receipt: bytes
    sampled: bool = False

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["reasons"] = list(self.reasons)
        out["receipt"] = json.loads(self.receipt)
        return out


@dataclass(frozen=True, slots=True)
class Sample:
    """The full content of one exchange, to be written beside the record."""

    request: bytes
    response: bytes
    receipt: bytes

    @property
    def size(self) -> int:
        return len(self.request) + len(self.response) + len(self.receipt)


def safe_dirname(name: str) -> str:
    cleaned = _UNSAFE.sub("_", name)[:80].lstrip(".") or "_"
    if cleaned != name:
        cleaned += "-" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return cleaned


class EvidenceStore:
    """Thread-safe; one connection per thread."""

    def __init__(self, data_dir: str | os.PathLike[str], *, sample_cap: int = 16 << 20) -> None:
        self.root = Path(data_dir)
        self.sample_cap = sample_cap
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._pending: set[tuple[str, str]] = set()
        self._unwritten: set[tuple[str, str]] = set()
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._conn().executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open evidence store in {self.root}: {exc}") from exc

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
            self._conn().execute(_INSERT, _row(rec))
        except sqlite3.IntegrityError as exc:
            raise _replay(rec) from exc
        except sqlite3.Error as exc:
            raise StoreError(f"cannot record evidence: {exc}") from exc

    def submit(self, rec: EvidenceRecord, sample: Callable[[], object] | None = None) -> None:
        """Record in the background (and then run ``sample``); replay is checked first.

        Raises:
            ReplayError: ``rec`` is accepted (valid) and its nonce was seen before.
        """
        key = (rec.key_id, rec.nonce)
        with self._lock:
            if rec.status == "valid":
                if key in self._pending or key in self._unwritten or self.seen(*key):
                    raise _replay(rec)
                self._pending.add(key)
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._drain, name="llmseal-evidence", daemon=True
                )
                self._writer.start()
        self._queue.put((rec, sample))

    def submit_job(self, job: Callable[[], object]) -> None:
        """Run ``job`` on the background writer, after everything submitted before it."""
        with self._lock:
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._drain, name="llmseal-evidence", daemon=True
                )
                self._writer.start()
        self._queue.put((None, job))

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
            return [_record(r) for r in self._conn().execute(query, args).fetchall()]
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read evidence: {exc}") from exc

    def flush(self) -> None:
        """Wait until everything submitted so far is written."""
        if self._writer is None:
            return
        done = threading.Event()
        self._queue.put((None, done.set))
        done.wait()

    def _drain(self) -> None:
        while True:
            batch = [self._queue.get()]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._write_batch(
                [item[0] for item in batch if item is not None and item[0] is not None]
            )
            for item in batch:
                if item is not None and item[1] is not None:
                    try:
                        item[1]()
                    except Exception as exc:  # a sample that could not be written; keep going
                        log.error("evidence sample failed: %s", exc)
            if any(item is None for item in batch):
                return

    def _write_batch(self, records: list[EvidenceRecord]) -> None:
        if not records:
            return
        written = False
        try:
            conn = self._conn()
            conn.execute("BEGIN")
            for rec in records:
                try:
                    conn.execute(_INSERT, _row(rec))
                except sqlite3.IntegrityError:
                    # Another process accepted the same nonce in the same instant.
                    log.error("replay detected after acceptance: %s", _replay(rec))
            conn.execute("COMMIT")
            written = True
        except (sqlite3.Error, StoreError) as exc:
            log.error("cannot record %d evidence record(s): %s", len(records), exc)
            with contextlib.suppress(sqlite3.Error, StoreError):
                if self._conn().in_transaction:
                    self._conn().execute("ROLLBACK")
        finally:
            with self._lock:
                for rec in records:
                    key = (rec.key_id, rec.nonce)
                    self._pending.discard(key)
                    if not written and rec.status == "valid":
                        # Fail closed: a nonce whose record was lost still counts as seen.
                        self._unwritten.add(key)

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
        """Write the sample directory (manifest last); None if over the size cap."""
        if sample.size > self.sample_cap:
            return None
        target = self.samples_dir / safe_dirname(rec.issuer) / safe_dirname(rec.receipt_id)
        try:
            target.mkdir(parents=True, exist_ok=True)
            files = {}
            for name, data in (
                ("request.json", sample.request),
                ("response.json", sample.response),
                ("receipt.json", sample.receipt),
            ):
                _write_synced(target / name, data)
                files[name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
            manifest = {
                "receipt_id": rec.receipt_id, "status": rec.status, "issuer": rec.issuer,
                "key_id": rec.key_id, "model_id": rec.model_id, "issued_at": rec.issued_at,
                "verified_at": rec.verified_at, "endpoint": rec.endpoint,
                "reasons": list(rec.reasons), "files": files,
            }  # fmt: skip
            tmp = target / ".manifest.json.tmp"
            _write_synced(tmp, json.dumps(manifest, indent=2).encode() + b"\n")
            os.replace(tmp, target / "manifest.json")
        except OSError as exc:
            raise StoreError(f"cannot write evidence sample {target}: {exc.strerror}") from exc
        return target

    def list(self, *, limit: int | None = None) -> Iterator[EvidenceRecord]:
        query = "SELECT * FROM evidence ORDER BY rowid"
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        try:
            rows = self._conn().execute(query).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read evidence: {exc}") from exc
        for row in rows:
            yield _record(row)

    def get(self, receipt_id: str) -> EvidenceRecord | None:
        try:
            row = (
                self._conn()
                .execute(
                    "SELECT * FROM evidence WHERE receipt_id = ? ORDER BY rowid DESC LIMIT 1",
                    (receipt_id,),
                )
                .fetchone()
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read evidence: {exc}") from exc
        return None if row is None else _record(row)

    def sample_path(self, rec: EvidenceRecord) -> Path | None:
        path = self.samples_dir / safe_dirname(rec.issuer) / safe_dirname(rec.receipt_id)
        return path if (path / "manifest.json").exists() else None

    def close(self) -> None:
        """Write what is pending, then close the connections."""
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join()
            self._writer = None
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()


def _row(rec: EvidenceRecord) -> tuple[Any, ...]:
    return (
        rec.receipt_id, rec.status, rec.issuer, rec.key_id, rec.model_id, rec.issued_at,
        rec.verified_at, rec.nonce, rec.prompt_hash, rec.output_hash, rec.endpoint,
        json.dumps(list(rec.reasons)), rec.receipt, int(rec.sampled),
    )  # fmt: skip


def _replay(rec: EvidenceRecord) -> ReplayError:
    return ReplayError(
        f"receipt {rec.receipt_id} was seen before (nonce {rec.nonce} of key "
        f"{rec.key_id!r} already accepted): a replayed answer",
        status="replayed",
    )


def _record(row: tuple[Any, ...]) -> EvidenceRecord:
    return EvidenceRecord(
        receipt_id=row[0], status=row[1], issuer=row[2], key_id=row[3], model_id=row[4],
        issued_at=row[5], verified_at=row[6], nonce=row[7], prompt_hash=row[8],
        output_hash=row[9], endpoint=row[10], reasons=tuple(json.loads(row[11])),
        receipt=bytes(row[12]), sampled=bool(row[13]),
    )  # fmt: skip


def _write_synced(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
