"""Getting a log's checkpoints cosigned on a clock of its own, beside the log.

The public witness network asks logs for about one ``add-checkpoint`` per 10 s,
not one per batch (transparency-dev/witness-network; Tessera's default
checkpoint interval is 10 s too). So :class:`Witnessing` wakes every
``interval`` seconds, takes the log's latest published checkpoint, asks the
witnesses that have not cosigned it yet (:class:`~.witnessclient.WitnessClient`)
and hands the merged note to ``on_cosigned`` — the log's hook that republishes
its checkpoint with the cosignatures and serves proofs against it.

The log never waits for this: sequencing and publishing go on whatever the
witnesses do; a witness that was down is asked again on the next tick, with a
consistency proof from the size it last cosigned to whatever the log is now.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from llmseal.log.note.checkpoint import SignedCheckpoint
from llmseal.log.tree.merkle import consistency_proof
from llmseal.log.tree.tilereader import TileHashReader
from llmseal.log.witness.witnessclient import WitnessClient, cosigned_by, merge_cosignatures
from llmseal.log.witness.witnesspolicy import WitnessPolicy

if TYPE_CHECKING:
    from llmseal.log.service.service import TransparencyLog

__all__ = ["DEFAULT_INTERVAL", "Witnessing", "witnessing_for"]

log = logging.getLogger("llmseal.log.witness.witness")
DEFAULT_INTERVAL = 10.0


class Witnessing:
    """The cosigning loop for one log."""

    def __init__(
        self,
        client: WitnessClient,
        latest: Callable[[], SignedCheckpoint],
        on_cosigned: Callable[[SignedCheckpoint], None],
        *,
        interval: float = DEFAULT_INTERVAL,
    ) -> None:
        self.client = client
        self._latest = latest
        self._on_cosigned = on_cosigned
        self.interval = interval
        self.cosigned: SignedCheckpoint | None = None
        """The newest checkpoint any witness cosigned, with every cosignature we have."""
        self.rounds = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    async def tick(self) -> SignedCheckpoint | None:
        """One round; the newly cosigned checkpoint, or None if nothing changed."""
        current = self._latest()
        previous = self.cosigned
        if previous is not None and (previous.size, previous.root) == (current.size, current.root):
            current = merge_cosignatures(current, previous.note.signatures)
        done = cosigned_by(current.note, self.client.policy)
        if {w.name for w in self.client.witnesses} <= done:
            return None
        self.rounds += 1
        result = await self.client.cosign(current, skip=done)
        if cosigned_by(result.note, self.client.policy) == done:
            return None
        self.cosigned = result
        try:
            self._on_cosigned(result)
        except Exception:  # the hook belongs to the log: report, keep witnessing
            log.exception("publishing the cosigned checkpoint of size %d failed", result.size)
        return result

    async def run(self, stop: asyncio.Event) -> None:
        """Tick every ``interval`` seconds until ``stop`` is set."""
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:  # never let one bad round end witnessing
                log.exception("witnessing round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)

    def start(self) -> None:
        """Run in a thread of its own (for logs whose sequencer is not asyncio)."""
        ready = threading.Event()

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop, self._stop = loop, asyncio.Event()
            ready.set()
            try:
                loop.run_until_complete(self.run(self._stop))
            finally:
                loop.close()

        self._thread = threading.Thread(target=main, name="llmseal-witnessing", daemon=True)
        self._thread.start()
        ready.wait()

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


def witnessing_for(
    tlog: TransparencyLog,
    policy: WitnessPolicy,
    *,
    interval: float = DEFAULT_INTERVAL,
    timeout: float = 5.0,
) -> Witnessing:
    """The cosigning loop of a running log: proofs from its tiles, results into its
    published checkpoints (:meth:`~.sequencer.Sequencer.add_cosigned`)."""
    sequencer = tlog.sequencer

    def prove(old: int, new: int) -> list[bytes]:
        return consistency_proof(old, new, TileHashReader(tlog.read, new, cache=sequencer.cache))

    client = WitnessClient(policy, prove, timeout=timeout)
    return Witnessing(client, lambda: sequencer.published, sequencer.add_cosigned,
                      interval=interval)  # fmt: skip
