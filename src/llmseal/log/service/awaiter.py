"""Waiting for a checkpoint from an event loop, without a thread per waiter.

The sequencer publishes on its own thread; :class:`PublicationAwaiter` hands each
new checkpoint to the loop (``call_soon_threadsafe``) and wakes the coroutines
waiting for a tree at least that large. Used for ``--log-inline`` (the gateway
waits for its receipt's proof) and ``GET /proof/<id>?wait=N``.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools

from llmseal.errors import LogUnavailableError
from llmseal.log.note.checkpoint import SignedCheckpoint
from llmseal.log.service.sequencer import Sequencer

__all__ = ["PublicationAwaiter"]


class PublicationAwaiter:
    """Await ``size`` being published; create it on the loop that will wait."""

    def __init__(self, sequencer: Sequencer) -> None:
        self._sequencer = sequencer
        self._loop = asyncio.get_running_loop()
        self._waiting: list[tuple[int, int, asyncio.Future[SignedCheckpoint]]] = []
        self._order = itertools.count()
        sequencer.add_listener(self._published_threadsafe)

    async def wait(self, size: int, timeout: float) -> SignedCheckpoint:
        """The first checkpoint of at least ``size`` entries.

        Raises:
            LogUnavailableError: none within ``timeout`` seconds.
        """
        current = self._sequencer.published
        if current.size >= size:
            return current
        future: asyncio.Future[SignedCheckpoint] = self._loop.create_future()
        heapq.heappush(self._waiting, (size, next(self._order), future))
        self._wake(self._sequencer.published)  # it may have been published meanwhile
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            reason = f": {self._sequencer.failure}" if self._sequencer.failure else ""
            raise LogUnavailableError(
                f"no checkpoint of size {size} within {timeout} s{reason}"
            ) from None

    def _published_threadsafe(self, checkpoint: SignedCheckpoint) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting
            self._loop.call_soon_threadsafe(self._wake, checkpoint)

    def _wake(self, checkpoint: SignedCheckpoint) -> None:
        while self._waiting and self._waiting[0][0] <= checkpoint.size:
            _, _, future = heapq.heappop(self._waiting)
            if not future.done():
                future.set_result(checkpoint)
