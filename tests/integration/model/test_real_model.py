"""Issue 3 "Must show": the gateway in front of the real SmolLM2 server, openai SDK."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from llmseal.core.framing import read_stream
from llmseal.core.hashing import hash_json
from llmseal.core.keyset import KeySet
from llmseal.core.verify import Status, verify_receipt
from llmseal.gateway.app import Gateway
from llmseal.gateway.config.config import GatewayConfig
from llmseal.gateway.config.datadir import prepare_data_dir
from tests.helpers import ThreadedUvicorn, recording_client

pytestmark = [pytest.mark.slow, pytest.mark.model]
QUESTION = {
    "model": "smollm2-135m-instruct",
    "messages": [{"role": "user", "content": "Name one primary colour. One word."}],
    "max_tokens": 24,
    "temperature": 0,
}


@pytest.fixture(scope="module")
def gateway_url(
    model_server: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    from datetime import UTC, datetime

    data = tmp_path_factory.mktemp("issuer")
    config = prepare_data_dir(
        GatewayConfig(upstream=model_server, data_dir=str(data), issuer="smollm2.test"),
        at=datetime.now(UTC),
    )
    with ThreadedUvicorn(Gateway(config)) as server:
        yield server.url


def _keys(url: str) -> KeySet:
    return KeySet.from_json(httpx.get(f"{url}/v1/receipts/keys").content)


def test_plain_answer_through_the_sdk(gateway_url: str) -> None:
    client = openai.OpenAI(base_url=f"{gateway_url}/v1", api_key="sk-local")
    raw = client.chat.completions.with_raw_response.create(**QUESTION)  # type: ignore[call-overload]
    sent = json.loads(raw.http_request.content)
    body = json.loads(raw.http_response.content)
    receipt = body["receipt"]
    assert receipt["prompt_hash"] == hash_json(sent)
    assert receipt["output_hash"] == hash_json({k: v for k, v in body.items() if k != "receipt"})
    assert receipt["model_id"] == "smollm2-135m-instruct"
    assert receipt["usage"]["completion_tokens"] >= 1
    result = verify_receipt(receipt, _keys(gateway_url), prompt=sent, output=body)
    assert result.status is Status.VALID, result.reasons
    assert raw.parse().choices[0].message.content


def test_streaming_answer_through_the_sdk(gateway_url: str) -> None:
    http, recorded = recording_client()
    client = openai.OpenAI(base_url=f"{gateway_url}/v1", api_key="sk-local", http_client=http)
    chunks = list(client.chat.completions.create(**QUESTION, stream=True))  # type: ignore[call-overload]
    assert "".join(c.choices[0].delta.content or "" for c in chunks).strip()
    saved = read_stream(bytes(recorded[-1][1]))
    assert saved.receipt is not None
    assert saved.receipt.receipt["stream"]["chunks"] == len(chunks)


def test_streamed_bytes_hash_to_the_receipt(gateway_url: str) -> None:
    # llama-cpp-python streams with ", " separators and the SDK re-parses: the hash is
    # over the parsed objects (JCS), so any faithful parse verifies.
    request = {**QUESTION, "stream": True}
    with httpx.stream("POST", f"{gateway_url}/v1/chat/completions", json=request, timeout=120) as r:
        raw = b"".join(r.iter_bytes())
    payloads = [e[6:] for e in raw.split(b"\n\n") if e.startswith(b"data: ")]
    assert payloads[-1] == b"[DONE]"
    comment = raw.split(b"\n\n")[-3]
    assert comment.startswith(b": llmseal-receipt 2 ")
    receipt = json.loads(comment[len(b": llmseal-receipt 2 ") :])["receipt"]
    chunks: list[Any] = [json.loads(p) for p in payloads[:-1]]
    assert b'", "' in payloads[0]  # the upstream's own spacing reached the client untouched
    result = verify_receipt(receipt, _keys(gateway_url), prompt=request, output=chunks)
    assert result.status is Status.VALID, result.reasons


def test_altered_output_is_tampered_at_the_verify_endpoint(gateway_url: str) -> None:
    body = httpx.post(f"{gateway_url}/v1/chat/completions", json=QUESTION, timeout=120).json()
    receipt = body["receipt"]
    honest = httpx.post(
        f"{gateway_url}/v1/receipts/verify",
        json={"receipt": receipt, "prompt": json.dumps(QUESTION), "output": json.dumps(body)},
    ).json()
    assert honest["status"] == "valid"
    body["choices"][0]["message"]["content"] = "Ultraviolet, obviously."
    altered = httpx.post(
        f"{gateway_url}/v1/receipts/verify", json={"receipt": receipt, "output": json.dumps(body)}
    ).json()
    assert altered["status"] == "tampered"


def test_cli_verifies_a_saved_answer(gateway_url: str, tmp_path: Path, cli: Any) -> None:
    body = httpx.post(f"{gateway_url}/v1/chat/completions", json=QUESTION, timeout=120).json()
    saved = tmp_path / "answer.json"
    saved.write_text(json.dumps(body, indent=2))
    assert cli("verify", saved, "--keys", f"{gateway_url}/v1/receipts/keys").status == 0
    body["usage"]["completion_tokens"] += 100  # a reseller inflating the bill
    saved.write_text(json.dumps(body))
    assert cli("verify", saved, "--keys", f"{gateway_url}/v1/receipts/keys").status == 1
