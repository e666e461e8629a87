"""Sealing an NDJSON stream (Ollama's ``/api/chat``, ``/api/generate``) as it passes.

The twin of :class:`llmseal.gateway.sealing._sse.StreamSeal` for newline-delimited
JSON: lines are forwarded as the upstream sent them; the stream is complete at
the line with ``"done": true``; then comes the receipt line
(:mod:`llmseal.core.ndjson`). An upstream receipt line (a chained gateway) is
not forwarded but signed as a ``parents`` claim.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import orjson

from llmseal.core.canonical import loads
from llmseal.core.hashing import StreamHasher
from llmseal.core.ndjson import LineSplitter, line_receipt, receipt_line
from llmseal.core.receipt import Receipt
from llmseal.errors import ContentError
from llmseal.gateway.keys.keymap import StreamKey
from llmseal.gateway.sealing._protocol import UpstreamProtocolError

if TYPE_CHECKING:
    from llmseal.gateway.sealing.request import RequestInfo
    from llmseal.gateway.sealing.sealing import Sealer

__all__ = ["NDJSON", "NdjsonSeal"]

NDJSON = b"application/x-ndjson"


class NdjsonSeal:
    """Seals one NDJSON stream; same interface as ``StreamSeal``."""

    media_type = NDJSON

    def __init__(self, sealer: Sealer, info: RequestInfo) -> None:
        self._sealer = sealer
        self._info = info
        self._splitter = LineSplitter()
        self._hasher = StreamHasher()
        self._last: dict[str, Any] = {}
        self._parents: list[Any] = []
        self.key = StreamKey(sealer.keys, info.endpoint, info.model)
        self.done = False
        self.first_chunk_s: float | None = None

    def feed(self, data: bytes) -> bytes:
        if self.done:
            return b""  # nothing after the done line is delivered
        try:
            lines = self._splitter.feed(data)
        except ValueError as exc:
            raise UpstreamProtocolError(str(exc)) from exc
        forward: list[bytes] = []
        for line in lines:
            try:
                value = loads(line)
                found = line_receipt(value)
            except ContentError as exc:
                raise UpstreamProtocolError(f"upstream stream carried a bad line: {exc}") from exc
            if found is not None:
                self._parents.append(found.receipt)
                continue
            self.key.see(value)  # before the line is forwarded
            self._hasher.add(value)
            forward.append(line + b"\n")
            if isinstance(value, dict):
                self._last = value
                if value.get("done") is True:
                    self.done = True
                    break
        if forward and self.first_chunk_s is None:
            self.first_chunk_s = time.perf_counter() - self._info.started
        return b"".join(forward)

    async def finish(self, status: int, upstream_s: float) -> tuple[bytes, Receipt | None]:
        """The receipt line; call only when ``done``. Nothing for an unmapped model
        passed unsigned."""
        if not self.done:
            raise UpstreamProtocolError('upstream stream ended early (no "done": true line)')
        model, key = self.key.final()
        if key is None:
            return b"", None
        usage = {k: self._last[k] for k in ("prompt_eval_count", "eval_count") if k in self._last}
        claims = self._sealer.claims(self._info, status, upstream_s, usage or None)
        claims["stream"] = {
            "chunks": self._hasher.count,
            "first_chunk_us": int((self.first_chunk_s or 0.0) * 1e6),
        }
        if self._parents:
            claims["parents"] = [*claims.get("parents", ()), *self._parents]
        receipt, receipt_json, evidence = await self._sealer.issue(
            self._info, self._hasher.hexdigest(), claims, key,
            self.key.served if model is None else model,
        )  # fmt: skip
        return receipt_line(receipt_json, evidence), receipt

    @staticmethod
    def error_event(message: str) -> bytes:
        """An Ollama error line: the ``ollama`` client raises ``ResponseError``; no receipt."""
        return orjson.dumps({"error": f"llmseal gateway: {message}"}) + b"\n"
