"""One upstream response as the gateway consumes it, fed by the connection that reads it.

Split from :mod:`llmseal.gateway.http._h1` (the connection and the pool): the
response buffers body bytes up to a high-water mark (then pauses reading),
wakes the consumer with a plain future and enforces the deadline with a timer.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from typing import Protocol

__all__ = ["H1Response", "UpstreamClosed", "UpstreamTimedOut"]

_HIGH_WATER = 1 << 20


class _Connection(Protocol):
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def abort(self) -> None: ...
    def done(self, response: H1Response) -> None: ...


class UpstreamClosed(Exception):
    """The connection failed or closed before the answer was complete."""


class UpstreamTimedOut(Exception):
    """No answer (or no next chunk) within the timeout."""


class H1Response:
    """One response; body consumed with :meth:`read` or :meth:`iter_chunks`."""

    def __init__(
        self, conn: _Connection, deadline: float | None, read_timeout: float | None
    ) -> None:
        self._conn = conn
        self._deadline = deadline
        self._read_timeout = read_timeout
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.keep_alive = False
        self.until_close = False  # the body ends when the connection does
        self.headers_done = False
        self.complete = False
        self.got_bytes = False
        self._error: BaseException | None = None
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._waiter: asyncio.Future[None] | None = None

    @property
    def content_type(self) -> str:
        for name, value in self.headers:
            if name == b"content-type":
                return value.split(b";", 1)[0].strip().decode("latin-1").lower()
        return ""

    # --- fed by the protocol -------------------------------------------------
    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _feed(self, data: bytes) -> None:
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered > _HIGH_WATER:
            self._conn.pause()
        self._wake()

    def _finish(self) -> None:
        self.complete = True
        self._wake()

    def _fail(self, error: BaseException) -> None:
        if not self.complete:
            self._error = error
        self._wake()

    # --- consumed by the gateway ---------------------------------------------
    async def _wait(self) -> None:
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timeout = self._read_timeout
        if self._deadline is not None:
            timeout = self._deadline - loop.time()
        # A plain timer rather than asyncio.wait_for, which wraps every wait in a
        # new task: measurably slower at two waits per proxied request.
        timer = (
            None if timeout is None else loop.call_later(max(timeout, 0.0), self._expire, waiter)
        )
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

    def _expire(self, waiter: asyncio.Future[None]) -> None:
        if not waiter.done():
            self._conn.abort()
            waiter.set_exception(UpstreamTimedOut("upstream timed out"))

    async def wait_headers(self) -> None:
        while not self.headers_done:
            if self._error is not None:
                raise self._error
            await self._wait()

    def _take(self) -> bytes:
        data = b"".join(self._chunks) if len(self._chunks) != 1 else self._chunks[0]
        self._chunks.clear()
        self._buffered = 0
        self._conn.resume()
        return data

    async def read(self, limit: int) -> bytes:
        """The whole body; UpstreamClosed if it is larger than ``limit``."""
        parts: list[bytes] = []
        size = 0
        while True:
            if self._chunks:
                data = self._take()
                size += len(data)
                if size > limit:
                    self._conn.abort()
                    raise UpstreamClosed(f"upstream response larger than {limit} bytes")
                parts.append(data)
            if self.complete:
                return b"".join(parts) if len(parts) != 1 else parts[0]
            if self._error is not None:
                raise self._error
            await self._wait()

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        """Body bytes as they arrive."""
        while True:
            if self._chunks:
                yield self._take()
                continue
            if self.complete:
                return
            if self._error is not None:
                raise self._error
            await self._wait()

    def release(self) -> None:
        """Return the connection to the pool if the exchange ended cleanly, else drop it."""
        self._conn.done(self)
