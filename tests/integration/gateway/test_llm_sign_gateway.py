"""``serve --llm-sign-cert/--llm-sign-key``: llm_sign's own client accepts what we send."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from llm_sign import client

from llmseal.compat.llm_sign import LlmSignStatus, verify_llm_sign
from llmseal.core.verify import Status, verify_receipt
from llmseal.errors import ConfigError
from llmseal.gateway.app import Gateway
from llmseal.gateway.config.config import GatewayConfig
from llmseal.trust.x509.ca import CertificateAuthority
from llmseal.trust.x509.chain import ChainValidator, TrustAnchors
from tests.integration.gateway.conftest import keyset_of
from tests.spec_verifier import body_output, sha256_jcs, spec_verify, stream_output

HOST = "api.lab.example"
REQUEST = {
    "model": "fake-model",
    "messages": [{"role": "user", "content": "Bonjour <ça> & 😀"}],
    "temperature": 0.5,
    "top_k": 40,  # a vendor extension llm_sign does not sign; our receipt does
}


def _keys_json(url: str) -> list[dict[str, Any]]:
    keys: list[dict[str, Any]] = httpx.get(f"{url}/v1/receipts/keys").json()["keys"]
    return keys


@pytest.fixture
def lab(tmp_path: Path) -> tuple[CertificateAuthority, dict[str, str]]:
    now = datetime.now(UTC) - timedelta(hours=1)
    authority = CertificateAuthority(tmp_path / "ca")
    authority.init(domain="lab.example", org="Example Lab", at=now)
    issued = authority.issue("api", at=now, dns_names=[HOST])
    files = {"llm_sign_cert": str(issued.chain_path), "llm_sign_key": str(issued.key_path)}
    return authority, files


def test_chat_response_carries_llm_sign_beside_the_receipt(
    gateway_factory: Callable[..., tuple[Gateway, str]],
    lab: tuple[CertificateAuthority, dict[str, str]],
) -> None:
    authority, files = lab
    _, url = gateway_factory(**files)
    sdk = openai.OpenAI(base_url=f"{url}/v1", api_key="sk-test")
    raw = sdk.chat.completions.with_raw_response.create(  # type: ignore[call-overload]
        model=REQUEST["model"],
        messages=REQUEST["messages"],
        temperature=REQUEST["temperature"],
        extra_body={"top_k": 40},
    )
    body: dict[str, Any] = json.loads(raw.http_response.content)
    sent = json.loads(raw.http_request.content)
    assert set(body["llm_sign"]) == {"artifact", "certificate_chain", "artifact_hash"}
    assert body["receipt"]["prompt_hash"] == sha256_jcs(sent)
    # The peer's client, as its README says to call it, with our root and the request.
    theirs = client.verify_openai_response(
        body, trust_anchors=[authority.root()], expected_host=HOST, request=sent
    )
    assert theirs.valid, theirs.errors
    assert [b.payload_state for b in theirs.blocks] == ["payload_verified"] * 2
    # Our receipt still verifies: llm_sign is a gateway member, outside output_hash.
    receipt = verify_receipt(body["receipt"], keyset_of(url), prompt=sent, output=body)
    assert receipt.status is Status.VALID, receipt.reasons
    validator = ChainValidator(TrustAnchors([authority.root()], source="lab root"))
    ours = verify_llm_sign(body, validator, at=datetime.now(UTC), issuer=HOST, request=sent)
    assert ours.status is LlmSignStatus.VALID, ours.reasons
    assert raw.parse().choices[0].message.content == "echo: Bonjour <ça> & 😀"


def test_no_envelope_on_streams_and_errors(
    gateway_factory: Callable[..., tuple[Gateway, str]],
    lab: tuple[CertificateAuthority, dict[str, str]],
) -> None:
    _, url = gateway_factory(**lab[1])
    keys = keyset_of(url)
    error = httpx.post(f"{url}/v1/chat/completions", json=REQUEST, headers={"x-fake": "status:503"})
    assert error.status_code == 503 and set(error.json()) == {"error", "receipt"}
    assert verify_receipt(error.json()["receipt"], keys, prompt=REQUEST, output=error.json())
    chained = httpx.post(f"{url}/v1/chat/completions", json=REQUEST, headers={"x-fake": "receipt"})
    # The re-serialized path (the upstream answer carried a receipt) gets an envelope too.
    assert chained.json()["receipt"]["parents"] == [{"receipt_id": "parent"}]
    assert set(chained.json()["llm_sign"]) == {"artifact", "certificate_chain", "artifact_hash"}
    stream = httpx.post(f"{url}/v1/chat/completions", json={**REQUEST, "stream": True})
    assert b"llm_sign" not in stream.content
    chunks, receipt = stream_output(stream.content)
    assert spec_verify(receipt, _keys_json(url), {**REQUEST, "stream": True}, chunks) == "valid"


def test_without_the_options_nothing_changes(gateway: tuple[Gateway, str]) -> None:
    _, url = gateway
    body = httpx.post(f"{url}/v1/chat/completions", json=REQUEST).json()
    assert "llm_sign" not in body
    assert spec_verify(body["receipt"], _keys_json(url), REQUEST, body_output(body)) == "valid"


def test_options_go_together(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="together"):
        GatewayConfig(upstream="http://127.0.0.1:1", data_dir=str(tmp_path), llm_sign_cert="x")


def test_serve_refuses_a_key_that_is_not_the_leaf(
    cli: Callable[..., Any], lab: tuple[CertificateAuthority, dict[str, str]], tmp_path: Path
) -> None:
    authority, files = lab
    other = authority.issue("other", at=datetime.now(UTC) - timedelta(hours=1))
    result = cli(
        "serve",
        "--upstream",
        "http://127.0.0.1:9",
        "--data-dir",
        tmp_path / "gw",
        "--llm-sign-cert",
        files["llm_sign_cert"],
        "--llm-sign-key",
        other.key_path,
    )
    assert result.status == 2 and "does not match the leaf" in result.stderr
