"""Issuing receipts.

:func:`issue_receipt` signs precomputed hashes; :func:`sign_exchange` hashes a
request/response pair first (design.md, "Content hashes"). Both take the issue
time as ``at=``: only the outermost callers (CLI, gateway) read the clock.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from llmseal.core import _time
from llmseal.core.canonical import canonicalize
from llmseal.core.hashing import hash_json, hash_response
from llmseal.core.keys import Signer
from llmseal.core.receipt import RESERVED_MEMBERS, Receipt, check_hex, check_identifier
from llmseal.errors import MalformedReceiptError

__all__ = ["issue_receipt", "new_nonce", "new_receipt_id", "sign_exchange"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def new_nonce() -> str:
    """128 random bits, base64url without padding (seed 004: required, prevents replay)."""
    return _nonce(os.urandom(16))


def new_receipt_id() -> str:
    """A random UUID (v4), unique per completion."""
    return _uuid4(os.urandom(16))


def _uuid4(raw: bytes) -> str:
    """RFC 9562 version-4 UUID text from 16 random bytes (uuid.UUID costs ~5 µs more)."""
    b = bytearray(raw)
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _nonce(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def issue_receipt(
    signer: Signer,
    *,
    model_id: str,
    prompt_hash: str,
    output_hash: str,
    at: datetime,
    claims: Mapping[str, Any] | None = None,
    weight_hash: str | None = None,
    receipt_id: str | None = None,
    nonce: str | None = None,
) -> Receipt:
    """Build and sign a receipt over already-computed content hashes.

    Raises:
        MalformedReceiptError: an argument would make a receipt that is not v0.3
            (bad hash encoding, empty model id, a claim named like a core member).
        CanonicalizationError: a claim value is not JSON.
    """
    check_identifier("model_id", model_id)
    check_hex("prompt_hash", prompt_hash)
    check_hex("output_hash", output_hash)
    if receipt_id is not None:
        check_identifier("receipt_id", receipt_id)
    # One getrandom() call for both random values: it is a syscall, ~5 µs here.
    entropy = os.urandom(32)
    body: dict[str, Any] = {
        "receipt_id": receipt_id or _uuid4(entropy[:16]),
        "model_id": model_id,
        "prompt_hash": prompt_hash,
        "output_hash": output_hash,
        "issued_at": _time.format_utc(at),
        "nonce": nonce or _nonce(entropy[16:]),
        "key_id": signer.key_id,
    }
    if weight_hash is not None:
        check_hex("weight_hash", weight_hash)
        body["weight_hash"] = weight_hash
    frozen_claims = _EMPTY
    if claims:
        clash = RESERVED_MEMBERS.intersection(claims)
        if clash:
            raise MalformedReceiptError(f"claims may not redefine {sorted(clash)}")
        frozen_claims = MappingProxyType(dict(claims))
        body.update(frozen_claims)
    signature = base64.b64encode(signer.sign(canonicalize(body))).decode("ascii")
    return Receipt(
        receipt_id=body["receipt_id"],
        model_id=model_id,
        prompt_hash=prompt_hash,
        output_hash=output_hash,
        issued_at=body["issued_at"],
        nonce=body["nonce"],
        key_id=body["key_id"],
        signature=signature,
        weight_hash=weight_hash,
        claims=frozen_claims,
    )


def sign_exchange(
    signer: Signer,
    *,
    model_id: str,
    request: Any,
    response: Any,
    at: datetime,
    claims: Mapping[str, Any] | None = None,
    weight_hash: str | None = None,
) -> Receipt:
    """Hash a parsed request and response body and issue their receipt."""
    return issue_receipt(
        signer,
        model_id=model_id,
        prompt_hash=hash_json(request),
        output_hash=hash_response(response),
        at=at,
        claims=claims,
        weight_hash=weight_hash,
    )
