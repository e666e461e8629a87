"""Which verdicts fail a live exchange, and with which error.

A verified receipt still fails the exchange it arrived with when its verdict is not
valid (:func:`verdict_failure`), when it misses the caller's :class:`Expectations`
(:func:`expectation_failure`), when it is not live — stale, or signed by a key
revoked since (:func:`live_failure`) — or when its signed claims describe another
exchange (:func:`claims_failure`). :class:`~llmseal.client.verifier.ResponseVerifier`
asks them in that order; the first error wins.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from llmseal.core.receipt import Receipt
from llmseal.core.verify import Status, Verification
from llmseal.errors import BindingError, PolicyError, ReplayError, VerificationError

__all__ = [
    "Expectations",
    "claims_failure",
    "expectation_failure",
    "live_failure",
    "verdict_failure",
]


@dataclass(frozen=True)
class Expectations:
    """What the caller expects beyond a valid signature."""

    issuer: str | None = None
    """The receipt's ``issuer`` claim must equal this."""
    models: tuple[str, ...] = ()
    """``model_id`` must match one of these shell patterns (``lab/opus-*``)."""


def verdict_failure(
    result: Verification, endpoint: str, expect: Expectations
) -> VerificationError | None:
    """The error a verdict other than valid is, or the caller's expectations unmet."""
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
    return expectation_failure(result, endpoint, expect)


def expectation_failure(
    result: Verification, endpoint: str, expect: Expectations
) -> PolicyError | None:
    """The receipt's issuer and model against the key's binding and ``expect``."""
    receipt = result.receipt
    issuer = receipt.claims.get("issuer")
    if result.key is not None and not result.key.issuer_allowed(issuer):
        return PolicyError(
            f"receipt {receipt.receipt_id} claims issuer {issuer!r} but is signed by a key "
            f"of {result.key.bound_issuer!r}", status="policy",
        )  # fmt: skip
    if expect.issuer is not None and issuer != expect.issuer:
        return PolicyError(
            f"receipt {receipt.receipt_id} names issuer {issuer!r}, expected "
            f"{expect.issuer!r}", status="policy",
        )  # fmt: skip
    models = expect.models
    if models and not any(fnmatch.fnmatchcase(receipt.model_id, p) for p in models):
        return PolicyError(
            f"receipt {receipt.receipt_id} is for model {receipt.model_id!r}, "
            f"expected one of {list(models)}", status="policy",
        )  # fmt: skip
    return None


def live_failure(
    result: Verification, freshness: timedelta | None, clock: Callable[[], datetime]
) -> VerificationError | None:
    """An answer that just arrived was signed just now, by a key that is still good."""
    receipt, key = result.receipt, result.key
    if key is not None and key.status == "revoked":
        since = key.rotated_at.isoformat() if key.rotated_at else "an unknown time"
        return VerificationError(
            f"receipt {receipt.receipt_id} is signed by key {receipt.key_id!r}, revoked "
            f"since {since}: a live answer never comes from a revoked key", status="revoked",
        )  # fmt: skip
    if freshness is None:
        return None
    now = clock()
    drift = receipt.issued_at_datetime - now
    if abs(drift) > freshness:
        when = "in the future" if drift > timedelta(0) else "ago"
        return ReplayError(
            f"receipt {receipt.receipt_id} was issued at {receipt.issued_at}, "
            f"{abs(drift)} {when} by this client's clock (allowed: {freshness}): "
            "a stale, replayed or backdated answer", status="stale",
        )  # fmt: skip
    return None


def claims_failure(receipt: Receipt, endpoint: str, status: int) -> BindingError | None:
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
