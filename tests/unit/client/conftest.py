"""A signed exchange the client tests can alter: a key, a request, a sealed answer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
import pytest

from llmseal.bench._payload import REQUEST, RESPONSE
from llmseal.client.verifier import Expectations, ResponseVerifier
from llmseal.core.keys import Ed25519Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.core.sign import sign_exchange

REQUEST_BYTES = orjson.dumps(REQUEST)


@pytest.fixture
def signer() -> Ed25519Signer:
    return Ed25519Signer.generate("client-test-key")


@pytest.fixture
def keyset(signer: Ed25519Signer) -> KeySet:
    return KeySet([KeyEntry(signer.key_id, signer.public_key())])


@pytest.fixture
def sealed(signer: Ed25519Signer, t0: datetime) -> Callable[..., bytes]:
    """The body a gateway delivers for REQUEST, with ``claims`` signed into the receipt."""

    def make(**claims: Any) -> bytes:
        claims = {"endpoint": "/v1/chat/completions", "status_code": 200, **claims}
        claims = {k: v for k, v in claims.items() if v is not None}
        receipt = sign_exchange(
            signer, model_id="lab/model-1", request=REQUEST, response=RESPONSE, at=t0,
            claims=claims,
        )  # fmt: skip
        return orjson.dumps({**RESPONSE, "receipt": receipt.to_dict()})

    return make


@pytest.fixture
def verifier(keyset: KeySet) -> Callable[..., ResponseVerifier]:
    def make(**options: Any) -> ResponseVerifier:
        expect = Expectations(
            issuer=options.pop("issuer", None), models=tuple(options.pop("models", ()))
        )
        return ResponseVerifier(keyset, expect=expect, **options)

    return make
