"""One sealed exchange inside :class:`~llmseal.gateway.middleware.ReceiptMiddleware`.

The middleware has read the request body (to hash it) before the wrapped app runs,
so the app gets it back through :func:`replay_body`; the app's response messages go
through :class:`Exchange`, which holds a JSON answer until it is sealed, seals a
stream as it passes, and makes sure the client's response is complete when the app
returns — sealed, or an error, never an answer that claims a receipt it lacks.
"""

from __future__ import annotations

import logging
import time

from llmseal.errors import StoreError, UnmappedModelError
from llmseal.gateway.http._asgi import send_error
from llmseal.gateway.http._types import Message, Receive, Send
from llmseal.gateway.sealing._ndjson import NdjsonSeal
from llmseal.gateway.sealing.sealing import RequestInfo, Sealer, StreamSeal, UpstreamProtocolError

__all__ = ["Exchange", "replay_body"]

log = logging.getLogger("llmseal.gateway")


def replay_body(body: bytes, receive: Receive) -> Receive:
    """The app's ``receive``: the body already read, then the client's own messages."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # later calls wait for the client to disconnect

    return replay


class Exchange:
    """Rewrites the app's response messages for one request."""

    def __init__(self, sealer: Sealer, info: RequestInfo, send: Send) -> None:
        self.sealer = sealer
        self.info = info
        self._send = send
        self._start: Message | None = None
        self._chunks: list[bytes] = []
        self._stream: StreamSeal | NdjsonSeal | None = None
        self._status = 200
        self._finished = False

    async def send(self, message: Message) -> None:
        if self._finished:
            return
        if message["type"] == "http.response.start":
            await self._on_start(message)
        elif message["type"] == "http.response.body":
            if self._stream is not None:
                await self._on_stream_body(message)
            elif self._start is not None:
                self._chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    await self._seal_json()
            else:
                await self._send(message)
        else:
            await self._send(message)

    async def _on_start(self, message: Message) -> None:
        content_type = _header(message, b"content-type")
        seal = self.sealer.open_stream(self.info)
        if content_type.startswith(seal.media_type):
            self._stream = seal
            self._status = int(message["status"])
            headers = [
                (k, v) for k, v in message.get("headers", []) if k.lower() != b"content-length"
            ]
            await self._send({**message, "headers": headers})
        elif content_type.startswith(b"application/json"):
            self._start = message  # held until the body is sealed
        else:
            await self._send(message)

    async def _seal_json(self) -> None:
        assert self._start is not None
        start, self._finished = self._start, True
        raw = b"".join(self._chunks)
        status = int(start["status"])
        try:
            body, receipt = await self.sealer.seal_body(self.info, status, raw, self._elapsed())
        except UnmappedModelError as exc:  # the app served a model without a key
            await send_error(self._send, 502, str(exc), "unmapped_model")
            return
        except UpstreamProtocolError as exc:  # not a JSON object, or a hop refused the seal
            log.warning("response of %s delivered unsigned: %s", self.info.endpoint, exc)
            body, extra = raw, []
        except StoreError as exc:
            log.error("receipt store failed: %s", exc)
            await send_error(
                self._send, 503, "the receipt could not be stored", "store_unavailable"
            )
            return
        else:
            extra = [] if receipt is None else [(b"x-receipt-id", receipt.receipt_id.encode())]
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers += [(b"content-length", str(len(body)).encode()), *extra]
        await self._send({**start, "headers": headers})
        await self._send({"type": "http.response.body", "body": body, "more_body": False})

    async def _on_stream_body(self, message: Message) -> None:
        assert self._stream is not None
        more = message.get("more_body", False)
        try:
            out = self._stream.feed(message.get("body", b""))
            if out:
                await self._send({"type": "http.response.body", "body": out, "more_body": True})
            if not self._stream.done and more:
                return
            tail, _ = await self._stream.finish(self._status, self._elapsed())
        except UnmappedModelError as exc:
            tail = self._stream.error_event(f"{exc}; the stream is not delivered")
        except UpstreamProtocolError as exc:
            tail = self._stream.error_event(f"stream not sealed: {exc}")
        except StoreError:
            tail = self._stream.error_event(
                "the receipt could not be stored; the stream is not sealed"
            )
        self._finished = True
        await self._send({"type": "http.response.body", "body": tail, "more_body": False})

    async def close(self) -> None:
        """The app returned: make sure the client's response is complete."""
        if self._finished:
            return
        if self._start is not None:
            await self._seal_json()
        elif self._stream is not None:
            self._finished = True
            tail = self._stream.error_event(
                "stream ended early (no end-of-stream event); not sealed"
            )
            await self._send({"type": "http.response.body", "body": tail, "more_body": False})

    def _elapsed(self) -> float:
        return time.perf_counter() - self.info.started


def _header(message: Message, name: bytes) -> bytes:
    for key, value in message.get("headers", []):
        if key.lower() == name:
            return bytes(value).lower()
    return b""
