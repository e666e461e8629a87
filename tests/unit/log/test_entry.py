"""The log entry is the receipt as delivered, recomputable by anyone who holds it."""

from __future__ import annotations

import hashlib
from datetime import datetime

import orjson
import pytest
import rfc8785

from llmseal.core.keys import Ed25519Signer
from llmseal.core.receipt import Receipt
from llmseal.core.sign import issue_receipt
from llmseal.errors import LogFormatError
from llmseal.log.entry import receipt_entry, receipt_leaf_hash


def _receipt(t0: datetime, **claims: object) -> Receipt:
    return issue_receipt(
        Ed25519Signer.generate("k1"),
        model_id="lab/model",
        prompt_hash="0" * 64,
        output_hash="1" * 64,
        at=t0,
        claims=claims or None,
    )


def test_entry_is_jcs_of_the_whole_receipt_signature_included(t0: datetime) -> None:
    receipt = _receipt(t0, usage={"total_tokens": 3}, issuer="gw.example")
    wire = orjson.loads(orjson.dumps(receipt.to_dict(), option=orjson.OPT_INDENT_2))
    entry = receipt_entry(wire)
    assert entry == bytes(rfc8785.dumps(wire)) == receipt_entry(receipt)
    assert b'"signature":"' + receipt.signature.encode() + b'"' in entry
    assert receipt_leaf_hash(wire) == hashlib.sha256(b"\x00" + entry).digest()
    other = dict(wire, signature=wire["signature"][:-3] + "AA=")
    assert receipt_leaf_hash(other) != receipt_leaf_hash(wire)  # the signature is in the leaf


def test_oversize_receipt_is_not_an_entry(t0: datetime) -> None:
    with pytest.raises(LogFormatError, match="over 65535"):
        receipt_entry(_receipt(t0, note="x" * 70_000))
