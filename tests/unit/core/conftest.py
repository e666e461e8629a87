from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from llmseal.bench._support.payload import REQUEST, RESPONSE
from llmseal.core.keys import Ed25519Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.core.receipt import Receipt
from llmseal.core.sign import sign_exchange


@pytest.fixture
def signer() -> Ed25519Signer:
    return Ed25519Signer.generate("test-2026q2")


@pytest.fixture
def keyset(signer: Ed25519Signer, t0: datetime) -> KeySet:
    return KeySet([KeyEntry(signer.key_id, signer.public_key(), "active", t0.replace(month=1))])


@pytest.fixture
def request_body() -> dict[str, Any]:
    return dict(REQUEST)


@pytest.fixture
def response_body() -> dict[str, Any]:
    return dict(RESPONSE)


@pytest.fixture
def receipt(
    signer: Ed25519Signer, t0: datetime, request_body: dict[str, Any], response_body: dict[str, Any]
) -> Receipt:
    return sign_exchange(
        signer,
        model_id="example.org/smollm2-135m",
        request=request_body,
        response=response_body,
        at=t0,
        claims={"issuer": "api.example.org", "usage": {"total_tokens": 303}, "note": "<>&é 日本"},
    )
