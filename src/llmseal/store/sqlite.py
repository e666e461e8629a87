"""SQLite receipt store: one file, WAL journal.

WAL lets readers run beside the writer, and ``synchronous=NORMAL`` means a commit
is written to the WAL with ``write()`` but fsynced only at checkpoints: a killed
process (``kill -9``) loses nothing that was committed, only a power cut could.
``durable=True`` switches to ``synchronous=FULL`` for that case.

With ``outbox=True`` every stored receipt also gets a row in ``log_outbox``, in the
same transaction: the transparency log's outbox (see
:mod:`llmseal.gateway.receipts.receipt_log`), emptied as the log acknowledges entries.

Checkpoints (which fsync) run on a background thread instead of inside whichever
commit crosses the auto-checkpoint threshold, so no request waits for a disk
flush. Several processes should not write one file: SQLite's busy handler backs
off in milliseconds. :mod:`llmseal.store.sharded` gives each process its own file.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from llmseal.errors import StoreError
from llmseal.store.base import StoredReceipt

__all__ = ["SqliteReceiptStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS receipts (
    receipt_id TEXT PRIMARY KEY,
    key_id     TEXT NOT NULL,
    model_id   TEXT NOT NULL,
    issued_at  TEXT NOT NULL,
    nonce      TEXT NOT NULL,
    body       BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_outbox (
    seq        INTEGER PRIMARY KEY,
    receipt_id TEXT NOT NULL UNIQUE,
    queued_at  REAL NOT NULL
);
"""


class SqliteReceiptStore:
    """A thread-safe SQLite store (one connection per thread)."""

    def __init__(
        self,
        path: str | Path,
        *,
        durable: bool = False,
        busy_timeout_ms: int = 30000,
        checkpoint_interval: float | None = 1.0,
        readonly: bool = False,
        outbox: bool = False,
    ) -> None:
        self.path = Path(path)
        self._outbox = outbox
        self._durable = durable
        self._busy = busy_timeout_ms
        self._readonly = readonly
        self._background = checkpoint_interval is not None and not readonly
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        conn = self._conn()
        if not readonly:
            try:
                conn.executescript(_SCHEMA)
            except sqlite3.Error as exc:
                raise StoreError(f"cannot initialise receipt store {self.path}: {exc}") from exc
        self._checkpointer: threading.Thread | None = None
        if self._background and checkpoint_interval is not None:
            self._checkpointer = threading.Thread(
                target=self._checkpoint_loop, args=(checkpoint_interval,), daemon=True
            )
            self._checkpointer.start()

    def _checkpoint_loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self._conn().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            except (sqlite3.Error, StoreError):
                continue  # the next round retries; commits never depend on it

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        try:
            if self._readonly:
                uri = f"file:{self.path}?mode=ro"
                conn = sqlite3.connect(
                    uri,
                    uri=True,
                    timeout=self._busy / 1000,
                    check_same_thread=False,
                    isolation_level=None,
                )
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # Autocommit mode with explicit BEGIN/COMMIT: the sqlite3 module's implicit
                # transaction handling costs ~20 µs per commit on top of SQLite's own.
                conn = sqlite3.connect(
                    self.path,
                    timeout=self._busy / 1000,
                    check_same_thread=False,
                    isolation_level=None,
                )
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(f"PRAGMA synchronous={'FULL' if self._durable else 'NORMAL'}")
                if self._background:
                    conn.execute("PRAGMA wal_autocheckpoint=0")
            conn.execute(f"PRAGMA busy_timeout={int(self._busy)}")
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open receipt store {self.path}: {exc}") from exc
        self._local.conn = conn
        with self._lock:
            self._connections.append(conn)
        return conn

    def put_many(self, records: Sequence[StoredReceipt]) -> None:
        if not records:
            return
        conn = self._conn()
        rows = [(r.receipt_id, r.key_id, r.model_id, r.issued_at, r.nonce, r.body) for r in records]
        try:
            if len(rows) == 1 and not self._outbox:  # autocommit: one statement, one transaction
                conn.execute("INSERT INTO receipts VALUES (?, ?, ?, ?, ?, ?)", rows[0])
                return
            conn.execute("BEGIN")
            try:  # one transaction: all or nothing (the receipt and its log outbox row)
                conn.executemany("INSERT INTO receipts VALUES (?, ?, ?, ?, ?, ?)", rows)
                if self._outbox:
                    now = time.time()
                    conn.executemany(
                        "INSERT INTO log_outbox (receipt_id, queued_at) VALUES (?, ?)",
                        [(r.receipt_id, now) for r in records],
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StoreError(f"cannot store {len(rows)} receipt(s): {exc}") from exc

    def get(self, receipt_id: str) -> StoredReceipt | None:
        try:
            row = (
                self._conn()
                .execute(
                    "SELECT receipt_id, key_id, model_id, issued_at, nonce, body"
                    " FROM receipts WHERE receipt_id = ?",
                    (receipt_id,),
                )
                .fetchone()
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read receipt store: {exc}") from exc
        if row is None:
            return None
        return StoredReceipt(row[0], row[1], row[2], row[3], row[4], bytes(row[5]))

    def count(self) -> int:
        try:
            return int(self._conn().execute("SELECT count(*) FROM receipts").fetchone()[0])
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read receipt store: {exc}") from exc

    def outbox_pending(
        self, limit: int, *, queued_before: float | None = None
    ) -> list[StoredReceipt]:
        """Receipts the transparency log has not acknowledged, oldest first."""
        sql = (
            "SELECT r.receipt_id, r.key_id, r.model_id, r.issued_at, r.nonce, r.body"
            " FROM log_outbox o JOIN receipts r ON r.receipt_id = o.receipt_id"
        )
        args: tuple[float | int, ...] = (limit,)
        if queued_before is not None:
            sql += " WHERE o.queued_at < ?"
            args = (queued_before, limit)
        try:
            rows = self._conn().execute(sql + " ORDER BY o.seq LIMIT ?", args).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the log outbox: {exc}") from exc
        return [StoredReceipt(r[0], r[1], r[2], r[3], r[4], bytes(r[5])) for r in rows]

    def outbox_done(self, receipt_ids: Sequence[str]) -> None:
        """Forget outbox rows once the log acknowledged them (or will never get them)."""
        if not receipt_ids:
            return
        conn = self._conn()
        try:
            conn.execute("BEGIN")
            try:
                conn.executemany(
                    "DELETE FROM log_outbox WHERE receipt_id = ?", [(i,) for i in receipt_ids]
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StoreError(f"cannot update the log outbox: {exc}") from exc

    def outbox_count(self) -> int:
        try:
            return int(self._conn().execute("SELECT count(*) FROM log_outbox").fetchone()[0])
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the log outbox: {exc}") from exc

    def ids(self) -> set[str]:
        """Every stored receipt id (for audits and tests)."""
        try:
            return {row[0] for row in self._conn().execute("SELECT receipt_id FROM receipts")}
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read receipt store: {exc}") from exc

    def close(self) -> None:
        self._stop.set()
        if self._checkpointer is not None:
            self._checkpointer.join()
            self._checkpointer = None
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()
