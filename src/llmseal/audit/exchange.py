"""The observed exchange: one probe sent, one answer received, and its verification.

Families never see an endpoint, only these. The runner builds them from what
the verifying client sent and received (issue 12, "Audit runner"): the exact
request bytes, the exact response bytes, the response headers, and the
verification outcome. ``verification == "valid"`` means the client checked the
receipt against the issuer's keys *and* both content hashes before the answer
was used — only such an exchange is a sample. Anything else (no receipt,
tampered, unknown key, replayed, a transport error) is a *failed* exchange: it
counts as a query, never as a sample, so a seller cannot dodge an audit by
breaking receipts on the probes it recognises (that shows up as failures).

Unsealed requests (``GET /v1/models``) are kept too, with ``verification ==
"unsigned"``; the ``stack`` family may describe them, never rest a DIFF on them.

Exchanges are stored in full in the audit report, and a third party re-checks
each with :meth:`ObservedExchange.reverify` (signature, request hash, response
hash) before recomputing any verdict: the report is evidence, not a claim.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmseal.core.canonical import loads
from llmseal.core.hashing import hash_json, hash_response
from llmseal.core.keyset import KeyResolver
from llmseal.core.receipt import Receipt
from llmseal.core.verify import Status, Verification, verify_hashes
from llmseal.errors import ContentError, Error, InputError

__all__ = ["FAILED", "UNSIGNED", "VALID", "ObservedExchange"]

VALID = "valid"
UNSIGNED = "unsigned"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ObservedExchange:
    """One audit request and its answer, as the verifying client saw them."""

    probe_id: str
    """Which reference probe this asked (``stack:models``, ``kbf:arith-0042``...)."""
    family: str
    """The family that planned it."""
    method: str
    endpoint: str
    """The API path below the base URL (``/v1/chat/completions``)."""
    request: bytes
    """The request body exactly as sent (empty for GET)."""
    status_code: int
    """HTTP status (0: no answer at all)."""
    response: bytes
    """The response body exactly as received (empty if none)."""
    headers: tuple[tuple[str, str], ...]
    """Response headers, lower-cased names; unsigned, for the ``stack`` family only."""
    verification: str
    """``valid``, ``unsigned`` (an unsealed endpoint) or the failure status."""
    receipt_id: str | None = None
    error: str | None = None
    sent_at: str = ""
    variant: int = 0
    """Which enrolled phrasing of the probe was sent."""

    @property
    def signed(self) -> bool:
        """A verified, receipt-bound answer: the only kind a verdict rests on."""
        return self.verification == VALID and self.receipt_id is not None

    def request_json(self) -> Any:
        return _parse(self.request)

    def response_json(self) -> Any:
        """The parsed answer (``None`` when it is not JSON)."""
        return _parse(self.response)

    def content(self) -> Mapping[str, Any] | None:
        """The answer without the members the gateway adds (what ``output_hash`` covers)."""
        body = self.response_json()
        if not isinstance(body, dict):
            return None
        return {k: v for k, v in body.items() if k not in ("receipt", "receipt_evidence")}

    def receipt(self) -> Receipt | None:
        body = self.response_json()
        raw = body.get("receipt") if isinstance(body, dict) else None
        if raw is None:
            return None
        try:
            return Receipt.from_dict(raw)
        except Error:
            return None

    def reverify(self, keys: KeyResolver) -> Verification | None:
        """Check the receipt again against ``keys``: signature and both content hashes.

        ``None`` if the exchange carries no receipt. A valid result also requires
        the receipt to be the one the exchange names.
        """
        receipt = self.receipt()
        if receipt is None:
            return None
        try:
            prompt_hash = hash_json(self.request_json())
            output_hash = hash_response(self.response_json())
        except Error as exc:
            return Verification(Status.TAMPERED, receipt, (f"content is not JSON: {exc}",))
        result = verify_hashes(receipt, keys, prompt_hash=prompt_hash, output_hash=output_hash)
        if result.status is Status.VALID and receipt.receipt_id != self.receipt_id:
            return Verification(Status.TAMPERED, receipt, ("receipt id differs from the record",))
        return result

    def to_dict(self) -> dict[str, Any]:
        return {
            "probe_id": self.probe_id, "family": self.family, "method": self.method,
            "endpoint": self.endpoint, "request_b64": _b64(self.request),
            "status_code": self.status_code, "response_b64": _b64(self.response),
            "headers": [list(h) for h in self.headers], "verification": self.verification,
            "receipt_id": self.receipt_id, "error": self.error, "sent_at": self.sent_at,
            "variant": self.variant,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ObservedExchange:
        try:
            receipt_id = data.get("receipt_id")
            return cls(
                probe_id=str(data["probe_id"]), family=str(data["family"]),
                method=str(data["method"]), endpoint=str(data["endpoint"]),
                request=_unb64(data["request_b64"]), status_code=int(data["status_code"]),
                response=_unb64(data["response_b64"]),
                headers=tuple((str(k), str(v)) for k, v in data.get("headers", ())),
                verification=str(data["verification"]),
                receipt_id=None if receipt_id is None else str(receipt_id),
                error=None if data.get("error") is None else str(data["error"]),
                sent_at=str(data.get("sent_at", "")), variant=int(data.get("variant", 0)),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"not an observed exchange: {exc}") from exc


def _parse(data: bytes) -> Any:
    if not data:
        return None
    try:
        return loads(data)
    except ContentError:
        return None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise TypeError("base64 member must be a string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"bad base64: {exc}") from exc
