"""Sealed answers made in-process (no gateway), and verifiers with a fixed clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from llmseal.bench._support.payload import REQUEST, RESPONSE
from llmseal.client.failures import Expectations
from llmseal.client.verifier import ResponseVerifier
from llmseal.core.hashing import hash_json, hash_response
from llmseal.core.keys import Ed25519Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.core.sign import issue_receipt, sign_exchange

NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
ENDPOINT = "/v1/chat/completions"


@dataclass
class Issuer:
    signer: Ed25519Signer
    keyset: KeySet

    def seal(
        self,
        *,
        at: datetime = NOW,
        request: dict[str, Any] | None = None,
        response: dict[str, Any] | None = None,
        claims: dict[str, Any] | None = None,
        receipt_id: str | None = None,
        signer: Ed25519Signer | None = None,
    ) -> tuple[bytes, bytes]:
        """(request bytes, sealed response bytes) as the gateway would deliver them."""
        request = request if request is not None else dict(REQUEST)
        response = response if response is not None else dict(RESPONSE)
        receipt = issue_receipt(
            signer or self.signer, model_id="m", at=at, receipt_id=receipt_id,
            prompt_hash=hash_json(request), output_hash=hash_response(response),
            claims={"endpoint": ENDPOINT, "status_code": 200, **(claims or {})},
        )  # fmt: skip
        return orjson.dumps(request), orjson.dumps({**response, "receipt": receipt.to_dict()})


@pytest.fixture
def issuer() -> Issuer:
    signer = Ed25519Signer.generate("unit-2026q4")
    entry = KeyEntry(signer.key_id, signer.public_key(), "active", NOW - timedelta(days=300))
    return Issuer(signer, KeySet([entry]))


@pytest.fixture
def make_verifier(issuer: Issuer) -> Callable[..., ResponseVerifier]:
    def make(**options: Any) -> ResponseVerifier:
        options.setdefault("clock", lambda: NOW)
        return ResponseVerifier(options.pop("keys", issuer.keyset), **options)

    return make


REQUEST_BYTES = orjson.dumps(REQUEST)


@pytest.fixture
def signer() -> Ed25519Signer:
    return Ed25519Signer.generate("client-test-key")


@pytest.fixture
def keyset(signer: Ed25519Signer) -> KeySet:
    return KeySet([KeyEntry(signer.key_id, signer.public_key())])


@pytest.fixture
def sealed(signer: Ed25519Signer, t0: datetime) -> Callable[..., bytes]:
    """The body a gateway delivers for REQUEST at ``t0``, with ``claims`` signed in."""

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
def verifier(keyset: KeySet, t0: datetime) -> Callable[..., ResponseVerifier]:
    """A verifier whose clock reads ``t0``: the receipts above are live answers."""

    def make(**options: Any) -> ResponseVerifier:
        expect = Expectations(
            issuer=options.pop("issuer", None), models=tuple(options.pop("models", ()))
        )
        options.setdefault("clock", lambda: t0)
        return ResponseVerifier(options.pop("keys", keyset), expect=expect, **options)

    return make
