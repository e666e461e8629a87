"""ReceiptGate: 400 for malformed input, 403 with the failed rules, 200 with the admission."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from llmseal.bench._support.payload import REQUEST, RESPONSE
from llmseal.client.admission import Admission, ReceiptGate
from llmseal.core.keys import Ed25519Signer
from llmseal.core.keyset import KeySet
from llmseal.core.policy import Policy
from llmseal.core.sign import sign_exchange
from llmseal.errors import ConfigError


def _app(gate: ReceiptGate) -> TestClient:
    app = FastAPI()

    @app.post("/merge")
    async def merge(admission: Admission = Depends(gate)) -> dict[str, Any]:  # noqa: B008
        return {
            "receipt_id": admission.verification.receipt.receipt_id,
            "admitted": bool(admission.policy),
            "prompt": admission.prompt if isinstance(admission.prompt, dict) else None,
        }

    return TestClient(app)


@pytest.fixture
def exchange(signer: Ed25519Signer, t0: datetime) -> dict[str, Any]:
    claims = {"issuer": "review.example"}
    receipt = sign_exchange(
        signer, model_id="lab/reviewer-2", request=REQUEST, response=RESPONSE, at=t0, claims=claims
    )
    return {"receipt": receipt.to_dict(), "prompt": REQUEST, "output": json.dumps(RESPONSE)}


@pytest.fixture
def gate(keyset: KeySet, t0: datetime) -> Callable[..., TestClient]:
    def make(policy: str = "", **options: Any) -> TestClient:
        options.setdefault("clock", lambda: t0 + timedelta(minutes=1))
        return _app(ReceiptGate(Policy.from_toml(policy), keyset, **options))

    return make


def test_a_conforming_receipt_is_admitted(
    gate: Callable[..., TestClient], exchange: dict[str, Any]
) -> None:
    policy = 'issuers = ["review.example"]\nmodels = ["lab/reviewer-*"]\n'
    policy += 'require_content = ["prompt", "output"]\nmax_age = "1h"'
    answer = gate(policy).post("/merge", json=exchange)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "receipt_id": exchange["receipt"]["receipt_id"], "admitted": True, "prompt": REQUEST,
    }  # fmt: skip


def test_policy_failures_are_403_with_every_rule(
    gate: Callable[..., TestClient], exchange: dict[str, Any], t0: datetime
) -> None:
    policy = 'issuers = ["other.example"]\nrequire_content = ["prompt"]\nmax_age = "30s"'
    answer = gate(policy).post("/merge", json={"receipt": exchange["receipt"]})
    assert answer.status_code == 403
    detail = answer.json()["detail"]
    assert detail["status"] == "valid"
    assert [f.split(":")[0] for f in detail["failures"]] == [
        "require_content", "issuers", "max_age"
    ]  # fmt: skip
    edited = {**exchange, "output": json.dumps({**RESPONSE, "id": "forged"})}
    tampered = gate().post("/merge", json=edited)
    assert tampered.status_code == 403 and tampered.json()["detail"]["status"] == "tampered"


def test_a_missing_receipt(gate: Callable[..., TestClient]) -> None:
    required = gate().post("/merge", json={"prompt": "x"})
    assert required.status_code == 403
    assert required.json()["detail"] == {
        "status": "missing",
        "failures": ["require_receipt: no receipt supplied"],
        "reasons": ["no receipt supplied"],
    }
    optional = gate("require_receipt = false").post("/merge", json={"receipt": None})
    assert optional.status_code == 400 and optional.json()["detail"] == "no receipt to check"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "body is not JSON"),
        (b"[1]", 'expected {"receipt"'),
        (b'{"receipt": {"a": 1}}', "unusable receipt or content"),
        (b'{"receipt": {}, "prompt": 5}', "prompt must be JSON text or a JSON value"),
        (b'{"receipt": {}, "output": true}', "output must be JSON text or a JSON value"),
    ],
)
def test_malformed_input_is_400(gate: Callable[..., TestClient], body: bytes, message: str) -> None:
    answer = gate().post("/merge", content=body)
    assert answer.status_code == 400 and message in answer.json()["detail"]


def test_prompt_and_output_as_text(
    gate: Callable[..., TestClient], exchange: dict[str, Any]
) -> None:
    as_text = {**exchange, "prompt": json.dumps(REQUEST, indent=2)}
    assert (
        gate('require_content = ["prompt", "output"]')
        .post("/merge", json=as_text)
        .json()["admitted"]
    )
    not_json = {**exchange, "prompt": "{not json"}
    assert gate().post("/merge", json=not_json).status_code == 400


def test_a_body_over_the_limit_is_413(
    gate: Callable[..., TestClient], exchange: dict[str, Any]
) -> None:
    size = len(json.dumps(exchange).encode())
    assert gate(max_body=size).post("/merge", content=json.dumps(exchange)).status_code == 200
    assert gate(max_body=size - 1).post("/merge", content=json.dumps(exchange)).status_code == 413


def test_keys_come_from_the_argument_or_the_policy(tmp_path: Any, keyset: KeySet) -> None:
    with pytest.raises(ConfigError, match="needs keys= or a policy that lists keysets"):
        ReceiptGate(Policy())
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(keyset.to_dict()))
    gate = ReceiptGate(Policy.from_toml(f'keysets = ["{path}"]'))
    key_id = next(iter(keyset)).key_id
    assert gate.keys.resolve(key_id) == keyset.resolve(key_id)
