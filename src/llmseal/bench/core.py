"""Receipt issue and verify vs llm_sign 0.2.0 and bare Ed25519, in one process.

* ours: full issue (hash request and response, build, canonicalize, sign) and full
  verify (parse the receipt, check key, signature and both content hashes);
* llm_sign: ``server.sign_openai_chat_turn`` and the pinned-key
  ``client.verify_openai_response_with_public_key`` with an Ed25519 key (also with
  ``request=``, its closest equivalent of our request binding);
* raw: Ed25519 sign/verify of 200 bytes.
"""

from __future__ import annotations

import copy
import os
from datetime import UTC, datetime
from typing import Any

import rfc8785

from llmseal.bench._support.payload import REQUEST, RESPONSE, payload_sizes
from llmseal.bench._support.timing import ops_per_second
from llmseal.core.canonical import ACCELERATED, canonicalize
from llmseal.core.keys import Ed25519Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.core.sign import sign_exchange
from llmseal.core.verify import verify_receipt

__all__ = ["run"]


def run(*, quick: bool) -> dict[str, Any]:
    seconds = 0.25 if quick else 2.0
    signer = Ed25519Signer.generate("bench-key")
    keyset = KeySet([KeyEntry("bench-key", signer.public_key())])
    at = datetime.now(UTC)
    receipt = sign_exchange(signer, model_id="m", request=REQUEST, response=RESPONSE, at=at)
    wire = receipt.to_dict()
    message = os.urandom(200)
    raw_sig = signer.sign(message)
    public = signer.public_key()
    assert verify_receipt(wire, keyset, prompt=REQUEST, output=RESPONSE)

    sign_ops = ops_per_second(
        lambda: sign_exchange(signer, model_id="m", request=REQUEST, response=RESPONSE, at=at),
        seconds=seconds,
    )
    verify_ops = ops_per_second(
        lambda: verify_receipt(wire, keyset, prompt=REQUEST, output=RESPONSE), seconds=seconds
    )
    raw_sign = ops_per_second(lambda: signer.sign(message), seconds=seconds)
    raw_verify = ops_per_second(lambda: public.verify(raw_sig, message), seconds=seconds)
    peer = _llm_sign(seconds)
    request_bytes, response_bytes = payload_sizes()
    return {
        "payload_bytes": {"request": request_bytes, "response": response_bytes},
        "sign": {
            "ops_per_s": round(sign_ops),
            "llm_sign_ops_per_s": peer["sign"],
            "raw_ops_per_s": round(raw_sign),
            "vs_llm_sign": _ratio(sign_ops, peer["sign"]),
            "vs_raw": _ratio(sign_ops, raw_sign),
        },
        "verify": {
            "ops_per_s": round(verify_ops),
            "llm_sign_ops_per_s": peer["verify"],
            "llm_sign_with_request_ops_per_s": peer["verify_request"],
            "raw_ops_per_s": round(raw_verify),
            "vs_llm_sign": _ratio(verify_ops, peer["verify"]),
            "vs_raw": _ratio(verify_ops, raw_verify),
        },
        "canonicalize": _canonicalize(seconds),
    }


def _canonicalize(seconds: float) -> dict[str, Any]:
    ours = ops_per_second(lambda: canonicalize(RESPONSE), seconds=seconds / 2)
    reference = ops_per_second(lambda: rfc8785.dumps(RESPONSE), seconds=seconds / 2)
    return {
        "accelerated": ACCELERATED,
        "ops_per_s": round(ours),
        "rfc8785_ops_per_s": round(reference),
        "speedup": _ratio(ours, reference),
    }


def _llm_sign(seconds: float) -> dict[str, int | None]:
    try:
        from llm_sign import client, server
    except ImportError:
        return {"sign": None, "verify": None, "verify_request": None}
    pair = server.generate_ed25519_key_pair()
    peer_signer = server.signer_from_key_pair(pair, issuer="api.provider.example")
    signed = copy.deepcopy(RESPONSE)
    artifact = server.sign_openai_chat_turn(request=REQUEST, response=RESPONSE, signer=peer_signer)
    server.attach_signed_artifact_to_openai_response(signed, artifact=artifact)
    public = pair.private_key.public_key()
    check = client.verify_openai_response_with_public_key(signed, public_key=public)
    if not check.valid:  # pragma: no cover - would mean the peer changed
        return {"sign": None, "verify": None, "verify_request": None}
    sign = ops_per_second(
        lambda: server.sign_openai_chat_turn(
            request=REQUEST, response=RESPONSE, signer=peer_signer
        ),
        seconds=seconds,
    )
    verify = ops_per_second(
        lambda: client.verify_openai_response_with_public_key(signed, public_key=public),
        seconds=seconds,
    )
    verify_request = ops_per_second(
        lambda: client.verify_openai_response_with_public_key(
            signed, public_key=public, request=REQUEST
        ),
        seconds=seconds,
    )
    return {"sign": round(sign), "verify": round(verify), "verify_request": round(verify_request)}


def _ratio(ours: float, theirs: float | int | None) -> float | None:
    if not theirs:
        return None
    return round(ours / theirs, 2)
