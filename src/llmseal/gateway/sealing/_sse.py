"""Sealing an SSE stream as it passes: events forwarded, then one receipt comment.

The twin of :mod:`._ndjson` for ``text/event-stream`` answers; the :class:`~.sealing.Sealer`
opens one per streamed answer (:meth:`~.sealing.Sealer.open_stream`) and signs with it
at the end. Framing 2 (:mod:`llmseal.core.framing`): the receipt comment comes after
the last event — before ``data: [DONE]`` on chat and text completion streams, after
the terminal event on Anthropic and Responses API ones.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import orjson

from llmseal.core.canonical import loads
from llmseal.core.framing import comment_receipt, receipt_comment
from llmseal.core.hashing import TERMINAL_EVENTS, StreamHasher
from llmseal.core.receipt import Receipt
from llmseal.core.sse import SseSplitter, event_data
from llmseal.errors import ContentError
from llmseal.gateway.keys.keymap import StreamKey
from llmseal.gateway.sealing._protocol import UpstreamProtocolError

if TYPE_CHECKING:
    from llmseal.gateway.sealing.request import RequestInfo
    from llmseal.gateway.sealing.sealing import Sealer

__all__ = ["DONE_EVENT", "StreamSeal"]

DONE_EVENT = b"data: [DONE]\n\n"


class StreamSeal:
    """Seals one SSE stream while it passes through.

    ``feed`` returns the bytes to forward right away (events as the upstream sent
    them, the ``[DONE]`` event held back); ``finish`` returns the receipt comment
    followed by ``[DONE]``. A stream that ends without ``[DONE]`` is never sealed.
    A receipt comment from the upstream (a chained gateway) is not forwarded: it
    becomes a signed ``parents`` claim, so the stream carries one receipt.
    """

    media_type = b"text/event-stream"

    def __init__(self, sealer: Sealer, info: RequestInfo) -> None:
        self._sealer = sealer
        self._info = info
        self._splitter = SseSplitter()
        self._hasher = StreamHasher()
        self._usage: Any = None
        self._parents: list[Any] = []
        # Anthropic and Responses streams end with a terminal event, the others with [DONE].
        self._terminal = TERMINAL_EVENTS.get(info.endpoint)
        self.key = StreamKey(sealer.keys, info.endpoint, info.model)
        self.done = False
        self.first_chunk_s: float | None = None

    def feed(self, data: bytes) -> bytes:
        if self.done:
            return b""  # nothing after [DONE] is delivered
        try:
            events = self._splitter.feed(data)
        except ValueError as exc:
            raise UpstreamProtocolError(str(exc)) from exc
        forward: list[bytes] = []
        for event in events:
            payload = event_data(event)
            if payload is None:
                if not self._parent(event):
                    forward.append(event)  # comments and retry hints pass, unhashed
                continue
            if self._terminal is None and payload.strip() == b"[DONE]":
                self.done = True
                break
            chunk = self._add(payload)
            forward.append(event)
            if self._terminal is not None and chunk.get("type") in self._terminal:
                self.done = True
                break
        if forward and self.first_chunk_s is None:
            self.first_chunk_s = time.perf_counter() - self._info.started
        return b"".join(forward)

    def _parent(self, event: bytes) -> bool:
        """True for an upstream receipt comment (kept as a parent, never forwarded)."""
        try:
            found = comment_receipt(event)
        except ContentError:
            return True  # claims to be a receipt but is none: not ours to pass on
        if found is not None:
            self._parents.append(found.receipt)
        return found is not None

    def _add(self, payload: bytes) -> dict[str, Any]:
        try:
            chunk = loads(payload)
            self._hasher.add(chunk)
        except ContentError as exc:
            raise UpstreamProtocolError(f"upstream stream carried a non-JSON event: {exc}") from exc
        if not isinstance(chunk, dict):
            return {}
        self.key.see(chunk)  # before the event is forwarded: refusing delivers nothing of it
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
        return chunk

    async def finish(self, status: int, upstream_s: float) -> tuple[bytes, Receipt | None]:
        """The receipt comment (and ``[DONE]``); call only when ``done``. No receipt
        (and no comment) for an unmapped model passed unsigned."""
        if not self.done:
            raise UpstreamProtocolError("upstream stream ended early (no end-of-stream event)")
        model, key = self.key.final()
        claims = self._sealer.claims(self._info, status, upstream_s, self._usage)
        claims["stream"] = {
            "chunks": self._hasher.count,
            "first_chunk_us": int((self.first_chunk_s or 0.0) * 1e6),
        }
        self._sealer.check_upstream(
            self._parents[-1] if self._parents else None, self._info, self._hasher.hexdigest()
        )
        if self._parents:
            claims["parents"] = [*claims.get("parents", ()), *self._parents]
        if key is None:
            return (b"" if self._terminal is not None else DONE_EVENT), None
        receipt, receipt_json, evidence = await self._sealer.issue(
            self._info, self._hasher.hexdigest(), claims, key,
            self.key.served if model is None else model,
        )  # fmt: skip
        comment = receipt_comment(receipt_json, evidence)
        return (comment if self._terminal is not None else comment + DONE_EVENT), receipt

    @staticmethod
    def error_event(message: str) -> bytes:
        """An OpenAI-style error event: SDKs raise on it; no receipt follows."""
        body = {
            "error": {
                "message": message,
                "type": "llmseal_gateway_error",
                "code": "upstream_stream",
            }
        }
        return b"data: " + orjson.dumps(body) + b"\n\n"
