"""A log in PostgreSQL: indices, tiles, bundles and checkpoints in tables, shared by replicas.

The second :class:`~llmseal.log.storage.base.LogStorage` (the first is the directory).
Any number of processes sequence into it; one of them, the *integrator*, publishes.

* **Sequencing** (any replica) is one call of ``llmseal_log_sequence(leaves, ids,
  entries)``: a PL/pgSQL function that locks the single ``log_next`` row, numbers the
  batch's new leaves in order (a leaf already logged, or earlier in the batch, keeps
  that index), inserts them set-wise and moves ``log_next`` — one statement, one
  transaction, as in Tessera's MySQL and Spanner drivers. Parameters and results
  travel in PostgreSQL's binary format (bytea as text is hex: 5× slower here).
  Because every sequencer holds that row lock until it commits, the
  committed indices are always a contiguous prefix ``0 … next-1``.
* **Integration** (one replica) runs on a connection holding the session advisory
  lock ``llmseal:log``: that connection is the only one :meth:`publish` writes on,
  so when the integrator dies (its session ends, PostgreSQL frees the lock) another
  replica's :meth:`try_lead` succeeds — and a stale integrator can never write again.
  A publish is one transaction: the new tiles and bundles (immutable paths: ``ON
  CONFLICT DO NOTHING``), then the checkpoint, replaced only by a tree at least as
  large; it notifies ``llmseal_log_cp`` so every replica refreshes its checkpoint.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from llmseal.errors import LogCorruptError, LogError, LogUnavailableError
from llmseal.log.storage.base import EntryRef, PendingEntry, Sequenced
from llmseal.log.storage.pgschema import CHECKPOINT_CHANNEL, MIGRATIONS, SEQUENCED_CHANNEL
from llmseal.store.pg import advisory_key, describe, migrate, open_pool

if TYPE_CHECKING:
    from psycopg import Connection

__all__ = ["PostgresLogStorage"]

_LOCK = advisory_key("log")


def _unavailable(what: str, exc: BaseException) -> LogUnavailableError:
    return LogUnavailableError(f"log storage (PostgreSQL): cannot {what}: {str(exc).strip()}")


class PostgresLogStorage:
    """:class:`~llmseal.log.storage.base.LogStorage` in PostgreSQL (thread-safe)."""

    def __init__(self, url: str, *, pool_size: int = 4, timeout: float = 3.0) -> None:
        self.url = url
        self._timeout = timeout
        self._pool = open_pool(
            url, max_size=pool_size, timeout=timeout, error=LogUnavailableError, name="llmseal-log"
        )
        self._leader: Connection[Any] | None = None
        self._leader_lock = threading.Lock()
        try:
            with self._pool.connection() as conn:
                migrate(conn, "log", MIGRATIONS, error=LogUnavailableError)
        except BaseException:
            self._pool.close()
            raise

    def _rows(self, sql: str, args: Sequence[Any] = (), *, what: str) -> list[tuple[Any, ...]]:
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            with self._pool.connection() as conn:
                cur = conn.execute(sql, args, binary=True)
                return cur.fetchall() if cur.description is not None else []
        except (PoolTimeout, psycopg.Error) as exc:
            raise _unavailable(what, exc) from exc

    # --- the log's description ------------------------------------------------------
    def info(self) -> tuple[str, str] | None:
        """``(origin, vkey)`` of the log in this database, None before :meth:`create`."""
        rows = self._rows("SELECT origin, vkey FROM log_info", what="read the log description")
        return (rows[0][0], rows[0][1]) if rows else None

    def create(self, origin: str, vkey: str, checkpoint: bytes) -> tuple[str, str]:
        """Record a new log (once: a database holds one log); the description in force."""
        import psycopg

        try:
            with self._pool.connection() as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%b)", (advisory_key("log-init"),))
                row = conn.execute("SELECT origin, vkey FROM log_info").fetchone()
                if row is not None:
                    return row[0], row[1]
                conn.execute("INSERT INTO log_info VALUES (1, %b, %b)", (origin, vkey))
                conn.execute(
                    "INSERT INTO log_checkpoints VALUES ('checkpoint', 0, %b)", (checkpoint,)
                )
                return origin, vkey
        except psycopg.Error as exc:
            raise _unavailable("create the log", exc) from exc

    # --- reading --------------------------------------------------------------------
    def read(self, path: str) -> bytes:
        if path.startswith("checkpoint"):
            rows = self._rows("SELECT body FROM log_checkpoints WHERE name = %b", (path,),
                              what=f"read {path}")  # fmt: skip
        else:
            rows = self._rows("SELECT data FROM log_files WHERE path = %b", (path,),
                              what=f"read {path}")  # fmt: skip
        if not rows:
            raise LogError(f"log resource {path} does not exist")
        return bytes(rows[0][0])

    def sequenced_size(self) -> int:
        return int(self._rows("SELECT next FROM log_next", what="read the log size")[0][0])

    def unintegrated(self, start: int, limit: int | None = None) -> list[bytes]:
        sql = "SELECT data FROM log_entries WHERE idx >= %b ORDER BY idx"
        args: tuple[int, ...] = (start,)
        if limit is not None:
            sql, args = sql + " LIMIT %b", (start, limit)
        return [bytes(r[0]) for r in self._rows(sql, args, what="read sequenced entries")]

    def find_leaf(self, leaf_hash: bytes) -> int | None:
        rows = self._rows("SELECT idx FROM log_entries WHERE leaf = %b", (leaf_hash,),
                          what="read the log index")  # fmt: skip
        return int(rows[0][0]) if rows else None

    def find_receipt(self, receipt_id: str) -> list[EntryRef]:
        rows = self._rows(
            "SELECT idx, leaf FROM log_entries WHERE receipt_id = %b ORDER BY idx",
            (receipt_id,),
            what="read the log index",
        )
        return [EntryRef(int(i), bytes(leaf)) for i, leaf in rows]

    # --- sequencing (any replica) -----------------------------------------------------
    def sequence(self, batch: Sequence[PendingEntry]) -> list[Sequenced]:
        if not batch:
            return []
        rows = self._rows(
            "SELECT o_idx, o_dup FROM llmseal_log_sequence(%b, %b, %b) ORDER BY o_pos",
            ([e.leaf_hash for e in batch], [e.receipt_id for e in batch], [e.data for e in batch]),
            what=f"sequence {len(batch)} entries",
        )
        return [
            Sequenced(int(idx), e.leaf_hash, bool(dup))
            for (idx, dup), e in zip(rows, batch, strict=True)
        ]

    # --- integration (the one replica holding the lock) ---------------------------------
    @property
    def leading(self) -> bool:
        return self._leader is not None

    def try_lead(self, application_name: str = "llmseal-log") -> bool:
        """Become the integrator if nobody is (a session advisory lock on a connection of
        its own); True while this process is it."""
        import psycopg

        with self._leader_lock:
            if self._leader is not None:
                return True
            try:
                conn = psycopg.connect(
                    self.url,
                    autocommit=True,
                    connect_timeout=max(2, int(self._timeout)),
                    application_name=application_name,
                )
            except psycopg.Error:
                return False
            try:
                row = conn.execute("SELECT pg_try_advisory_lock(%b)", (_LOCK,)).fetchone()
                if row is None or not row[0]:
                    conn.close()
                    return False
                conn.execute(f"LISTEN {SEQUENCED_CHANNEL}")
            except psycopg.Error:
                conn.close()
                return False
            self._leader = conn
            return True

    def step_down(self) -> None:
        """Stop integrating (closing the session frees the lock for another replica)."""
        with self._leader_lock:
            conn, self._leader = self._leader, None
        if conn is not None:
            # Unlock before closing: a closed client socket frees the lock only once the
            # server has ended the session, so a replica asking at once could be refused.
            with contextlib.suppress(Exception):
                conn.execute("SELECT pg_advisory_unlock(%b)", (_LOCK,))
            with contextlib.suppress(Exception):
                conn.close()

    def wait_sequenced(self, timeout: float) -> None:
        """The integrator waits here for a sequencing notification (or ``timeout``)."""
        import psycopg

        conn = self._leader
        if conn is None:
            raise LogUnavailableError("not the log's integrator")
        try:
            for _ in conn.notifies(timeout=timeout, stop_after=1):
                pass
        except psycopg.Error as exc:
            self.step_down()
            raise _unavailable("wait for entries", exc) from exc

    def publish(self, files: Mapping[str, bytes], checkpoint: bytes, size: int) -> None:
        """Tiles and checkpoint in one transaction, on the integrator's connection only."""
        import psycopg

        conn = self._leader
        if conn is None:
            raise LogUnavailableError("this process is not the log's integrator")
        tiles = {p: d for p, d in files.items() if not p.startswith("checkpoint")}
        named = {p: d for p, d in files.items() if p.startswith("checkpoint")}
        try:
            with conn.transaction():
                if tiles:
                    conn.execute(
                        "INSERT INTO log_files SELECT * FROM unnest(%b::text[], %b::bytea[])"
                        " ON CONFLICT (path) DO NOTHING",
                        (list(tiles), list(tiles.values())),
                        binary=True,
                    )
                for name, data in named.items():
                    conn.execute(
                        "INSERT INTO log_checkpoints VALUES (%b, %b, %b) ON CONFLICT (name)"
                        " DO UPDATE SET size = EXCLUDED.size, body = EXCLUDED.body",
                        (name, size, data),
                        binary=True,
                    )
                done = conn.execute(
                    "UPDATE log_checkpoints SET size = %b, body = %b"
                    " WHERE name = 'checkpoint' AND size <= %b",
                    (size, checkpoint, size),
                    binary=True,
                )
                if done.rowcount != 1:
                    raise LogCorruptError(f"a larger checkpoint than {size} is published already")
                conn.execute("SELECT pg_notify(%b, %b)", (CHECKPOINT_CHANNEL, str(size)))
        except psycopg.Error as exc:
            self.step_down()
            raise _unavailable(f"publish size {size}", exc) from exc

    def close(self) -> None:
        self.step_down()
        self._pool.close()

    def describe(self) -> str:
        return describe(self.url)
