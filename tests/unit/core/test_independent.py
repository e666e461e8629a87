"""Our receipts verify with an independent implementation written from the spec text.

Seed 004, written again here without importing llmseal's verifier: canonical bytes
are RFC 8785 JCS (the ``rfc8785`` package) of the receipt without ``signature``;
the signature is Ed25519, standard base64; hashes are lowercase hex SHA-256 of the
canonical request and response bodies.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from llmseal.core.keys import Ed25519Signer
from llmseal.core.receipt import Receipt
from llmseal.core.sign import issue_receipt


def spec_verify(
    receipt: dict[str, Any], keyset: list[dict[str, Any]], prompt: Any, output: Any
) -> str:
    keys = {k["key_id"]: k for k in keyset}
    key = keys.get(receipt["key_id"])
    if key is None:
        return "unknown_key"
    if key["status"] == "revoked" and receipt["issued_at"] >= key["rotated_at"]:
        return "revoked"  # same-format UTC timestamps compare as strings
    unsigned = {k: v for k, v in receipt.items() if k != "signature"}
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"]))
    try:
        public.verify(base64.b64decode(receipt["signature"]), rfc8785.dumps(unsigned))
    except InvalidSignature:
        return "tampered"
    if (
        prompt is not None
        and hashlib.sha256(rfc8785.dumps(prompt)).hexdigest() != receipt["prompt_hash"]
    ):
        return "tampered"
    if (
        output is not None
        and hashlib.sha256(rfc8785.dumps(output)).hexdigest() != receipt["output_hash"]
    ):
        return "tampered"
    return "valid"


def _keyset(signer: Ed25519Signer) -> list[dict[str, Any]]:
    raw = signer.public_key().raw
    return [
        {"key_id": signer.key_id, "public_key": base64.b64encode(raw).decode(), "status": "active"}
    ]


def test_independent_verifier_accepts_our_receipts(
    receipt: Receipt, signer: Ed25519Signer, request_body: Any, response_body: Any
) -> None:
    wire = receipt.to_dict()
    assert spec_verify(wire, _keyset(signer), request_body, response_body) == "valid"
    wire["claims_were_signed"] = True
    assert spec_verify(wire, _keyset(signer), request_body, response_body) == "tampered"


def test_independent_verifier_with_weight_hash_and_nested_claims(
    signer: Ed25519Signer, t0: Any
) -> None:
    prompt = {"messages": [{"role": "user", "content": "¿Qué?"}], "temperature": 0.2, "n": 1}
    output = {
        "choices": [{"message": {"content": "1e-7 ≈ 0.0000001"}}],
        "usage": {"total_tokens": 9},
    }
    receipt = issue_receipt(
        signer,
        model_id="lab/model",
        prompt_hash=hashlib.sha256(rfc8785.dumps(prompt)).hexdigest(),
        output_hash=hashlib.sha256(rfc8785.dumps(output)).hexdigest(),
        at=t0,
        weight_hash="0f" * 32,
        claims={"timing": {"upstream_ms": 12, "ratio": 0.5}, "parents": ["a", "b"]},
    )
    assert spec_verify(receipt.to_dict(), _keyset(signer), prompt, output) == "valid"


def test_the_official_vectors_pass_the_independent_verifier(attest_vectors: dict[str, Any]) -> None:
    for case in attest_vectors["cases"]:
        assert (
            spec_verify(case["receipt"], attest_vectors["keyset"], None, None) == case["expected"]
        )
