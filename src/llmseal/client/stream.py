"""Streams: check an SSE stream as it passes; the SDK only sees what was checked."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import orjson

from llmseal.client._sample import StreamSample
from llmseal.core.canonical import loads
from llmseal.core.framing import StreamReceipt, comment_receipt, legacy_receipt
from llmseal.core.hashing import TERMINAL_EVENTS, StreamHasher
from llmseal.core.sse import SseSplitter, event_data
from llmseal.core.verify import Verification
from llmseal.errors import BindingError, ContentError, ReceiptRequiredError, VerificationError

if TYPE_CHECKING:
    from llmseal.client.verifier import ResponseVerifier

__all__ = ["StreamVerifier"]

# An event name re-emitted from the hashed data's ``type`` (``response.output_text.delta``).
_EVENT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,127}")


class StreamVerifier:
    """Checks an SSE stream as it passes and hands the SDK only what it checked.

    The SDK never sees the bytes that arrived: every event is re-emitted from the
    exact data that was hashed — ``data:`` lines only, plus ``event: <type>`` for
    Anthropic and Responses API streams, whose SDKs route on the event name (a
    relabelled event must not hide a hashed chunk). Comments, ``id``/``retry`` fields and the
    receipt itself are dropped.

    The receipt is a framing-2 comment (docs/spec/stream.md) or, from a round-1
    gateway, a framing-1 receipt chunk, which is held back until the next event
    shows whether it ended the stream or was content (a chained gateway's inner
    receipt, which the outer receipt covers). The latest content event is held
    back too, one event, so that once the receipt verifies it is released with
    ``receipt``, ``receipt_evidence`` and the verdict ``llmseal`` added: the SDK
    sees no extra event, and a ``chunk.choices[0]`` loop keeps working.
    """

    def __init__(
        self, owner: ResponseVerifier, endpoint: str, prompt_hash: str, request: bytes
    ) -> None:
        self._owner = owner
        self._endpoint = endpoint
        self._prompt_hash = prompt_hash
        self._request = request
        # Anthropic and Responses API events are named after their data's type.
        self._named = endpoint in TERMINAL_EVENTS
        self._splitter = SseSplitter()
        self._hasher = StreamHasher()
        cap = owner.evidence.sample_cap if owner.evidence is not None else None
        self._evidence = StreamSample(request, cap)
        self._pending: tuple[bytes, Any] | None = None  # hashed, not yet released
        self._legacy: tuple[bytes, Any, StreamReceipt] | None = None  # not hashed
        self._done = False
        self.result: Verification | None = None

    def feed(self, data: bytes) -> bytes:
        """Bytes to hand to the SDK now; raises VerificationError on a bad receipt."""
        out: list[bytes] = []
        try:
            events = self._splitter.feed(data)
        except ValueError as exc:
            raise VerificationError(f"unreadable stream: {exc}") from exc
        for event in events:
            self._event(event, out)
        return b"".join(out)

    def _event(self, event: bytes, out: list[bytes]) -> None:
        try:
            found = comment_receipt(event)
        except ContentError as exc:
            raise BindingError(f"the stream carried a broken receipt comment: {exc}") from exc
        if found is not None:
            self._settle(found, out)
            return
        payload = event_data(event)
        if payload is None:
            return  # comments and field-only events: nothing the SDK needs
        if self._done:
            raise BindingError("the stream continued after data: [DONE]")
        if payload.strip() == b"[DONE]":
            # SDKs stop reading at [DONE], so the receipt must be settled here.
            self._end(out)
            self._done = True
            out.append(b"data: [DONE]\n\n")
            return
        if self.result is not None:
            raise BindingError("the stream continued after its receipt")
        try:
            chunk = loads(payload)
        except ContentError as exc:
            raise BindingError(f"the stream carried a non-JSON event: {exc}") from exc
        self._release_legacy(out)
        legacy = legacy_receipt(chunk)
        if legacy is not None:
            self._legacy = (payload, chunk, legacy)
        else:
            self._content(payload, chunk, out)

    def _release_legacy(self, out: list[bytes]) -> None:
        """A held framing-1 receipt chunk that something followed: it was content."""
        if self._legacy is not None:
            payload, chunk, _ = self._legacy
            self._legacy = None
            self._content(payload, chunk, out)

    def _content(self, payload: bytes, chunk: Any, out: list[bytes]) -> None:
        self._hasher.add(chunk)
        self._evidence.keep(payload)
        if self._pending is not None:
            out.append(self._emit(*self._pending))
        self._pending = (payload, chunk)

    def _emit(self, payload: bytes, chunk: Any, extra: dict[str, Any] | None = None) -> bytes:
        if extra and isinstance(chunk, dict):
            payload = orjson.dumps({**chunk, **extra})
        lines = [b"data: " + line for line in payload.split(b"\n")]
        if self._named:
            kind = chunk.get("type") if isinstance(chunk, dict) else None
            if not isinstance(kind, str) or not _EVENT_NAME.fullmatch(kind):
                raise BindingError(f"a {self._endpoint} stream event without a usable type")
            lines.insert(0, b"event: " + kind.encode())
        return b"\n".join(lines) + b"\n\n"

    def _settle(self, found: StreamReceipt, out: list[bytes]) -> None:
        """Verify the receipt over everything hashed so far (or fail closed)."""
        if self.result is not None:
            raise BindingError("the stream carried more than one receipt")
        self._release_legacy(out)  # an inner round-1 receipt chunk, covered by this one
        receipt = found.receipt
        self.result = self._owner._verify(
            self._endpoint, receipt, self._prompt_hash, self._hasher.hexdigest(),
            lambda: self._evidence.sample(receipt), status=200,
            evidence=found.evidence,
        )  # fmt: skip
        # The last covered event carries the verdict (streams are verified when they end).
        verdict = {"status": "valid", "key_id": self.result.key_id, "verified": True}
        extra: dict[str, Any] = {"receipt": receipt, "llmseal": verdict}
        if found.evidence is not None:
            extra["receipt_evidence"] = found.evidence
        if self._pending is not None:
            out.append(self._emit(*self._pending, extra))
            self._pending = None

    def _end(self, out: list[bytes]) -> None:
        """The stream is over: settle a framing-1 receipt, or fail closed without one."""
        if self.result is not None:
            return
        if self._legacy is not None:
            _, _, found = self._legacy
            self._legacy = None
            self._settle(found, out)
            return
        if self._owner.require_receipt:
            raise ReceiptRequiredError(
                f"the stream from {self._endpoint} ended without a receipt; a receipt is required"
            )
        if self._pending is not None:
            out.append(self._emit(*self._pending))
            self._pending = None

    def finish(self) -> bytes:
        """The stream ended: release what is held, or fail closed."""
        out: list[bytes] = []
        if not self._done:
            self._end(out)
        return b"".join(out)
