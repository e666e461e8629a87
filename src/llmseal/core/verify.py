"""Verifying receipts: one status, in the v0.3 precedence, plus the reasons.

Seed 004, "Verification flow" — exactly one status, first match wins:

1. ``unknown_key``: ``key_id`` is not in the key set;
2. ``revoked``: the key is revoked as of ``issued_at`` (``issued_at >= rotated_at``);
3. ``tampered``: the signature does not verify over the canonical bytes, or
   supplied content hashes differently from ``prompt_hash``/``output_hash``;
4. ``valid``.

Every check still runs after the status is decided, so ``reasons`` lists all
that is wrong (a tampered receipt under a revoked key says both). Policy
(which issuers, which models, how old) is a separate layer: :mod:`llmseal.core.policy`.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from llmseal.core.canonical import loads
from llmseal.core.hashing import hash_bytes, hash_json, hash_response
from llmseal.core.keys import decode_signature
from llmseal.core.keyset import KeyEntry, KeyResolver
from llmseal.core.receipt import Receipt
from llmseal.errors import ContentError, KeyLookupError, VerificationError

__all__ = [
    "Content",
    "Status",
    "Verification",
    "content_hash",
    "verify_hashes",
    "verify_receipt",
]

Content = bytes | str | Mapping[str, Any] | list[Any]
"""Request or response content: JSON text, or the parsed JSON value."""


class Status(StrEnum):
    """The four v0.3 statuses."""

    VALID = "valid"
    TAMPERED = "tampered"
    UNKNOWN_KEY = "unknown_key"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of verifying one receipt. Truthy iff ``status`` is ``valid``."""

    status: Status
    receipt: Receipt
    reasons: tuple[str, ...] = ()
    key: KeyEntry | None = None
    content_checked: tuple[str, ...] = ()

    @property
    def key_id(self) -> str:
        return self.receipt.key_id

    @property
    def issued_at(self) -> str:
        return self.receipt.issued_at

    def __bool__(self) -> bool:
        return self.status is Status.VALID

    def raise_for_status(self) -> None:
        """Fail closed: raise :class:`VerificationError` unless the receipt is valid."""
        if self.status is not Status.VALID:
            detail = "; ".join(self.reasons) or self.status.value
            raise VerificationError(
                f"receipt {self.receipt.receipt_id} is {self.status.value}: {detail}",
                status=self.status.value,
                reasons=self.reasons,
            )

    def to_dict(self) -> dict[str, Any]:
        """``{status, key_id, issued_at, ...}`` — the v0.3 verify-endpoint shape, extended."""
        return {
            "status": self.status.value,
            "key_id": self.key_id,
            "issued_at": self.issued_at,
            "receipt_id": self.receipt.receipt_id,
            "model_id": self.receipt.model_id,
            "content_checked": list(self.content_checked),
            "reasons": list(self.reasons),
        }


def content_hash(content: Content, *, response: bool, raw: bool = False) -> str:
    """Hash content the way the issuer did.

    JSON text is parsed and canonicalized, so formatting and member order do not
    matter; ``raw=True`` hashes the bytes exactly instead. For a response, the
    members a gateway adds (``receipt``, ``llm_sign``) are left out.
    """
    if raw:
        if isinstance(content, str):
            return hash_bytes(content.encode("utf-8"))
        if isinstance(content, bytes):
            return hash_bytes(content)
        raise ContentError("raw hashing needs the content as bytes or text")
    value = loads(content) if isinstance(content, bytes | str) else content
    return hash_response(value) if response else hash_json(value)


def verify_receipt(
    receipt: Receipt | Mapping[str, Any],
    keys: KeyResolver,
    *,
    prompt: Content | None = None,
    output: Content | None = None,
    raw: bool = False,
) -> Verification:
    """Verify a receipt, and the content it covers when that is supplied.

    Raises:
        MalformedReceiptError: ``receipt`` is a mapping that is not a receipt.
        ContentError: supplied content is not JSON (unless ``raw``).
    """
    if not isinstance(receipt, Receipt):
        receipt = Receipt.from_dict(receipt)
    prompt_hash = None if prompt is None else content_hash(prompt, response=False, raw=raw)
    output_hash = None if output is None else content_hash(output, response=True, raw=raw)
    return verify_hashes(receipt, keys, prompt_hash=prompt_hash, output_hash=output_hash)


def verify_hashes(
    receipt: Receipt,
    keys: KeyResolver,
    *,
    prompt_hash: str | None = None,
    output_hash: str | None = None,
) -> Verification:
    """Verify a receipt given the hashes the verifier recomputed itself."""
    # Content is compared even when the key turns out unknown: every check runs.
    checked, mismatches = _content_checks(receipt, prompt_hash, output_hash)
    try:
        entry = keys.resolve(receipt.key_id)
    except KeyLookupError as exc:
        # The source says why it has no trustworthy key (DNSSEC bogus, record
        # missing...): a key that cannot be authenticated is an unknown key.
        why = exc.diagnostics()
        return Verification(Status.UNKNOWN_KEY, receipt, (why, *mismatches), None, checked)
    if entry is None:
        why = f"key_id {receipt.key_id!r} is not in the key set"
        return Verification(Status.UNKNOWN_KEY, receipt, (why, *mismatches), None, checked)
    reasons: list[str] = []
    issued = receipt.issued_at_datetime
    revoked = entry.revoked_as_of(issued)
    if revoked:
        since = entry.rotated_at.isoformat() if entry.rotated_at else "an unknown time"
        reasons.append(f"key {entry.key_id!r} is revoked since {since}")
    tampered = not _signature_ok(receipt, entry, reasons) or bool(mismatches)
    reasons.extend(mismatches)
    if entry.created_at is not None and issued < entry.created_at:
        reasons.append("issued_at is before the key was created")
    status = Status.REVOKED if revoked else Status.TAMPERED if tampered else Status.VALID
    return Verification(status, receipt, tuple(reasons), entry, checked)


def _content_checks(
    receipt: Receipt, prompt_hash: str | None, output_hash: str | None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The content compared (``prompt``, ``output``) and a reason per mismatch."""
    checked: list[str] = []
    mismatches: list[str] = []
    for name, expected, claimed in (
        ("prompt", prompt_hash, receipt.prompt_hash),
        ("output", output_hash, receipt.output_hash),
    ):
        if expected is None:
            continue
        checked.append(name)
        if not hmac.compare_digest(expected, claimed):
            mismatches.append(f"the supplied {name} does not match {name}_hash")
    return tuple(checked), tuple(mismatches)


def _signature_ok(receipt: Receipt, entry: KeyEntry, reasons: list[str]) -> bool:
    signature = decode_signature(receipt.signature)
    if signature is None:
        reasons.append("signature is not a canonical base64 encoding of 64 bytes")
        return False
    if not entry.public_key.verify(signature, receipt.signing_bytes()):
        reasons.append(f"signature does not verify with key {entry.key_id!r}")
        return False
    return True
