"""What the verifying client checks on every response, independent of HTTP plumbing.

For each answer from a sealed endpoint (issue 4, "Verifying HTTP client"):

1. a receipt is present (unless ``require_receipt=False``) — a stripped receipt
   fails, it does not degrade to "unsigned" (llm_sign's gap, design.md);
2. the key is in the issuer's key set (fetched, cached, refreshed once on an
   unknown key) and not revoked as of issuance; the signature verifies;
3. **request binding**: ``prompt_hash`` equals the hash of the request *this
   client sent* — a relay that rewrote the request (model swap) or replays an
   answer to another question is caught here;
4. **response binding**: ``output_hash`` equals the hash of what arrived;
5. expectations: issuer claim and model patterns;
6. the nonce was never accepted before (replay), per the evidence store.

Every checked exchange is recorded as evidence, accepted or not.
"""

from __future__ import annotations

import fnmatch
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from llmseal.core import _time
from llmseal.core.canonical import loads
from llmseal.core.hashing import StreamHasher, hash_json, hash_response
from llmseal.core.keyset import KeyResolver
from llmseal.core.receipt import Receipt
from llmseal.core.sse import SseSplitter, event_data
from llmseal.core.verify import Status, Verification, verify_hashes
from llmseal.errors import (
    BindingError,
    ContentError,
    Error,
    PolicyError,
    ReceiptRequiredError,
    VerificationError,
)
from llmseal.store.evidence import EvidenceRecord, EvidenceStore, Sample

__all__ = ["SIGNED_ENDPOINTS", "Expectations", "ResponseVerifier", "StreamVerifier"]

SIGNED_ENDPOINTS = ("/v1/chat/completions", "/v1/completions", "/v1/messages")


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Expectations:
    """What the caller expects beyond a valid signature."""

    issuer: str | None = None
    """The receipt's ``issuer`` claim must equal this."""
    models: tuple[str, ...] = ()
    """``model_id`` must match one of these shell patterns (``lab/opus-*``)."""


