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
6. **freshness**: the answer just arrived, so ``issued_at`` must be within
   ``freshness`` (default ±5 minutes) of this client's clock, and the key must
   not be revoked *now* — v0.3 judges revocation at ``issued_at``, which the
   signer writes, so without this a leaked, since-revoked key could backdate a
   fabricated answer and have it accepted live;
7. the nonce was never accepted before (replay): per the evidence store, or,
   without one, per an in-memory window (:mod:`llmseal.client.replay`).

Every checked exchange is recorded as evidence, accepted or not.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from llmseal.client.failures import (
    Expectations,
    claims_failure,
    live_failure,
    verdict_failure,
)
from llmseal.client.logproof import LogCheck
from llmseal.client.ndjson import NdjsonVerifier
from llmseal.client.replay import ReplayWindow
from llmseal.client.stream import StreamVerifier
from llmseal.core import _time
from llmseal.core.canonical import loads
from llmseal.core.hashing import NDJSON_ENDPOINTS, SEALED_ENDPOINTS, hash_json, hash_response
from llmseal.core.keyset import KeyResolver
from llmseal.core.receipt import Receipt
from llmseal.core.verify import Verification, verify_hashes
from llmseal.errors import (
    BindingError,
    CanonicalizationError,
    ConfigError,
    ContentError,
    Error,
    ReceiptRequiredError,
    VerificationError,
)
from llmseal.store.evidence import EvidenceStore
from llmseal.store.evidencerecord import EvidenceRecord, Sample

__all__ = ["DEFAULT_FRESHNESS", "SIGNED_ENDPOINTS", "ResponseVerifier"]

SIGNED_ENDPOINTS = SEALED_ENDPOINTS
DEFAULT_FRESHNESS = timedelta(minutes=5)
"""How far ``issued_at`` of a live answer may be from the client's clock, either way."""


_NO_EXPECTATIONS = Expectations()  # frozen: one default shared by every verifier


def _now() -> datetime:
    return datetime.now(UTC)


class ResponseVerifier:
    """Verifies exchanges and records them; shared by the sync and async transports."""

    def __init__(
        self,
        keys: KeyResolver,
        *,
        evidence: EvidenceStore | None = None,
        require_receipt: bool = True,
        expect: Expectations = _NO_EXPECTATIONS,
        sample_rate: float = 0.01,
        clock: Callable[[], datetime] = _now,
        sampler: Callable[[], float] = random.random,
        freshness: timedelta | None = DEFAULT_FRESHNESS,
        log_check: LogCheck | None = None,
        on_result: Callable[[Receipt, str, str], None] | None = None,
    ) -> None:
        self.log_check = log_check
        # Told (receipt, endpoint, status) of every checked receipt, before a failure
        # is raised: where tracing hooks in (llmseal.integrations.otel).
        self.on_result = on_result
        if freshness is not None and freshness < timedelta(0):
            raise ConfigError("freshness must not be negative")
        self.freshness = freshness
        # Without an evidence store, the replay check is held in memory (client.replay).
        self.replay = ReplayWindow(freshness) if evidence is None else None
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
        except CanonicalizationError as exc:  # JSON the SDK would read differently from us
            raise BindingError(f"the answer from {endpoint} cannot be verified: {exc}") from exc
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
            evidence=parsed.get("receipt_evidence"),
        )  # fmt: skip

    def stream(self, endpoint: str, request_body: bytes) -> StreamVerifier | NdjsonVerifier:
        """The checker of a streamed answer: SSE, or NDJSON for Ollama's native API."""
        kind = NdjsonVerifier if endpoint in NDJSON_ENDPOINTS else StreamVerifier
        return kind(self, endpoint, self.request_hash(request_body), request_body)

    def _verify(
        self,
        endpoint: str,
        receipt_obj: Any,
        prompt_hash: str,
        output_hash: str,
        sample: Callable[[], Sample | None],
        *,
        status: int,
        evidence: Any = None,
    ) -> Verification:
        try:
            receipt = Receipt.from_dict(receipt_obj)
        except Error as exc:
            raise VerificationError(f"the receipt is malformed: {exc}", status="malformed") from exc
        result = verify_hashes(receipt, self.keys, prompt_hash=prompt_hash, output_hash=output_hash)
        failure = (
            verdict_failure(result, endpoint, self.expect)
            or live_failure(result, self.freshness, self.clock)
            or claims_failure(receipt, endpoint, status)
        )
        logged = None
        if failure is None and self.log_check is not None:
            logged, failure = self.log_check.check(receipt_obj, evidence)
        self._record(result, endpoint, failure, sample)
        if self.on_result is not None:
            verdict = "valid" if failure is None else (failure.status or "invalid")
            self.on_result(receipt, endpoint, verdict)
        if logged is not None and self.evidence is not None:
            store, proof = self.evidence, evidence["log"]
            store.submit_job(lambda: store.put_log_proof(
                receipt.receipt_id, proof, origin=logged.origin, index=logged.index,
                tree_size=logged.tree_size,
            ))  # fmt: skip
        if failure is not None:
            raise failure
        return result

    def _record(
        self,
        result: Verification,
        endpoint: str,
        failure: VerificationError | None,
        sample: Callable[[], Sample | None],
    ) -> None:
        receipt = result.receipt
        if self.evidence is None:
            if failure is None and self.replay is not None:
                self.replay.accept(
                    receipt.key_id, receipt.nonce, issued_at=receipt.issued_at_datetime,
                    now=self.clock(),
                )  # fmt: skip
            return
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
        # The row (and with it the replay decision) is committed now; the sample later.
        self.evidence.submit(record, sample() if sampled else None)
