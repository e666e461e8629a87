"""The receipt API: keys, lookup, verify stored, verify posted (seed 004)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from llmseal.gateway.app import Gateway

REQUEST = {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def exchange(gateway: tuple[Gateway, str]) -> tuple[str, dict[str, object]]:
    _, url = gateway
    return url, httpx.post(f"{url}/v1/chat/completions", json=REQUEST).json()


def test_keys_endpoint_serves_public_keys_only(gateway: tuple[Gateway, str]) -> None:
    app, url = gateway
    response = httpx.get(f"{url}/v1/receipts/keys")
    keys = response.json()["keys"]
    assert [k["key_id"] for k in keys] == [app.sealer.signer.key_id]
    assert set(keys[0]) == {"key_id", "public_key", "status", "created_at", "rotated_at"}
    assert b"PRIVATE" not in response.content
    pem = sorted(Path(app.config.keys_dir).glob("*.pem"))
    assert len(pem) == 1, pem  # the gateway's one signing key
    secret = "".join(pem[0].read_text().splitlines()[1:-1])
    assert len(secret) > 40 and secret not in response.text


def test_get_and_verify_stored(exchange: tuple[str, dict[str, object]]) -> None:
    url, body = exchange
    receipt = body["receipt"]
    assert isinstance(receipt, dict)
    stored = httpx.get(f"{url}/v1/receipts/{receipt['receipt_id']}")
    assert stored.json() == receipt
    verdict = httpx.get(f"{url}/v1/receipts/{receipt['receipt_id']}/verify").json()
    assert verdict["status"] == "valid"
    assert verdict["key_id"] == receipt["key_id"] and verdict["issued_at"] == receipt["issued_at"]
    assert httpx.get(f"{url}/v1/receipts/nope").status_code == 404
    assert httpx.get(f"{url}/v1/receipts/nope/verify").status_code == 404


def test_post_verify_with_content(exchange: tuple[str, dict[str, object]]) -> None:
    url, body = exchange
    receipt = body["receipt"]
    assert isinstance(receipt, dict)
    output = json.dumps(body)
    ok = httpx.post(
        f"{url}/v1/receipts/verify",
        json={"receipt": receipt, "prompt": json.dumps(REQUEST), "output": output},
    ).json()
    assert ok["status"] == "valid"
    altered = output.replace("echo: hi", "echo: bye")
    bad = httpx.post(
        f"{url}/v1/receipts/verify", json={"receipt": receipt, "output": altered}
    ).json()
    assert bad["status"] == "tampered"
    forged = dict(receipt, model_id="gpt-frontier")
    assert (
        httpx.post(f"{url}/v1/receipts/verify", json={"receipt": forged}).json()["status"]
        == "tampered"
    )


@pytest.mark.parametrize(
    "payload",
    [
        b"nope",
        b"[]",
        b'{"prompt": "x"}',
        b'{"receipt": {"receipt_id": 1}}',
        b'{"receipt": {}, "output": 5}',
    ],
)
def test_post_verify_bad_input_is_400(
    exchange: tuple[str, dict[str, object]], payload: bytes
) -> None:
    url, _ = exchange
    response = httpx.post(f"{url}/v1/receipts/verify", content=payload)
    assert response.status_code == 400
    assert response.json()["error"]["message"]


def test_post_verify_content_not_json_is_400(exchange: tuple[str, dict[str, object]]) -> None:
    url, body = exchange
    response = httpx.post(
        f"{url}/v1/receipts/verify", json={"receipt": body["receipt"], "output": "<html>"}
    )
    assert response.status_code == 400
