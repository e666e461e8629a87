"""Our receipts verify with an independent implementation written from the spec text.

The verifier is ``tests/spec_verifier.py`` (seed 004 again, nothing imported from
llmseal); ``tests/integration/gateway/test_independent_gateway.py`` runs it on real
gateway output, plain and streamed.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import rfc8785

from llmseal.core.keys import Ed25519Signer
from llmseal.core.receipt import Receipt
from llmseal.core.sign import issue_receipt
from tests.spec_verifier import spec_verify


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
    prompt: dict[str, Any] = {
        "messages": [{"role": "user", "content": "¿Qué?"}],
        "temperature": 0.2,
        "n": 1,
    }
    output: dict[str, Any] = {
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
