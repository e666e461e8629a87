"""The reverse proxy's relay: one request forwarded, its answer relayed sealed or as is.

Split from :mod:`llmseal.gateway.app`, which routes and owns the worker's parts: the
relay uses four of them (the configuration's limits, the upstream, the sealer, the
metrics) and maps every failure of the upstream, the store or the log to the status
the client gets — 502/504 before anything is sent, an error event inside a stream
that has started. Never a receipt over an answer that was not delivered.
"""

from __future__ import annotations

import logging
import time

from llmseal.errors import LogUnavailableError, StoreError, UnmappedModelError
from llmseal.gateway.config.config import GatewayConfig
from llmseal.gateway.http._asgi import (
    BodyTooLarge,
    ClientDisconnected,
    DisconnectWatch,
    read_body,
    send_bytes,
    send_error,
)
from llmseal.gateway.http._types import Receive, Scope, Send
from llmseal.gateway.http.headers import request_headers, response_headers
from llmseal.gateway.http.upstream import (
    Upstream,
    UpstreamResponse,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from llmseal.gateway.observability.metrics import Metrics
from llmseal.gateway.sealing._ndjson import NDJSON, NdjsonSeal
from llmseal.gateway.sealing.sealing import (
    RequestInfo,
    Sealer,
    StreamSeal,
    UpstreamProtocolError,
)

__all__ = ["Relay"]

log = logging.getLogger("llmseal.gateway")


class Relay:
    """Forwards to the upstream and relays its answers for one gateway worker."""

    def __init__(
        self, config: GatewayConfig, upstream: Upstream, sealer: Sealer, metrics: Metrics
    ) -> None:
        self.config = config
        self.upstream = upstream
        self.sealer = sealer
        self.metrics = metrics
        self.request_fields = config.request_fields

    async def forward(
        self, scope: Scope, body: bytes, *, stream: bool, send: Send
    ) -> UpstreamResponse | int:
        headers = request_headers(scope["headers"], self.request_fields)
        target: bytes = scope.get("raw_path") or scope["path"].encode()
        query: bytes = scope.get("query_string") or b""
        if query:
            target += b"?" + query
        try:
            return await self.upstream.request(
                scope["method"], target, headers, body, stream=stream
            )
        except (UpstreamTimeout, UpstreamUnreachable) as exc:
            return await self.upstream_failed(send, exc)

    async def upstream_failed(self, send: Send, exc: UpstreamTimeout | UpstreamUnreachable) -> int:
        """504 for a timeout, 502 for anything else the upstream did; never a receipt."""
        if isinstance(exc, UpstreamTimeout):
            self.metrics.upstream_error("timeout")
            return await send_error(send, 504, str(exc), "upstream_timeout")
        self.metrics.upstream_error("unreachable")
        return await send_error(send, 502, str(exc), "upstream_unreachable")

    async def relay_body(
        self,
        info: RequestInfo,
        response: UpstreamResponse,
        send: Send,
        forwarded: float,
        watch: DisconnectWatch,
    ) -> int:
        try:
            raw = await response.read(self.config.max_response_bytes)
        except (UpstreamTimeout, UpstreamUnreachable) as exc:
            return await self.upstream_failed(send, exc)
        if watch.gone:  # nobody to deliver to: sign nothing
            return 499
        try:
            delivered, receipt = await self.sealer.seal_body(
                info, response.status, raw, time.perf_counter() - forwarded
            )
        except UnmappedModelError as exc:  # served a model without a key: not delivered
            self.metrics.upstream_error("unmapped_model")
            return await send_error(send, 502, str(exc), "unmapped_model")
        except UpstreamProtocolError as exc:
            self.metrics.upstream_error("invalid_response")
            return await send_error(send, 502, str(exc), "upstream_invalid_response")
        except StoreError as exc:
            self.metrics.store_error()
            log.error("receipt store failed: %s", exc)
            return await send_error(
                send,
                503,
                "the receipt could not be stored; no response was sealed",
                "store_unavailable",
            )
        except LogUnavailableError as exc:  # only with --log-inline: the log is required
            log.error("transparency log failed: %s", exc)
            return await send_error(send, 503, str(exc), "log_unavailable")
        headers = response_headers(response.headers, sealed=True)
        if receipt is not None:
            headers.append((b"x-receipt-id", receipt.receipt_id.encode()))
        await send_bytes(send, response.status, delivered, headers=headers)
        return response.status

    async def relay_stream(
        self,
        seal: StreamSeal | NdjsonSeal,
        response: UpstreamResponse,
        send: Send,
        forwarded: float,
        watch: DisconnectWatch,
    ) -> int:
        media = b"text/event-stream; charset=utf-8" if seal.media_type != NDJSON else NDJSON
        headers = [
            (b"content-type", media),
            (b"cache-control", b"no-cache"),
            (b"x-accel-buffering", b"no"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        try:
            async for chunk in response.iter_chunks():
                if watch.gone:  # stop generating for nobody; the stream is never sealed
                    return 499
                out = seal.feed(chunk)
                if out:
                    await send({"type": "http.response.body", "body": out, "more_body": True})
                if seal.done:
                    break
            if watch.gone:
                return 499
            tail, _ = await seal.finish(200, time.perf_counter() - forwarded)
        except UnmappedModelError as exc:
            self.metrics.upstream_error("unmapped_model")
            tail = seal.error_event(f"{exc}; the stream is not delivered")
        except (UpstreamProtocolError, UpstreamUnreachable, UpstreamTimeout) as exc:
            self.metrics.upstream_error("stream_cut")
            tail = seal.error_event(f"upstream stream failed, no receipt: {exc}")
        except StoreError as exc:
            self.metrics.store_error()
            log.error("receipt store failed: %s", exc)
            tail = seal.error_event("the receipt could not be stored; the stream is not sealed")
        except LogUnavailableError as exc:
            log.error("transparency log failed: %s", exc)
            tail = seal.error_event(f"{exc}; the stream is not sealed")
        await send({"type": "http.response.body", "body": tail, "more_body": False})
        return 200

    async def passthrough(
        self, scope: Scope, receive: Receive, send: Send, body: bytes | None
    ) -> int:
        if body is None:
            try:
                body = await read_body(scope, receive, self.config.max_request_bytes)
            except BodyTooLarge:
                return await send_error(send, 413, "request body too large", "too_large")
            except ClientDisconnected:
                return 499
        response = await self.forward(scope, body, stream=True, send=send)
        if isinstance(response, int):
            return response
        try:
            headers = response_headers(response.headers, sealed=False)
            await send(
                {"type": "http.response.start", "status": response.status, "headers": headers}
            )
            try:
                async for chunk in response.iter_chunks():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            except (UpstreamUnreachable, UpstreamTimeout):
                self.metrics.upstream_error("stream_cut")
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return response.status
        finally:
            response.close()
