"""The sequencer: one thread that batches entries, indexes them durably and publishes.

Per batch (closed at ``batch_size`` entries or when its oldest entry is
``batch_age`` seconds old):

1. :meth:`LogStorage.sequence` makes the indices durable (fsync); only then are
   the submitters' futures resolved — an index a caller holds survives kill -9.
2. The tree edge is extended, the new root checked to extend the last published
   one (a consistency proof over the tiles, verified), a checkpoint signed, and
   :meth:`LogStorage.publish` writes tiles, bundles, then the checkpoint.

Startup is recovery: the published checkpoint is verified with the log's own
key, every tile checked against it (:func:`~llmseal.log.tree.integrity.check_tree`;
damage stops the log), and entries that were sequenced but not published — the
half-done batch of a crash — are integrated before anything new. A write that
fails (full disk) leaves the last published state in force; the sequencer stops
taking entries and retries the integration until it succeeds or is closed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future

from llmseal.errors import (
    LogCorruptError,
    LogError,
    LogFormatError,
    LogUnavailableError,
    ProofError,
)
from llmseal.log.note.checkpoint import SignedCheckpoint, open_checkpoint
from llmseal.log.note.note import NoteSigner, NoteVerifier
from llmseal.log.service.checkpoints import WITNESSED, read_witnessed, sign_extension
from llmseal.log.storage.base import LogStorage, PendingEntry, Sequenced
from llmseal.log.tree.edge import TreeEdge
from llmseal.log.tree.integrity import check_tree
from llmseal.log.tree.tilereader import TileCache, TileHashReader

__all__ = ["Sequencer"]

log = logging.getLogger("llmseal.log")
_Item = tuple[PendingEntry, "Future[Sequenced]", float]


class Sequencer:
    """Owns a :class:`LogStorage` for writing; thread-safe :meth:`submit`."""

    def __init__(
        self,
        storage: LogStorage,
        signer: NoteSigner,
        verifier: NoteVerifier,
        origin: str,
        *,
        batch_size: int = 1024,
        batch_age: float = 0.05,
        max_pending: int = 1 << 16,
        retry_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._setup_queue(storage, signer, verifier, origin, batch_size=batch_size,
                          batch_age=batch_age, max_pending=max_pending,
                          retry_interval=retry_interval, clock=clock)  # fmt: skip
        try:
            published = open_checkpoint(
                storage.read("checkpoint"), origin=origin, verifiers=[verifier]
            )
        except (LogFormatError, ProofError) as exc:
            raise LogCorruptError(f"the published checkpoint is not this log's: {exc}") from exc
        self._edge = check_tree(storage.read, published)
        self._published = published
        self.witnessed = read_witnessed(storage.read, origin, verifier, published)
        """The newest checkpoint witnesses cosigned (``checkpoint.witnessed``), if any."""
        self._complete_unpublished()
        self._thread = threading.Thread(target=self._run, name="llmseal-log-sequencer", daemon=True)
        self._thread.start()

    def _setup_queue(
        self,
        storage: LogStorage,
        signer: NoteSigner,
        verifier: NoteVerifier,
        origin: str,
        *,
        batch_size: int,
        batch_age: float,
        max_pending: int,
        retry_interval: float,
        clock: Callable[[], float],
    ) -> None:
        """The state every sequencer has: settings, the queue, its condition, listeners.

        Shared with :class:`~llmseal.log.service.replicated.ReplicatedSequencer`, whose
        ``__init__`` differs only in how it loads and publishes the tree.
        """
        self._storage = storage
        self._signer = signer
        self._verifier = verifier
        self._origin = origin
        self._batch_size = batch_size
        self._batch_age = batch_age
        self._max_pending = max_pending
        self._retry = retry_interval
        self._clock = clock
        self.cache = TileCache()
        self._queue: deque[_Item] = deque()
        self._cond = threading.Condition()
        self._stopping = False
        self.failure: LogError | None = None
        self._listeners: list[Callable[[SignedCheckpoint], None]] = []
        self._publish_lock = threading.Lock()  # the sequencer and cosignatures both publish

    # --- the public face -----------------------------------------------------------
    @property
    def published(self) -> SignedCheckpoint:
        """The latest published checkpoint."""
        return self._published

    def reader(self, checkpoint: SignedCheckpoint | None = None) -> TileHashReader:
        """Hashes of the tree of a published checkpoint (the latest by default)."""
        size = (checkpoint or self._published).size
        return TileHashReader(self._storage.read, size, cache=self.cache)

    def submit(self, entries: Sequence[PendingEntry]) -> list[Future[Sequenced]]:
        """Queue entries; each future resolves once its index is durable.

        Raises:
            LogUnavailableError: the log is stopped, failing, or has too much queued.
        """
        now = self._clock()
        futures: list[Future[Sequenced]] = [Future() for _ in entries]
        with self._cond:
            if self._stopping:
                raise LogUnavailableError("the log is shutting down")
            if self.failure is not None:
                raise LogUnavailableError(f"the log is not accepting entries: {self.failure}")
            if len(self._queue) + len(entries) > self._max_pending:
                raise LogUnavailableError("the log has too many entries queued; retry later")
            self._queue.extend(zip(entries, futures, [now] * len(entries), strict=True))
            self._cond.notify_all()
        return futures

    def add_cosigned(self, cosigned: SignedCheckpoint) -> None:
        """Publish a checkpoint of ours with witness cosignatures (issue 11).

        It is kept as ``checkpoint.witnessed`` for proofs, and ``checkpoint`` itself
        gains the cosignatures while it is still that tree. Never a tree we did not
        sign (the log key must verify it), never older than the one kept.
        """
        opened = open_checkpoint(cosigned.encode(), origin=self._origin, verifiers=[self._verifier])
        with self._publish_lock:
            current, kept = self._published, self.witnessed
            if kept is not None and opened.size < kept.size:
                return
            if (current.size, current.root) == (opened.size, opened.root):
                current = opened
            self._storage.publish({WITNESSED: opened.encode()}, current.encode(), current.size)
            with self._cond:
                self._published, self.witnessed = current, opened

    def add_listener(self, callback: Callable[[SignedCheckpoint], None]) -> None:
        """Call ``callback(checkpoint)`` from the sequencer thread after each publish."""
        self._listeners.append(callback)

    def wait_published(self, size: int, timeout: float) -> SignedCheckpoint:
        """Block until a checkpoint of at least ``size`` is published.

        Raises:
            LogUnavailableError: not within ``timeout`` seconds, or the log failed.
        """
        deadline = self._clock() + timeout
        with self._cond:
            while self._published.size < size:
                left = deadline - self._clock()
                if left <= 0 or self._stopping:
                    reason = f": {self.failure}" if self.failure else ""
                    raise LogUnavailableError(f"entry {size - 1} is not published yet{reason}")
                self._cond.wait(left)
            return self._published

    def close(self) -> None:
        """Finish the queued entries, then stop."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join()

    # --- the thread ----------------------------------------------------------------
    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            if batch:
                self._sequence(batch)
            elif self.failure is not None:
                self._complete_unpublished_safely()

    def _next_batch(self) -> list[_Item] | None:
        """Wait for a full or old-enough batch; [] means "retry a failed publish"."""
        with self._cond:
            while True:
                if self.failure is not None and not self._stopping:
                    self._cond.wait(self._retry)
                    return []
                if self._queue:
                    age = self._clock() - self._queue[0][2]
                    if self._stopping or len(self._queue) >= self._batch_size:
                        break
                    if age >= self._batch_age:
                        break
                    self._cond.wait(self._batch_age - age)
                    continue
                if self._stopping:
                    return None
                self._cond.wait()
            n = min(len(self._queue), self._batch_size)
            return [self._queue.popleft() for _ in range(n)]

    def _sequence_durably(self, batch: list[_Item]) -> list[Sequenced] | None:
        """Index a batch durably and resolve its futures; None when the storage failed."""
        try:
            results = self._storage.sequence([entry for entry, _, _ in batch])
        except LogError as exc:
            log.error("log: sequencing %d entries failed: %s", len(batch), exc)
            for _, future, _ in batch:
                if future.set_running_or_notify_cancel():
                    future.set_exception(LogUnavailableError(str(exc)))
            return None
        for (_, future, _), result in zip(batch, results, strict=True):
            if future.set_running_or_notify_cancel():  # False: the caller gave up waiting
                future.set_result(result)  # the index is durable: tell the caller
        return results

    def _sequence(self, batch: list[_Item]) -> None:
        results = self._sequence_durably(batch)
        if results is None:
            return
        new = [
            entry.data for (entry, _, _), r in zip(batch, results, strict=True) if not r.duplicate
        ]
        if new:
            self._publish_safely(new)

    def _publish_safely(self, entries: list[bytes]) -> None:
        try:
            self._publish(entries)
        except LogError as exc:
            self._fail(exc)

    def _complete_unpublished_safely(self) -> None:
        try:
            self._edge = TreeEdge.load(self._published.size, self._storage.read)
            self._complete_unpublished()
        except LogError as exc:
            self._fail(exc)
            return
        with self._cond:
            self.failure = None
        log.warning("log: publishing works again at size %d", self._published.size)

    def _fail(self, exc: LogError) -> None:
        log.error("log: publishing failed, not accepting entries until it works: %s", exc)
        with self._cond:
            self.failure = exc
            self._cond.notify_all()

    def _complete_unpublished(self) -> None:
        """Integrate what is sequenced but in no published checkpoint (after a crash)."""
        start = self._published.size
        entries = self._storage.unintegrated(start)
        expected = self._storage.sequenced_size() - start
        if expected < 0 or len(entries) != expected:
            raise LogCorruptError(
                f"the log index holds {self._storage.sequenced_size()} entries, the published"
                f" tree {start} and the journal {len(entries)} more: they disagree"
            )
        if entries:
            log.info("log: completing %d sequenced entries after size %d", len(entries), start)
            self._publish(entries)

    def _publish(self, entries: list[bytes]) -> None:
        edge, files = self._edge.append(entries)
        signed = sign_extension(
            self._published, edge, files, self._storage.read, self._origin, self._signer
        )
        with self._publish_lock:
            self._storage.publish(files, signed.encode(), edge.size)
            with self._cond:
                self._edge, self._published = edge, signed
                self._cond.notify_all()
        for callback in self._listeners:
            callback(signed)
