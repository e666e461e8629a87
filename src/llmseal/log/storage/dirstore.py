"""A log in a directory: published files for anyone, an SQLite index for the log.

Layout::

    DIR/
      log.json        origin and verifier key (public, written once)
      log.key         the log's note signer key, mode 0600 (never served)
      public/         what readers fetch — point any static web server here
        checkpoint
        tile/<L>/<N>[.p/<W>]
        tile/entries/<N>[.p/<W>]
      state/          0700, owned by the one process that sequences
        lock          flock: a second process cannot open the log for writing
        index.db      SQLite (WAL, synchronous=FULL): index ↔ leaf hash ↔ receipt_id,
                      and the bytes of entries sequenced but not yet published

Every public file is written to a temporary name, fsynced and renamed, then its
directory is fsynced, so a reader (or a crash) sees the old file or the new one.
Tiles are fsynced before the checkpoint that needs them replaces the old one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from llmseal.errors import LogUnavailableError
from llmseal.log.storage.base import EntryRef, PendingEntry, Sequenced
from llmseal.log.tree.tilereader import directory_fetch

__all__ = ["DirectoryStorage"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    idx        INTEGER PRIMARY KEY,
    leaf       BLOB NOT NULL UNIQUE,
    receipt_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_by_receipt ON entries (receipt_id);
CREATE TABLE IF NOT EXISTS pending (
    idx  INTEGER PRIMARY KEY,
    data BLOB NOT NULL
);
"""
_IN_CHUNK = 500  # SQLite's default limit is 999 host parameters


def _unavailable(what: str, exc: BaseException) -> LogUnavailableError:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return LogUnavailableError(f"log storage: cannot {what}: {reason}")


class DirectoryStorage:
    """:class:`~llmseal.log.storage.base.LogStorage` over ``DIR/public`` and ``DIR/state``."""

    def __init__(self, root: str | Path, *, durable: bool = True) -> None:
        self.root = Path(root)
        self.public = self.root / "public"
        self._state = self.root / "state"
        self._durable = durable
        self._fetch = directory_fetch(self.public)
        self._lock_fd = self._take_lock()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._conn_lock = threading.Lock()
        try:
            self._conn().executescript(_SCHEMA)
            row = self._conn().execute("SELECT max(idx) FROM entries").fetchone()
        except sqlite3.Error as exc:
            self.close()
            raise _unavailable(f"open {self._state / 'index.db'}", exc) from exc
        self._size = 0 if row[0] is None else int(row[0]) + 1

    def _take_lock(self) -> int:
        try:
            self._state.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.public.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._state / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise _unavailable(f"use {self.root}", exc) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LogUnavailableError(
                f"the log at {self.root} is open in another process (one sequencer per log)"
            ) from None
        return fd

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self._state / "index.db", isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={'FULL' if self._durable else 'NORMAL'}")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
            with self._conn_lock:
                self._connections.append(conn)
        return conn

    # --- reading ---------------------------------------------------------------
    def read(self, path: str) -> bytes:
        return self._fetch(path)

    def sequenced_size(self) -> int:
        return self._size

    def find_leaf(self, leaf_hash: bytes) -> int | None:
        row = self._query("SELECT idx FROM entries WHERE leaf = ?", (leaf_hash,)).fetchone()
        return None if row is None else int(row[0])

    def find_receipt(self, receipt_id: str) -> list[EntryRef]:
        rows = self._query(
            "SELECT idx, leaf FROM entries WHERE receipt_id = ? ORDER BY idx", (receipt_id,)
        ).fetchall()
        return [EntryRef(int(i), bytes(leaf)) for i, leaf in rows]

    def unintegrated(self, start: int) -> list[bytes]:
        rows = self._query(
            "SELECT idx, data FROM pending WHERE idx >= ? ORDER BY idx", (start,)
        ).fetchall()
        return [bytes(data) for _, data in rows]

    def pending_indices(self, start: int) -> list[int]:
        """Indices of unpublished entries (recovery checks they are contiguous)."""
        rows = self._query("SELECT idx FROM pending WHERE idx >= ? ORDER BY idx", (start,))
        return [int(r[0]) for r in rows.fetchall()]

    def _query(self, sql: str, args: tuple[object, ...]) -> sqlite3.Cursor:
        try:
            return self._conn().execute(sql, args)
        except sqlite3.Error as exc:
            raise _unavailable("read the log index", exc) from exc

    # --- writing (the sequencer thread) ------------------------------------------
    def sequence(self, batch: Sequence[PendingEntry]) -> list[Sequenced]:
        conn = self._conn()
        known = self._known([e.leaf_hash for e in batch])
        out: list[Sequenced] = []
        entries: list[tuple[int, bytes, str]] = []
        pending: list[tuple[int, bytes]] = []
        nxt = self._size
        for e in batch:
            index = known.get(e.leaf_hash)
            if index is not None:
                out.append(Sequenced(index, e.leaf_hash, duplicate=True))
                continue
            known[e.leaf_hash] = nxt
            entries.append((nxt, e.leaf_hash, e.receipt_id))
            pending.append((nxt, e.data))
            out.append(Sequenced(nxt, e.leaf_hash))
            nxt += 1
        if not entries:
            return out
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany("INSERT INTO entries VALUES (?, ?, ?)", entries)
                conn.executemany("INSERT INTO pending VALUES (?, ?)", pending)
                conn.execute("COMMIT")  # synchronous=FULL: the WAL is fsynced here
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise _unavailable(f"sequence {len(entries)} entries", exc) from exc
        self._size = nxt
        return out

    def _known(self, leaves: list[bytes]) -> dict[bytes, int]:
        found: dict[bytes, int] = {}
        for i in range(0, len(leaves), _IN_CHUNK):
            chunk = leaves[i : i + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT leaf, idx FROM entries WHERE leaf IN ({marks})"  # noqa: S608
            rows = self._query(sql, tuple(chunk))
            found.update((bytes(leaf), int(idx)) for leaf, idx in rows.fetchall())
        return found

    def publish(self, files: Mapping[str, bytes], checkpoint: bytes, size: int) -> None:
        dirs: set[Path] = set()
        for path, data in sorted(files.items()):
            dirs |= self._write(path, data)
        self._sync_dirs(dirs)
        self._sync_dirs(self._write("checkpoint", checkpoint))
        try:  # the published checkpoint now covers these; losing this delete is harmless
            self._conn().execute("DELETE FROM pending WHERE idx < ?", (size,))
        except sqlite3.Error as exc:
            raise _unavailable("trim the sequencing journal", exc) from exc

    def _write(self, path: str, data: bytes) -> set[Path]:
        """Write one public file atomically; the directories whose entries changed."""
        target = self.public / path
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        changed = {target.parent}
        try:
            missing = target.parent
            while not missing.exists():  # a new directory is an entry in its parent
                changed.add(missing.parent)
                missing = missing.parent
            target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                if self._durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise _unavailable(f"write {path}", exc) from exc
        return changed

    def _sync_dirs(self, dirs: set[Path]) -> None:
        if not self._durable:
            return
        for d in sorted(dirs):
            try:
                fd = os.open(d, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as exc:
                raise _unavailable(f"sync {d}", exc) from exc

    def close(self) -> None:
        with self._conn_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1
