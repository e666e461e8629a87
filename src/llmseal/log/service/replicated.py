"""The sequencer of a log shared by replicas (PostgreSQL): sequence anywhere, one integrator.

:class:`ReplicatedSequencer` has the :class:`~llmseal.log.service.sequencer.Sequencer` face
(``submit``, ``published``, ``wait_published``, listeners, proofs) and three threads:

* **sequencing** — batches submitted entries and gives them indices in the database
  (:meth:`PostgresLogStorage.sequence`); a caller's future resolves once its index
  is committed. Every replica does this; it never waits for the integrator.
* **integrating** — tries to become the integrator every ``lead_interval`` seconds
  (a session advisory lock). The integrator loads the published checkpoint from the
  database, verifies it with the log key and rebuilds the right edge from its tiles
  (the root must match), then integrates every sequenced entry it has not: extends
  the edge, proves the new tree consistent with the old one, signs, publishes.
  Entries have their indices before any integrator sees them, so whoever integrates
  builds the same tree: a takeover continues it, never forks it.
* **watching** — on every replica, refreshes ``published`` from the database when
  the integrator announces a checkpoint (``LISTEN``), and at least every second.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable

from llmseal.errors import LogCorruptError, LogError, LogFormatError, ProofError
from llmseal.log.note.checkpoint import SignedCheckpoint, open_checkpoint
from llmseal.log.note.note import NoteSigner, NoteVerifier
from llmseal.log.service.sequencer import Sequencer
from llmseal.log.storage.pgschema import CHECKPOINT_CHANNEL
from llmseal.log.storage.pgstore import PostgresLogStorage
from llmseal.log.tree.edge import TreeEdge

__all__ = ["ReplicatedSequencer"]

log = logging.getLogger("llmseal.log")


class ReplicatedSequencer(Sequencer):
    """A :class:`Sequencer` over :class:`PostgresLogStorage`, one of many replicas."""

    def __init__(
        self,
        storage: PostgresLogStorage,
        signer: NoteSigner,
        verifier: NoteVerifier,
        origin: str,
        *,
        batch_size: int = 1024,
        batch_age: float = 0.05,
        max_pending: int = 1 << 16,
        retry_interval: float = 1.0,
        lead_interval: float = 0.5,
        integrate_batch: int = 16384,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # Not Sequencer.__init__: that one owns the storage alone and publishes inline.
        self._setup_queue(storage, signer, verifier, origin, batch_size=batch_size,
                          batch_age=batch_age, max_pending=max_pending,
                          retry_interval=retry_interval, clock=clock)  # fmt: skip
        self._pg = storage
        self._lead_interval = lead_interval
        self._integrate_batch = integrate_batch
        self._published = self._load_checkpoint()
        self._edge = TreeEdge(0)
        self.witnessed = None
        self.integrations = 0
        """Checkpoints this process signed (0 on every replica but the integrator)."""
        self._threads = [
            threading.Thread(target=self._run, name="llmseal-log-sequencer", daemon=True),
            threading.Thread(target=self._integrate, name="llmseal-log-integrator", daemon=True),
            threading.Thread(target=self._watch, name="llmseal-log-watcher", daemon=True),
        ]
        self._thread = self._threads[0]
        for thread in self._threads:
            thread.start()

    @property
    def leading(self) -> bool:
        """Whether this process is the log's integrator now."""
        return self._pg.leading

    def _load_checkpoint(self) -> SignedCheckpoint:
        try:
            return open_checkpoint(
                self._storage.read("checkpoint"), origin=self._origin, verifiers=[self._verifier]
            )
        except (LogFormatError, ProofError) as exc:
            raise LogCorruptError(f"the published checkpoint is not this log's: {exc}") from exc

    def _adopt(self, checkpoint: SignedCheckpoint) -> None:
        with self._cond:
            if checkpoint.size <= self._published.size:
                return
            self._published = checkpoint
            self._cond.notify_all()
        for callback in self._listeners:
            callback(checkpoint)

    # --- sequencing -------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            if batch:
                self._sequence_durably(batch)  # the integrator thread publishes

    # --- integrating --------------------------------------------------------------------
    def _integrate(self) -> None:
        name = f"llmseal-log-{os.getpid()}"
        while not self._stopping:
            if not self._pg.try_lead(name):
                self._pause(self._lead_interval)
                continue
            try:
                self._take_over()
                while self._integrating():
                    entries = self._pg.unintegrated(self._published.size, self._integrate_batch)
                    if entries:
                        self._publish(entries)
                        self.integrations += 1
                    else:
                        self._pg.wait_sequenced(self._batch_age * 4)
            except LogError as exc:  # its session broke, or the tree failed a check
                log.warning("log: this process stops integrating (another may take over): %s", exc)
                self._pg.step_down()
                self._pause(self._retry)
        self._pg.step_down()

    def _integrating(self) -> bool:
        return self._pg.leading and not self._stopping

    def _take_over(self) -> None:
        """Start integrating from the checkpoint in the database, after checking it."""
        published = self._load_checkpoint()
        edge = TreeEdge.load(published.size, self._storage.read)
        if edge.root() != published.root:
            raise LogCorruptError(f"the stored tiles do not hash to checkpoint {published.size}")
        with self._cond:
            self._edge = edge
            self._published = published  # never older: the database holds the newest
            self._cond.notify_all()
        log.info("log: this process (%d) integrates now, from size %d", os.getpid(), edge.size)

    def _pause(self, seconds: float) -> None:
        with self._cond:
            if not self._stopping:
                self._cond.wait(seconds)

    # --- watching ---------------------------------------------------------------------------
    def _watch(self) -> None:
        import psycopg

        while not self._stopping:
            try:
                with psycopg.connect(self._pg.url, autocommit=True, connect_timeout=3) as conn:
                    conn.execute(f"LISTEN {CHECKPOINT_CHANNEL}")
                    while not self._stopping:
                        self._refresh()
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            pass
            except (psycopg.Error, LogError) as exc:
                log.debug("log: checkpoint watcher reconnecting: %s", exc)
                self._pause(self._retry)

    def _refresh(self) -> None:
        if self._pg.leading:
            return  # the integrator knows its own checkpoints first
        with contextlib.suppress(LogCorruptError):
            self._adopt(self._load_checkpoint())

    def close(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=30)
