"""The receipt: an Attested AI-Assisted Work v0.3 receipt plus extension claims.

Seed 004 ("Primitive", "Field encodings"): eight required string members
(``receipt_id, model_id, prompt_hash, output_hash, issued_at, nonce, key_id,
signature``), an optional ``weight_hash``. Any other member is an *extension
claim* (issuer, usage, status code, timing, parents, stream info...): kept as it
is, signed like the rest, so a plain v0.3 verifier that canonicalizes the whole
object verifies our receipts too (design.md, "Extension claims").

Parsing is strict: a member that is missing, of the wrong JSON type or not in
its normative encoding makes the object "not a receipt"
(:class:`~llmseal.errors.MalformedReceiptError`), never a half-read receipt.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from llmseal.core import _time
from llmseal.core.canonical import canonicalize, loads
from llmseal.errors import ContentError, MalformedReceiptError

__all__ = ["CORE_MEMBERS", "RESERVED_MEMBERS", "Receipt", "check_hex", "check_identifier"]

CORE_MEMBERS: tuple[str, ...] = (
    "receipt_id",
    "model_id",
    "prompt_hash",
    "output_hash",
    "issued_at",
    "nonce",
    "key_id",
    "signature",
)
RESERVED_MEMBERS: frozenset[str] = frozenset((*CORE_MEMBERS, "weight_hash"))
"""Members with a meaning in v0.3; everything else is an extension claim."""
_HEX64 = re.compile(r"\A[0-9a-f]{64}\Z")
# base64url of exactly 16 bytes, unpadded: 22 characters, the last one carrying
# two data bits and four zero bits (so only A, Q, g, w are canonical).
_NONCE = re.compile(r"\A[A-Za-z0-9_-]{21}[AQgw]\Z")
_MAX_ID = 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Receipt:
    """A signed receipt. Construct with :meth:`from_dict` or :func:`llmseal.sign.issue_receipt`.

    ``issued_at`` is kept as the exact string that was signed; use
    :attr:`issued_at_datetime` for comparisons.
    """

    receipt_id: str
    model_id: str
    prompt_hash: str
    output_hash: str
    issued_at: str
    nonce: str
    key_id: str
    signature: str
    weight_hash: str | None = None
    claims: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    @classmethod
    def from_dict(cls, data: Any) -> Receipt:
        """Parse and validate a receipt object.

        Raises:
            MalformedReceiptError: ``data`` is not a v0.3 receipt.
        """
        if not isinstance(data, Mapping):
            raise MalformedReceiptError("a receipt must be a JSON object")
        values = {name: _string_member(data, name) for name in CORE_MEMBERS}
        for name in ("receipt_id", "model_id", "key_id"):
            check_identifier(name, values[name])
        for name in ("prompt_hash", "output_hash"):
            check_hex(name, values[name])
        if not _NONCE.match(values["nonce"]):
            raise MalformedReceiptError("receipt member 'nonce' must be base64url of 16 bytes")
        try:
            _time.parse_strict(values["issued_at"])
        except ValueError as exc:
            raise MalformedReceiptError(f"receipt member 'issued_at': {exc}") from None
        weight_hash = None
        if "weight_hash" in data:
            weight_hash = _string_member(data, "weight_hash")
            check_hex("weight_hash", weight_hash)
        claims = {k: v for k, v in data.items() if k not in RESERVED_MEMBERS}
        for key in claims:
            if not isinstance(key, str):
                raise MalformedReceiptError("receipt member names must be strings")
        if "issuer" in claims:
            # Shown to people (evidence lists, reports) and compared with pins: the
            # same rule as the identifiers above, so it cannot carry terminal escapes.
            issuer = claims["issuer"]
            if not isinstance(issuer, str):
                raise MalformedReceiptError("receipt claim 'issuer' must be a string")
            check_identifier("issuer", issuer)
        return cls(
            **values,
            weight_hash=weight_hash,
            claims=MappingProxyType(claims) if claims else _EMPTY,
        )

    @classmethod
    def from_json(cls, text: bytes | str) -> Receipt:
        """Parse a receipt from JSON text (any formatting, any member order)."""
        try:
            data = loads(text)
        except ContentError as exc:
            raise MalformedReceiptError(f"receipt is {exc}") from exc
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        """The wire object: core members in spec order, then ``weight_hash``, then claims."""
        out: dict[str, Any] = self.unsigned_dict()
        out["signature"] = self.signature
        return out

    def unsigned_dict(self) -> dict[str, Any]:
        """Every member except ``signature``: what the signature covers."""
        out: dict[str, Any] = {
            "receipt_id": self.receipt_id,
            "model_id": self.model_id,
            "prompt_hash": self.prompt_hash,
            "output_hash": self.output_hash,
            "issued_at": self.issued_at,
            "nonce": self.nonce,
            "key_id": self.key_id,
        }
        if self.weight_hash is not None:
            out["weight_hash"] = self.weight_hash
        out.update(self.claims)
        return out

    def signing_bytes(self) -> bytes:
        """RFC 8785 bytes of the receipt without ``signature`` (seed 004, "Canonicalization")."""
        return canonicalize(self.unsigned_dict())

    @property
    def issued_at_datetime(self) -> datetime:
        """``issued_at`` as an aware UTC datetime."""
        return _time.parse_strict(self.issued_at)


def _string_member(data: Mapping[str, Any], name: str) -> str:
    if name not in data:
        raise MalformedReceiptError(f"receipt member '{name}' is missing")
    value = data[name]
    if not isinstance(value, str):
        raise MalformedReceiptError(f"receipt member '{name}' must be a string")
    return value


def check_identifier(name: str, value: str) -> None:
    """Raise :class:`MalformedReceiptError` unless ``value`` is a usable identifier."""
    if not value or len(value) > _MAX_ID or _CONTROL.search(value):
        raise MalformedReceiptError(
            f"receipt member '{name}' must be 1-{_MAX_ID} characters without control characters"
        )


def check_hex(name: str, value: str) -> None:
    """Raise :class:`MalformedReceiptError` unless ``value`` is lowercase hex SHA-256."""
    if not _HEX64.match(value):
        raise MalformedReceiptError(f"receipt member '{name}' must be 64 lowercase hex digits")
