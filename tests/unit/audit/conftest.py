"""Signed exchanges built in-process (a real key, real receipts) for the audit units."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import orjson
import pytest

from llmseal.audit.exchange import VALID, ObservedExchange
from llmseal.core.keys import Ed25519Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.core.sign import sign_exchange

Exchange = Callable[..., ObservedExchange]


@pytest.fixture
def issuer_key() -> Ed25519Signer:
    return Ed25519Signer.generate("audit-test")


@pytest.fixture
def issuer_keys(issuer_key: Ed25519Signer, t0: datetime) -> KeySet:
    return KeySet([KeyEntry(issuer_key.key_id, issuer_key.public_key(), "active", None)])


@pytest.fixture
def signed_exchange(issuer_key: Ed25519Signer, t0: datetime) -> Exchange:
    """``signed_exchange(probe_id, family, request, response)``: sealed as a gateway would."""

    def make(
        probe_id: str,
        family: str,
        request: Mapping[str, Any],
        response: Mapping[str, Any],
        *,
        model: str = "smollm2-135m-instruct",
    ) -> ObservedExchange:
        usage = response.get("usage")
        claims: dict[str, Any] = {"issuer": "gw.test", "endpoint": "/v1/chat/completions",
                                  "status_code": 200}  # fmt: skip
        if usage is not None:
            claims["usage"] = usage
        receipt = sign_exchange(
            issuer_key, model_id=model, request=request, response=response, at=t0, claims=claims
        )
        body = {**response, "receipt": receipt.to_dict()}
        return ObservedExchange(
            probe_id=probe_id, family=family, method="POST", endpoint="/v1/chat/completions",
            request=orjson.dumps(request), status_code=200, response=orjson.dumps(body),
            headers=(("content-type", "application/json"),), verification=VALID,
            receipt_id=receipt.receipt_id,
        )  # fmt: skip

    return make
