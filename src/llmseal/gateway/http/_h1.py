"""A lean HTTP/1.1 keep-alive client for the one upstream a gateway talks to.

Why not a general client: per proxied request aiohttp builds a request object, a
response object, timers, cookie jars and trace hooks — measured at ~100 µs of a
~400 µs budget. This client writes one buffer per request and parses the answer
with ``httptools`` (llhttp, the parser uvicorn uses), nothing else.

Semantics kept: keep-alive pooling, chunked and content-length and
close-delimited bodies, back-pressure on streams (``pause_reading``), a connect
timeout, a total deadline (whole answer) or a per-read timeout (streams), and one
retry on a *reused* connection that the server closed before answering — the
only case where resending is safe, because the server never saw the request.

What a connection must never do is carry one exchange's bytes into the next
(RFC 9112 §9.3): interim 1xx responses are consumed before the parser
(:mod:`llmseal.gateway.http._interim`), a connection goes back to the pool only when
its final response was read to its end and nothing followed it, and bytes that
arrive when no response is expected make the connection unusable.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Iterable

import httptools

from llmseal.gateway.http._h1response import H1Response, UpstreamClosed, UpstreamTimedOut
from llmseal.gateway.http._interim import InterimSkipper, UnexpectedInterim

__all__ = ["H1Pool", "H1Response", "UpstreamClosed", "UpstreamTimedOut"]

MAX_HEADER_BYTES = 64 << 10
"""Response head size (fields of the final response) before the answer is refused."""
MAX_HEADERS = 256


def _close_delimited(headers: list[tuple[bytes, bytes]]) -> bool:
    """No framing in the head: neither Content-Length nor a transfer coding."""
    return not any(name in (b"content-length", b"transfer-encoding") for name, _ in headers)


class _Connection(asyncio.Protocol):
    def __init__(self, pool: H1Pool) -> None:
        self._pool = pool
        self._parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.response: H1Response | None = None
        self.closed = False
        self.reused = False
        self._paused = False
        self._interim = InterimSkipper()
        self._head_bytes = 0
        self._broken: str | None = None  # why the exchange is unusable, found in a callback

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        response = self.response
        if response is None:  # bytes nobody asked for: the connection is unusable
            self.abort()
            return
        response.got_bytes = True
        try:
            data = self._interim.feed(data)
            if data:
                self._parser.feed_data(data)
        except UnexpectedInterim as exc:
            self._refuse(str(exc))
        except httptools.HttpParserError as exc:
            self._refuse(self._broken or f"upstream sent invalid HTTP: {exc}")

    def _refuse(self, reason: str) -> None:
        """The exchange cannot be trusted: fail the response, never reuse the connection."""
        if self.response is not None:
            self.response._fail(UpstreamClosed(reason))
        self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        response = self.response
        if response is None or response.complete:
            return
        if exc is None and response.until_close and self._broken is None:
            # RFC 9112 §6.3 (8): no Content-Length, not chunked — the body ends with
            # the connection. A clean close is its end (a reset is not).
            response._finish()
            return
        response._fail(UpstreamClosed(f"upstream closed the connection: {exc or 'EOF'}"))

    # httptools callbacks (an exception raised here makes feed_data raise)
    def on_message_begin(self) -> None:
        assert self.response is not None
        if self.response.complete:  # bytes after the final response: nobody asked for them
            self._broken = "upstream sent more than one response to one request"
            raise UpstreamClosed(self._broken)

    def on_header(self, name: bytes, value: bytes) -> None:
        assert self.response is not None
        headers = self.response.headers
        self._head_bytes += len(name) + len(value)
        if self._head_bytes > MAX_HEADER_BYTES or len(headers) >= MAX_HEADERS:
            self._broken = (
                f"upstream response head over {MAX_HEADER_BYTES} bytes or {MAX_HEADERS} fields"
            )
            raise UpstreamClosed(self._broken)
        headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        response = self.response
        assert response is not None
        response.status = self._parser.get_status_code()
        if response.status < 200:  # every 1xx was consumed before the parser: this is malformed
            self._broken = f"upstream sent a malformed interim response ({response.status})"
            raise UpstreamClosed(self._broken)
        response.keep_alive = self._parser.should_keep_alive()
        response.until_close = not response.keep_alive and _close_delimited(response.headers)
        response.headers_done = True
        response._wake()

    def on_body(self, body: bytes) -> None:
        assert self.response is not None
        self.response._feed(body)

    def on_message_complete(self) -> None:
        assert self.response is not None
        self.response._finish()

    # flow control
    def pause(self) -> None:
        if not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()

    def resume(self) -> None:
        if self._paused and self.transport is not None and not self.closed:
            self._paused = False
            self.transport.resume_reading()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def done(self, response: H1Response) -> None:
        if self.response is not response:
            return
        self.response = None
        clean = response.complete and response._error is None and self._broken is None
        if clean and response.keep_alive and not self.closed and not self._paused:
            self._parser = httptools.HttpResponseParser(self)
            self._interim = InterimSkipper()
            self._head_bytes = 0
            self.reused = True
            self._pool._idle.append(self)
        else:
            self.abort()


class H1Pool:
    """Keep-alive connections to one host."""

    def __init__(
        self, host: str, port: int, *, tls: bool, connect_timeout: float, host_header: bytes
    ) -> None:
        self.host = host
        self.port = port
        self._ssl = ssl.create_default_context() if tls else None
        self._connect_timeout = connect_timeout
        self._host_header = host_header
        self._idle: deque[_Connection] = deque()

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _Connection(self), self.host, self.port, ssl=self._ssl
                ),
                self._connect_timeout,
            )
        except TimeoutError:
            raise UpstreamTimedOut(f"connecting to {self.host}:{self.port} timed out") from None
        except OSError as exc:
            raise UpstreamClosed(
                f"cannot connect to {self.host}:{self.port}: {exc.strerror or exc}"
            ) from exc
        return conn

    def _encode(
        self, method: str, target: bytes, headers: Iterable[tuple[bytes, bytes]], body: bytes
    ) -> bytes:
        lines = [method.encode("ascii"), b" ", target, b" HTTP/1.1\r\nhost: ", self._host_header]
        lines.append(b"\r\ncontent-length: " + str(len(body)).encode() + b"\r\n")
        for name, value in headers:
            lines += (name, b": ", value, b"\r\n")
        lines += (b"\r\n", body)
        return b"".join(lines)

    async def request(
        self,
        method: str,
        target: bytes,
        headers: Iterable[tuple[bytes, bytes]],
        body: bytes,
        *,
        total_timeout: float | None,
        read_timeout: float | None,
    ) -> H1Response:
        """Send a request and wait for the response headers."""
        payload = self._encode(method, target, headers, body)
        loop = asyncio.get_running_loop()
        deadline = None if total_timeout is None else loop.time() + total_timeout
        for _attempt in range(2):
            conn = self._idle.pop() if self._idle else await self._connect()
            while conn.closed and self._idle:
                conn = self._idle.pop()
            if conn.closed:
                conn = await self._connect()
            response = H1Response(conn, deadline, read_timeout)
            conn.response = response
            assert conn.transport is not None
            conn.transport.write(payload)
            try:
                await response.wait_headers()
                return response
            except UpstreamClosed:
                if conn.reused and not response.got_bytes:
                    continue  # the server had closed this idle connection: resend once
                raise
            except BaseException:  # cancelled or timed out: the connection is mid-exchange
                conn.abort()
                raise
        raise UpstreamClosed(f"{self.host}:{self.port} closed the connection twice")

    def close(self) -> None:
        while self._idle:
            self._idle.pop().abort()
