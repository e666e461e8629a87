"""A witness's durable state: the latest cosigned checkpoint per origin, and evidence.

SQLite in WAL mode with ``synchronous=FULL`` (a commit is on disk when it
returns). c2sp.org/tlog-witness asks that the witness persist a checkpoint
before answering and that check-and-store be atomic (its race: an older request
must never overwrite a newer tree). Here every write is a compare-and-swap in
SQL — ``UPDATE ... WHERE size = ? AND root = ?`` or an insert that only succeeds
for a new origin — and the witness answers only after the commit returned.

Writes from one event-loop iteration share one transaction (one fsync), run on a
worker thread so the loop keeps verifying meanwhile. Only one process serves a
state directory at a time (an exclusive ``flock``), so the in-memory copy of the
latest checkpoints — updated only after a commit — is what is on disk.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import hashlib
import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmseal.errors import ConfigError, StoreError

__all__ = ["MAX_EVIDENCE_PER_ORIGIN", "Evidence", "Latest", "WitnessStore", "origin_hash"]

MAX_EVIDENCE_PER_ORIGIN = 1000  # bounded: a log's signed checkpoints may be replayed at us
_SCHEMA = """
CREATE TABLE IF NOT EXISTS latest (
    origin TEXT PRIMARY KEY, size INTEGER NOT NULL, root BLOB NOT NULL, note BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS evidence (
    id INTEGER PRIMARY KEY, origin TEXT NOT NULL, kind TEXT NOT NULL,
    recorded INTEGER NOT NULL, digest BLOB NOT NULL UNIQUE, cosigned BLOB NOT NULL,
    refused BLOB NOT NULL, old_size INTEGER NOT NULL, proof TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS evidence_origin ON evidence (origin, id);
"""


def origin_hash(origin: str) -> str:
    """Lowercase hex SHA-256 of the origin (the monitoring path element)."""
    return hashlib.sha256(origin.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Latest:
    """The latest checkpoint cosigned for an origin: the log's note plus our cosignature."""

    origin: str
    size: int
    root: bytes
    note: bytes


@dataclass(frozen=True, slots=True)
class Evidence:
    """A log-signed checkpoint refused because it contradicts one we cosigned.

    ``kind``: ``fork`` (same size, another root — two signed trees, self-evident),
    ``inconsistent`` (the proof offered from ``cosigned`` to ``refused`` fails: a
    fork unless the log can produce a proof), ``bad-empty-tree`` (size 0, not
    the empty root).
    """

    origin: str
    kind: str
    recorded: int
    cosigned: bytes
    refused: bytes
    old_size: int
    proof: tuple[bytes, ...]

    def digest(self) -> bytes:
        parts = (self.origin.encode(), self.kind.encode(), self.refused, *self.proof)
        return hashlib.sha256(b"\x00".join(parts)).digest()

    def to_dict(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "kind": self.kind,
            "recorded": self.recorded,
            "cosigned": self.cosigned.decode("utf-8"),
            "refused": self.refused.decode("utf-8"),
            "old_size": self.old_size,
            "proof": [base64.b64encode(h).decode("ascii") for h in self.proof],
        }


_Op = tuple[str, Any, Any]  # ("swap", expected, new) | ("keep", evidence, None)


class WitnessStore:
    """Latest checkpoints (in memory and on disk) and kept evidence, in ``directory``."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self._lock_fd = _lock(self.directory)
        try:
            self._db = sqlite3.connect(
                self.directory / "witness.db", isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            rows = self._db.execute("SELECT origin, size, root, note FROM latest").fetchall()
        except sqlite3.Error as exc:
            os.close(self._lock_fd)
            raise StoreError(f"cannot open witness state in {self.directory}: {exc}") from exc
        self._db_lock = threading.Lock()
        self._latest = {o: Latest(o, s, bytes(r), bytes(n)) for o, s, r, n in rows}
        self._by_hash = {origin_hash(o): o for o in self._latest}
        self._pending: list[tuple[_Op, asyncio.Future[bool]]] = []
        self._flushing: asyncio.Task[None] | None = None
        self.commits = 0

    def latest(self, origin: str) -> Latest | None:
        return self._latest.get(origin)

    def latest_by_hash(self, digest: str) -> Latest | None:
        origin = self._by_hash.get(digest)
        return None if origin is None else self._latest.get(origin)

    async def swap(self, expected: Latest | None, new: Latest) -> bool:
        """Store ``new`` iff the stored state is still ``expected``; True once durable.

        Raises:
            StoreError: the commit failed (nothing was stored).
        """
        return await self._submit(("swap", expected, new))

    async def keep(self, evidence: Evidence) -> bool:
        """Keep evidence (False if already kept or over the per-origin cap)."""
        return await self._submit(("keep", evidence, None))

    def evidence(self, origin: str) -> list[Evidence]:
        with self._db_lock:
            rows = self._db.execute(
                "SELECT kind, recorded, cosigned, refused, old_size, proof FROM evidence"
                " WHERE origin = ? ORDER BY id",
                (origin,),
            ).fetchall()
        return [
            Evidence(origin, k, r, bytes(c), bytes(f), o, tuple(_proof(p)))
            for k, r, c, f, o, p in rows
        ]

    def close(self) -> None:
        with self._db_lock:
            self._db.close()
        os.close(self._lock_fd)

    async def _submit(self, op: _Op) -> bool:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        self._pending.append((op, future))
        if self._flushing is None or self._flushing.done():
            self._flushing = loop.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                results = await asyncio.to_thread(self._commit, [op for op, _ in batch])
            except StoreError as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (op, future), ok in zip(batch, results, strict=True):
                if ok and op[0] == "swap":
                    new: Latest = op[2]
                    self._latest[new.origin] = new  # only after it is on disk
                    self._by_hash[origin_hash(new.origin)] = new.origin
                if not future.done():
                    future.set_result(ok)

    def _commit(self, ops: list[_Op]) -> list[bool]:
        with self._db_lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                results = [self._apply(op) for op in ops]
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                raise StoreError(f"cannot store witness state: {exc}") from exc
        self.commits += 1
        return results

    def _apply(self, op: _Op) -> bool:
        kind, first, new = op
        if kind == "keep":
            return self._insert_evidence(first)
        expected: Latest | None = first
        if expected is None:
            cur = self._db.execute(
                "INSERT OR IGNORE INTO latest (origin, size, root, note) VALUES (?, ?, ?, ?)",
                (new.origin, new.size, new.root, new.note),
            )
        else:
            cur = self._db.execute(
                "UPDATE latest SET size = ?, root = ?, note = ?"
                " WHERE origin = ? AND size = ? AND root = ?",
                (new.size, new.root, new.note, new.origin, expected.size, expected.root),
            )
        return cur.rowcount == 1

    def _insert_evidence(self, ev: Evidence) -> bool:
        (count,) = self._db.execute(
            "SELECT count(*) FROM evidence WHERE origin = ?", (ev.origin,)
        ).fetchone()
        if count >= MAX_EVIDENCE_PER_ORIGIN:
            return False
        proof = "\n".join(base64.b64encode(h).decode("ascii") for h in ev.proof)
        cur = self._db.execute(
            "INSERT OR IGNORE INTO evidence (origin, kind, recorded, digest, cosigned, refused,"
            " old_size, proof) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (ev.origin, ev.kind, ev.recorded, ev.digest(), ev.cosigned, ev.refused,
             ev.old_size, proof),
        )  # fmt: skip
        return cur.rowcount == 1


def _proof(text: str) -> list[bytes]:
    return [base64.b64decode(line) for line in text.split("\n") if line]


def _lock(directory: Path) -> int:
    """Hold the state directory exclusively (one serving witness per state)."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(directory / ".lock", os.O_WRONLY | os.O_CREAT, 0o600)
    except OSError as exc:
        raise ConfigError(f"cannot use witness directory {directory}: {exc.strerror}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise ConfigError(f"another witness is using {directory}") from None
    return fd
