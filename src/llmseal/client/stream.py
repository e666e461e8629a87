"""Streams: check an SSE stream as it passes; the SDK only sees what was checked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from llmseal.core.canonical import loads
from llmseal.core.hashing import ANTHROPIC_ENDPOINTS, StreamHasher
from llmseal.core.sse import SseSplitter, event_data
from llmseal.core.verify import Verification
from llmseal.errors import BindingError, ContentError, ReceiptRequiredError, VerificationError
from llmseal.store.evidence import Sample

if TYPE_CHECKING:
    from llmseal.client.verifier import ResponseVerifier

__all__ = ["StreamVerifier"]


class StreamVerifier:
    """Checks an SSE stream as it passes and hands the SDK only what it checked.

    The SDK never sees the bytes that arrived: every event is re-emitted from the
    exact data that was hashed — ``data:`` lines only, plus ``event: <type>`` for
    Anthropic streams, whose SDK routes on the event name (a relabelled event
    must not hide a hashed chunk). Comments, ``id``/``retry`` fields and the
    arriving receipt chunk itself are dropped; the receipt chunk the SDK gets is
    rebuilt here from the verified receipt. A receipt-bearing chunk is held back
    until the next event shows whether it was the final receipt or content (a
    chained gateway's inner receipt, which the outer receipt covers).
    """

    def __init__(
        self, owner: ResponseVerifier, endpoint: str, prompt_hash: str, request: bytes
    ) -> None:
        self._owner = owner
        self._endpoint = endpoint
        self._prompt_hash = prompt_hash
        self._request = request
        self._anthropic = endpoint in ANTHROPIC_ENDPOINTS
        self._splitter = SseSplitter()
        self._hasher = StreamHasher()
        self._chunks: list[bytes] = []
        self._held: tuple[bytes, dict[str, Any]] | None = None
        self._last: dict[str, Any] = {}
        self.result: Verification | None = None

    def feed(self, data: bytes) -> bytes:
        """Bytes to hand to the SDK now; raises VerificationError on a bad receipt."""
        out: list[bytes] = []
        try:
            events = self._splitter.feed(data)
        except ValueError as exc:
            raise VerificationError(f"unreadable stream: {exc}") from exc
        for event in events:
            payload = event_data(event)
            if payload is None:
                continue  # comments and field-only events: nothing the SDK needs
            if self.result is not None:
                raise BindingError("the stream continued after its receipt")
            if payload.strip() == b"[DONE]":
                # SDKs stop reading at [DONE], so the receipt must be settled here.
                out.append(self._settle())
                out.append(b"data: [DONE]\n\n")
                continue
            try:
                chunk = loads(payload)
            except ContentError as exc:
                raise BindingError(f"the stream carried a non-JSON event: {exc}") from exc
            if self._held is not None:
                out.append(self._content(*self._held))  # it was content after all
                self._held = None
            if isinstance(chunk, dict) and "receipt" in chunk:
                self._held = (payload, chunk)
                continue
            out.append(self._content(payload, chunk))
        return b"".join(out)

    def _content(self, payload: bytes, chunk: Any) -> bytes:
        self._hasher.add(chunk)
        if self._owner.evidence is not None:
            self._chunks.append(payload)
        if isinstance(chunk, dict):
            self._last = chunk
        return self._emit(payload, chunk)

    def _emit(self, payload: bytes, chunk: Any) -> bytes:
        lines = [b"data: " + line for line in payload.split(b"\n")]
        if self._anthropic:
            kind = chunk.get("type") if isinstance(chunk, dict) else None
            if not isinstance(kind, str) or not kind.isidentifier():
                raise BindingError("an Anthropic stream event without a usable type")
            lines.insert(0, b"event: " + kind.encode())
        return b"\n".join(lines) + b"\n\n"

    def _settle(self) -> bytes:
        """Verify the held receipt chunk (or fail closed); returns the event to release."""
        if self._held is None:
            self.finish()
            return b""
        _, chunk = self._held
        self._held = None
        receipt = chunk["receipt"]
        transcript = b"[" + b",".join(self._chunks) + b"]"
        self.result = self._owner._verify(
            self._endpoint, receipt, self._prompt_hash, self._hasher.hexdigest(),
            lambda: Sample(self._request, transcript, orjson.dumps(receipt)), status=200,
        )  # fmt: skip
        # The final chunk carries the verdict (design: streams are verified when they end).
        verdict = {"status": "valid", "key_id": self.result.key_id, "verified": True}
        extra: dict[str, Any] = {"receipt": receipt, "llmseal": verdict}
        if "receipt_evidence" in chunk:
            extra["receipt_evidence"] = chunk["receipt_evidence"]
        if self._anthropic:
            body = orjson.dumps({"type": "ping", **extra})
            return b"event: ping\ndata: " + body + b"\n\n"
        last = self._last
        rebuilt = {
            "id": last.get("id", ""), "object": last.get("object", "chat.completion.chunk"),
            "created": last.get("created", 0), "model": last.get("model", ""),
            "choices": [], **extra,
        }  # fmt: skip
        return b"data: " + orjson.dumps(rebuilt) + b"\n\n"

    def finish(self) -> bytes:
        """The stream ended: settle a held receipt (returns its event), or fail closed."""
        if self._held is not None:
            return self._settle()
        if self.result is None and self._owner.require_receipt:
            raise ReceiptRequiredError(
                f"the stream from {self._endpoint} ended without a receipt; a receipt is required"
            )
        return b""
