"""The upstream HTTP client: aiohttp, one pooled session per event loop.

aiohttp rather than httpx on purpose: on this hardware an aiohttp pass-through
proxy sustains ~7,000 req/s on one worker where the same proxy with httpx as the
upstream client manages 600-1,500 (issue 3, measured with throwaway prototypes).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

import aiohttp

from llmseal.errors import NetworkError

__all__ = ["Upstream", "UpstreamResponse", "UpstreamTimeout", "UpstreamUnreachable"]


class UpstreamUnreachable(NetworkError):
    """The upstream refused or dropped the connection."""


class UpstreamTimeout(NetworkError):
    """The upstream did not answer within the timeout."""


@dataclass(slots=True)
class UpstreamResponse:
    status: int
    headers: list[tuple[bytes, bytes]]
    content_type: str
    _response: aiohttp.ClientResponse

    async def read(self, limit: int) -> bytes:
        """The whole body; UpstreamUnreachable if it is larger than ``limit``."""
        length = self._response.content_length
        if length is not None and length > limit:
            raise UpstreamUnreachable(f"upstream response larger than {limit} bytes")
        try:
            body = await self._response.content.read(limit + 1)
        except TimeoutError as exc:  # first: aiohttp's timeouts are also ClientErrors
            raise UpstreamTimeout("upstream timed out") from exc
        except (aiohttp.ClientError, ConnectionError) as exc:
            raise UpstreamUnreachable(f"upstream connection failed: {exc}") from exc
        if len(body) > limit:
            raise UpstreamUnreachable(f"upstream response larger than {limit} bytes")
        return body

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        """Body chunks as they arrive (raises UpstreamUnreachable/Timeout mid-stream)."""
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except TimeoutError as exc:
            raise UpstreamTimeout("upstream stream timed out") from exc
        except (aiohttp.ClientError, ConnectionError) as exc:
            raise UpstreamUnreachable(f"upstream stream failed: {exc}") from exc

    def release(self) -> None:
        self._response.release()

    def close(self) -> None:
        self._response.close()


class Upstream:
    """Pooled connections to one OpenAI-compatible server."""

    def __init__(self, base_url: str, *, timeout: float, connect_timeout: float) -> None:
        base = base_url.rstrip("/")
        # All OpenAI routes start with /v1; accept the base URL with or without it.
        self.base_url = base[:-3] if base.endswith("/v1") else base
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, keepalive_timeout=30)
            self._session = aiohttp.ClientSession(
                connector=connector, auto_decompress=True, skip_auto_headers=("User-Agent",)
            )
        return self._session

    async def request(
        self,
        method: str,
        path_qs: str,
        headers: Iterable[tuple[str, str]],
        body: bytes,
        *,
        stream: bool,
    ) -> UpstreamResponse:
        """Send a request; the caller must ``release()`` or ``close()`` the response."""
        if stream:  # generation may be slow: bound the silence between chunks, not the total
            timeout = aiohttp.ClientTimeout(
                total=None, sock_connect=self._connect_timeout, sock_read=self._timeout
            )
        else:
            timeout = aiohttp.ClientTimeout(total=self._timeout, sock_connect=self._connect_timeout)
        try:
            response = await self._get_session().request(
                method,
                self.base_url + path_qs,
                headers=list(headers),
                data=body if body else None,
                timeout=timeout,
                allow_redirects=False,
            )
        except TimeoutError as exc:
            raise UpstreamTimeout(f"upstream {self.base_url} timed out") from exc
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, OSError) as exc:
            raise UpstreamUnreachable(f"upstream {self.base_url} unreachable: {exc}") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamUnreachable(f"upstream {self.base_url} failed: {exc}") from exc
        raw_headers = [(k.lower(), v) for k, v in response.raw_headers]
        return UpstreamResponse(response.status, raw_headers, response.content_type, response)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            await asyncio.sleep(0)
