"""NDJSON streams (Ollama's native API): check each line as it passes.

The twin of :class:`llmseal.client.stream.StreamVerifier` for newline-delimited
JSON (docs/spec/stream.md, "NDJSON streams"). Each line handed on is re-emitted
from the exact bytes that were hashed; the receipt line is dropped; the latest
content line is held back, and once the receipt verifies it is released with
``receipt``, ``receipt_evidence`` and the verdict ``llmseal`` added. The
``ollama`` client thus sees no extra part, and the verdict on the final
(``"done": true``) part.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from llmseal.client._sample import StreamSample
from llmseal.core.canonical import loads
from llmseal.core.hashing import StreamHasher
from llmseal.core.ndjson import LineSplitter, line_receipt
from llmseal.core.verify import Verification
from llmseal.errors import BindingError, ContentError, ReceiptRequiredError, VerificationError

if TYPE_CHECKING:
    from llmseal.client.verifier import ResponseVerifier

__all__ = ["NdjsonVerifier"]


class NdjsonVerifier:
    """Checks an NDJSON stream; same interface as ``StreamVerifier`` (feed, finish)."""

    def __init__(
        self, owner: ResponseVerifier, endpoint: str, prompt_hash: str, request: bytes
    ) -> None:
        self._owner = owner
        self._endpoint = endpoint
        self._prompt_hash = prompt_hash
        self._request = request
        self._splitter = LineSplitter()
        self._hasher = StreamHasher()
        cap = owner.evidence.sample_cap if owner.evidence is not None else None
        self._evidence = StreamSample(request, cap)
        self._pending: tuple[bytes, Any] | None = None
        self.result: Verification | None = None

    def feed(self, data: bytes) -> bytes:
        """Bytes to hand to the client now; raises VerificationError on a bad receipt."""
        try:
            lines = self._splitter.feed(data)
        except ValueError as exc:
            raise VerificationError(f"unreadable stream: {exc}") from exc
        out: list[bytes] = []
        for line in lines:
            self._line(line, out)
        return b"".join(out)

    def _line(self, line: bytes, out: list[bytes]) -> None:
        try:
            value = loads(line)
            found = line_receipt(value)
        except ContentError as exc:
            raise BindingError(f"the stream carried a bad line: {exc}") from exc
        if self.result is not None:
            raise BindingError("the stream continued after its receipt")
        if found is not None:
            receipt = found.receipt
            self.result = self._owner._verify(
                self._endpoint, receipt, self._prompt_hash, self._hasher.hexdigest(),
                lambda: self._evidence.sample(receipt), status=200, evidence=found.evidence,
            )  # fmt: skip
            verdict = {"status": "valid", "key_id": self.result.key_id, "verified": True}
            extra: dict[str, Any] = {"receipt": receipt, "llmseal": verdict}
            if found.evidence is not None:
                extra["receipt_evidence"] = found.evidence
            self._release(out, extra)
            return
        self._hasher.add(value)
        self._evidence.keep(line)
        self._release(out)
        self._pending = (line, value)

    def _release(self, out: list[bytes], extra: dict[str, Any] | None = None) -> None:
        if self._pending is None:
            return
        line, value = self._pending
        self._pending = None
        if extra and isinstance(value, dict):
            line = orjson.dumps({**value, **extra})
        out.append(line + b"\n")

    def finish(self) -> bytes:
        """The stream ended: release what is held, or fail closed."""
        out: list[bytes] = []
        if self._splitter.pending.strip():
            self._line(self._splitter.pending, out)  # a last line without its LF
        if self.result is None and self._owner.require_receipt:
            raise ReceiptRequiredError(
                f"the stream from {self._endpoint} ended without a receipt; a receipt is required"
            )
        self._release(out)
        return b"".join(out)
