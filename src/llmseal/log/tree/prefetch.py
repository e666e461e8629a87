"""Fetching a log's resources ahead of use, a few at a time, in the order they are read.

A monitor catching up reads two resources per 256 entries (the bundle, then the
level-0 tile); one after the other, each waits out a full round trip. A small
window of requests in flight on a few threads (``httpx`` pools the
connections) hides that latency; the window bounds the memory held.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from llmseal.log.tree.tilereader import Fetch

__all__ = ["Prefetch"]


class Prefetch:
    """``get(path)``: the prefetched bytes when ``path`` was announced, else a plain fetch."""

    def __init__(
        self, fetch: Fetch, order: Iterable[str], *, workers: int = 6, window: int = 24
    ) -> None:
        self._fetch = fetch
        self._order: Iterator[str] = iter(order)
        self._window = window
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llmseal-fetch")
        self._queue: deque[tuple[str, Future[bytes]]] = deque()
        self._fill()

    def _fill(self) -> None:
        while len(self._queue) < self._window:
            path = next(self._order, None)
            if path is None:
                return
            self._queue.append((path, self._pool.submit(self._fetch, path)))

    def get(self, path: str) -> bytes:
        if self._queue and self._queue[0][0] == path:
            _, future = self._queue.popleft()
            self._fill()
            return future.result()  # re-raises the fetch's own error
        return self._fetch(path)

    def close(self) -> None:
        for _, future in self._queue:
            future.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Prefetch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