class ResponseVerifier:
    """Verifies exchanges and records them; shared by the sync and async transports."""

    def __init__(
        self,
        keys: KeyResolver,
        *,
        evidence: EvidenceStore | None = None,
        require_receipt: bool = True,
        expect: Expectations = Expectations(),
        sample_rate: float = 0.01,
        clock: Callable[[], datetime] = _now,
        sampler: Callable[[], float] = random.random,
    ) -> None:
        self.keys = keys
        self.evidence = evidence
        self.require_receipt = require_receipt
        self.expect = expect
        self.sample_rate = sample_rate
        self.clock = clock
        self._sampler = sampler

    def close(self) -> None:
        """Write pending evidence and close the store."""
        if self.evidence is not None:
            self.evidence.close()

    @staticmethod
    def endpoint_of(path: str) -> str | None:
        """The sealed endpoint a request path targets (any base-URL prefix), or None."""
        for endpoint in SIGNED_ENDPOINTS:
            if path.endswith(endpoint):
                return endpoint
        return None

    def request_hash(self, request_body: bytes) -> str:
        try:
            return hash_json(loads(request_body))
        except ContentError as exc:
            raise BindingError(
                f"cannot bind a receipt to a request that is not JSON: {exc}"
            ) from exc

    def check_body(
        self, endpoint: str, request_body: bytes, body: bytes, status: int
    ) -> Verification | None:
        """Verify a complete JSON answer; raises a VerificationError subclass on failure."""
        try:
            parsed = loads(body)
        except ContentError:
            parsed = None
        receipt_obj = parsed.get("receipt") if isinstance(parsed, dict) else None
        if receipt_obj is None:
            if self.require_receipt and status < 400:
                raise ReceiptRequiredError(
                    f"the answer from {endpoint} carries no receipt (HTTP {status}); "
                    "a receipt is required"
                )
            return None
        assert isinstance(parsed, dict)
        return self._verify(
            endpoint, receipt_obj, self.request_hash(request_body), hash_response(parsed),
            lambda: Sample(request_body, body, orjson.dumps(receipt_obj)), status=status,
        )  # fmt: skip

    def stream(self, endpoint: str, request_body: bytes) -> StreamVerifier:
        return StreamVerifier(self, endpoint, self.request_hash(request_body), request_body)

    def _verify(
        self,
        endpoint: str,
        receipt_obj: Any,
        prompt_hash: str,
        output_hash: str,
        sample: Callable[[], Sample],
        *,
        status: int,
    ) -> Verification:
        try:
            receipt = Receipt.from_dict(receipt_obj)
        except Error as exc:
            raise VerificationError(f"the receipt is malformed: {exc}", status="malformed") from exc
        result = verify_hashes(receipt, self.keys, prompt_hash=prompt_hash, output_hash=output_hash)
        failure = self._failure(result, endpoint) or _claims_failure(receipt, endpoint, status)
        self._record(result, endpoint, failure, sample)
        if failure is not None:
            raise failure
        return result

    def _failure(self, result: Verification, endpoint: str) -> VerificationError | None:
        receipt = result.receipt
        reasons = result.reasons
        if result.status is Status.UNKNOWN_KEY:
            return VerificationError(
                f"receipt {receipt.receipt_id} is signed by key {receipt.key_id!r}, which is not "
                "in the issuer's key set (re-signed by someone else?)",
                status=result.status.value, reasons=reasons,
            )  # fmt: skip
        if result.status is Status.REVOKED:
            return VerificationError(
                f"receipt {receipt.receipt_id} is signed by a key revoked before it was issued",
                status=result.status.value, reasons=reasons,
            )  # fmt: skip
        if result.status is Status.TAMPERED:
            if any("signature" in r for r in reasons):
                message = f"receipt {receipt.receipt_id} has an invalid signature"
                return VerificationError(message, status="tampered", reasons=reasons)
            if any("prompt" in r for r in reasons):
                return BindingError(
                    f"receipt {receipt.receipt_id} is for a different request than the one sent "
                    "(request altered in transit, or an answer replayed for another question)",
                    status="tampered", reasons=reasons,
                )  # fmt: skip
            return BindingError(
                f"the answer does not match receipt {receipt.receipt_id}: altered in transit",
                status="tampered", reasons=reasons,
            )  # fmt: skip
        return self._expectation_failure(result, endpoint)

    def _expectation_failure(self, result: Verification, endpoint: str) -> PolicyError | None:
        receipt = result.receipt
        issuer = receipt.claims.get("issuer")
        if result.key is not None and not result.key.issuer_allowed(issuer):
            return PolicyError(
                f"receipt {receipt.receipt_id} claims issuer {issuer!r} but is signed by a key "
                f"of {result.key.bound_issuer!r}", status="policy",
            )  # fmt: skip
        if self.expect.issuer is not None and issuer != self.expect.issuer:
            return PolicyError(
                f"receipt {receipt.receipt_id} names issuer {issuer!r}, expected "
                f"{self.expect.issuer!r}", status="policy",
            )  # fmt: skip
        models = self.expect.models
        if models and not any(fnmatch.fnmatchcase(receipt.model_id, p) for p in models):
            return PolicyError(
                f"receipt {receipt.receipt_id} is for model {receipt.model_id!r}, "
                f"expected one of {list(models)}", status="policy",
            )  # fmt: skip
        return None

    def _record(
        self,
        result: Verification,
        endpoint: str,
        failure: VerificationError | None,
        sample: Callable[[], Sample],
    ) -> None:
        if self.evidence is None:
            return
        receipt = result.receipt
        status = (
            result.status.value if failure is None or failure.status is None else failure.status
        )
        sampled = failure is not None or self._sampler() < self.sample_rate
        record = EvidenceRecord(
            receipt_id=receipt.receipt_id, status=status,
            issuer=str(receipt.claims.get("issuer") or receipt.key_id), key_id=receipt.key_id,
            model_id=receipt.model_id, issued_at=receipt.issued_at,
            verified_at=_time.format_utc(self.clock()), nonce=receipt.nonce,
            prompt_hash=receipt.prompt_hash, output_hash=receipt.output_hash, endpoint=endpoint,
            reasons=result.reasons if failure is None else (str(failure), *result.reasons),
            receipt=orjson.dumps(receipt.to_dict()), sampled=sampled,
        )  # fmt: skip
        job = None
        if sampled:
            evidence, content = self.evidence, sample()
            job = lambda: evidence.write_sample(record, content)  # noqa: E731
        # Written in the background; the replay check inside is synchronous.
        self.evidence.submit(record, job)


def _claims_failure(receipt: Receipt, endpoint: str, status: int) -> BindingError | None:
    """The signed ``status_code`` and ``endpoint`` claims must describe this exchange.

    Otherwise a relay could turn a signed error body into a 200, or answer one
    endpoint with a receipt issued for another.
    """
    claimed_status = receipt.claims.get("status_code", status)
    if claimed_status != status:
        return BindingError(
            f"receipt {receipt.receipt_id} was issued for HTTP {claimed_status}, "
            f"the answer arrived as HTTP {status}", status="tampered",
        )  # fmt: skip
    claimed_endpoint = receipt.claims.get("endpoint", endpoint)
    if claimed_endpoint != endpoint:
        return BindingError(
            f"receipt {receipt.receipt_id} was issued for {claimed_endpoint}, not {endpoint}",
            status="tampered",
        )
    return None


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
        self._anthropic = endpoint == "/v1/messages"
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
