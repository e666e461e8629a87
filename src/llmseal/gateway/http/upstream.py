"""The upstream OpenAI-compatible server, as the gateway sees it.

Built on :mod:`llmseal.gateway.http._h1` rather than a general HTTP client: the issue's
prototypes measured an aiohttp pass-through at ~7,000 req/s per worker against
600-1,500 for httpx, and a dedicated keep-alive client trims the per-request
cost further (see ``llmseal bench``). Errors become the two kinds the gateway
maps to status codes: unreachable (502) and timeout (504).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from urllib.parse import urlsplit

from llmseal.errors import ConfigError, NetworkError
from llmseal.gateway.http._h1 import H1Pool, H1Response, UpstreamClosed, UpstreamTimedOut

__all__ = ["Upstream", "UpstreamResponse", "UpstreamTimeout", "UpstreamUnreachable"]


class UpstreamUnreachable(NetworkError):
    """The upstream refused, dropped or garbled the exchange."""


class UpstreamTimeout(NetworkError):
    """The upstream did not answer within the timeout."""


class UpstreamResponse:
    """Status, headers and body of one upstream answer."""

    __slots__ = ("_inner",)

    def __init__(self, inner: H1Response) -> None:
        self._inner = inner

    @property
    def status(self) -> int:
        return self._inner.status

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        return self._inner.headers

    @property
    def content_type(self) -> str:
        return self._inner.content_type

    async def read(self, limit: int) -> bytes:
        try:
            return await self._inner.read(limit)
        except UpstreamTimedOut as exc:
            raise UpstreamTimeout(str(exc)) from exc
        except UpstreamClosed as exc:
            raise UpstreamUnreachable(str(exc)) from exc

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner.iter_chunks():
                yield chunk
        except UpstreamTimedOut as exc:
            raise UpstreamTimeout(str(exc)) from exc
        except UpstreamClosed as exc:
            raise UpstreamUnreachable(str(exc)) from exc

    def close(self) -> None:
        """Done with this answer: the connection goes back to the pool if it can."""
        self._inner.release()


class Upstream:
    """Pooled keep-alive connections to one OpenAI-compatible server."""

    def __init__(self, base_url: str, *, timeout: float, connect_timeout: float) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"upstream must be an http(s) URL, not {base_url!r}")
        tls = parts.scheme == "https"
        port = parts.port or (443 if tls else 80)
        prefix = parts.path.rstrip("/")
        # All OpenAI routes start with /v1; accept the base URL with or without it.
        self._prefix = (prefix[:-3] if prefix.endswith("/v1") else prefix).encode()
        self.base_url = base_url
        self._timeout = timeout
        self._pool = H1Pool(
            parts.hostname,
            port,
            tls=tls,
            connect_timeout=connect_timeout,
            host_header=(parts.netloc.rsplit("@", 1)[-1]).encode("idna"),
        )

    async def request(
        self,
        method: str,
        target: bytes,
        headers: Iterable[tuple[bytes, bytes]],
        body: bytes,
        *,
        stream: bool,
    ) -> UpstreamResponse:
        """Send a request; the caller must ``close()`` the response."""
        try:
            inner = await self._pool.request(
                method,
                self._prefix + target,
                headers,
                body,
                # generation may be slow: bound the silence between chunks, not the total
                total_timeout=None if stream else self._timeout,
                read_timeout=self._timeout if stream else None,
            )
        except UpstreamTimedOut as exc:
            raise UpstreamTimeout(f"upstream {self.base_url}: {exc}") from exc
        except UpstreamClosed as exc:
            raise UpstreamUnreachable(f"upstream {self.base_url}: {exc}") from exc
        return UpstreamResponse(inner)

    async def close(self) -> None:
        self._pool.close()
