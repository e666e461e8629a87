"""An independent verifier written from the spec text (docs/spec/receipt.md, seed 004).

It imports nothing from llmseal: canonical bytes are RFC 8785 JCS from the ``rfc8785``
reference package, signatures are checked with ``cryptography``, SSE is split with the
standard library. Tests run it on what llmseal produces so a bug shared by llmseal's
signer and verifier (the same ``hash_json`` on both sides) cannot pass unnoticed.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

GATEWAY_MEMBERS = ("receipt", "receipt_evidence", "llm_sign")  # spec §3: left out of output


def sha256_jcs(value: Any) -> str:
    return hashlib.sha256(rfc8785.dumps(value)).hexdigest()


def spec_verify(
    receipt: dict[str, Any], keyset: list[dict[str, Any]], prompt: Any, output: Any
) -> str:
    """The v0.3 status of ``receipt``, checking ``prompt``/``output`` when not None."""
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
    if prompt is not None and sha256_jcs(prompt) != receipt["prompt_hash"]:
        return "tampered"
    if output is not None and sha256_jcs(output) != receipt["output_hash"]:
        return "tampered"
    return "valid"


def body_output(body: dict[str, Any]) -> dict[str, Any]:
    """A non-streamed response as the upstream produced it (spec §3)."""
    return {k: v for k, v in body.items() if k not in GATEWAY_MEMBERS}


_RECEIPT_COMMENT = ": llmseal-receipt 2 "


def stream_output(raw: bytes) -> tuple[list[Any], dict[str, Any]]:
    """``(chunks, receipt)`` of a sealed SSE stream, read the way docs/spec/stream.md says.

    Framing 2: the receipt is the one comment event ``: llmseal-receipt 2 {json}``; the
    chunks are the parsed data of every other event that has data, in order, without
    ``[DONE]`` (comments, ``event:`` and ``id:`` fields are not data).
    """
    chunks: list[Any] = []
    receipts: list[dict[str, Any]] = []
    text = raw.decode("utf-8").replace("\r\n", "\n")
    for event in text.split("\n\n"):
        lines = [line for line in event.split("\n") if line]
        if len(lines) == 1 and lines[0].startswith(_RECEIPT_COMMENT):
            receipts.append(json.loads(lines[0][len(_RECEIPT_COMMENT) :])["receipt"])
            continue
        data = [line[5:].removeprefix(" ") for line in lines if line.startswith("data:")]
        if data and data != ["[DONE]"]:
            chunks.append(json.loads("\n".join(data)))
    assert len(receipts) == 1, f"{len(receipts)} receipt comments in the stream"
    return chunks, receipts[0]
