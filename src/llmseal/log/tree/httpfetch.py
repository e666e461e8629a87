"""Reading a tile log (or a witness's monitoring prefix) over HTTP, as a :data:`Fetch`.

One keep-alive ``httpx`` client per prefix. Every answer is bounded (a tile log
resource is at most a 256-entry bundle of 65,535-byte entries; a checkpoint at
most a 1 MiB note), gzip is decoded as tlog-tiles allows, redirects are not
followed, and a 404 is a :class:`~llmseal.errors.LogError` like a missing file.
Nothing fetched is trusted: callers verify it against a signed checkpoint.
"""

from __future__ import annotations

import httpx

from llmseal.errors import LogError, NetworkError
from llmseal.log.note.note import MAX_NOTE_BYTES
from llmseal.log.tree.tiles import MAX_ENTRY_SIZE, TILE_WIDTH

__all__ = ["MAX_RESOURCE_BYTES", "HttpFetch"]

MAX_RESOURCE_BYTES = max(MAX_NOTE_BYTES, TILE_WIDTH * (2 + MAX_ENTRY_SIZE))


class HttpFetch:
    """``fetch(path)`` → the bytes at ``<prefix>/<path>``."""

    def __init__(self, prefix: str, *, timeout: float = 30.0) -> None:
        if not prefix.startswith(("http://", "https://")):
            raise NetworkError(f"not an http(s) URL: {prefix[:100]!r}")
        self.prefix = prefix.rstrip("/")
        self._client = httpx.Client(timeout=timeout, follow_redirects=False)
        self.requests = 0
        self.bytes = 0

    def __call__(self, path: str) -> bytes:
        url = f"{self.prefix}/{path}"
        self.requests += 1
        try:
            with self._client.stream("GET", url) as response:
                if response.status_code == 404:
                    raise LogError(f"{url} is not there (HTTP 404)")
                if response.status_code != 200:
                    raise NetworkError(f"GET {url} answered HTTP {response.status_code}")
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():  # decoded: the limit holds after gzip
                    size += len(chunk)
                    if size > MAX_RESOURCE_BYTES:
                        raise LogError(f"{url} is larger than any tile log resource")
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise NetworkError(f"cannot fetch {url}: {exc}") from exc
        self.bytes += size
        return b"".join(chunks)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpFetch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
