"""The async twin, the anthropic SDK, evidence CLI, verify --policy, the admission gate."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
from fastapi import Depends, FastAPI

from llmseal.client import (
    Admission,
    ReceiptGate,
    verifying_async_http_client,
    verifying_http_client,
)
from llmseal.core.policy import Policy
from llmseal.errors import BindingError, ReceiptRequiredError
from llmseal.gateway.app import Gateway
from llmseal.store.evidence import EvidenceStore
from tests.helpers import ThreadedUvicorn
from tests.integration.client.relay import Relay

QUESTION = {"model": "fake-model", "messages": [{"role": "user", "content": "Hi"}]}


def test_async_openai(gateway: tuple[Gateway, str], tmp_path: Path) -> None:
    _, url = gateway

    async def run() -> tuple[str, list[Any]]:
        http = verifying_async_http_client(keys=f"{url}/v1/receipts/keys", data_dir=tmp_path)
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="sk", http_client=http)
        plain = await client.chat.completions.create(**QUESTION)  # type: ignore[call-overload]
        stream = await client.chat.completions.create(**QUESTION, stream=True)  # type: ignore[call-overload]
        chunks = [c async for c in stream]
        await client.close()
        return plain.choices[0].message.content or "", chunks

    text, chunks = asyncio.run(run())
    assert text == "echo: Hi"
    assert chunks[-1].model_extra["llmseal"]["status"] == "valid"


def test_anthropic_sdk_plain_and_streaming(gateway: tuple[Gateway, str], tmp_path: Path) -> None:
    _, url = gateway
    http = verifying_http_client(
        keys=f"{url}/v1/receipts/keys", data_dir=tmp_path, library="httpx2"
    )
    client = anthropic.Anthropic(base_url=url, api_key="sk", http_client=http, max_retries=0)
    message = client.messages.create(
        model="fake-claude", max_tokens=16, messages=[{"role": "user", "content": "Hi"}]
    )
    assert message.content[0].text == "echo: Hi"  # type: ignore[union-attr]
    with client.messages.stream(
        model="fake-claude", max_tokens=16, messages=[{"role": "user", "content": "Yo"}]
    ) as s:
        assert s.get_final_text() == "echo: Yo"
    client.close()  # flushes the evidence written in the background
    statuses = [r.status for r in EvidenceStore(tmp_path).list()]
    assert statuses == ["valid", "valid"]


def test_anthropic_sdk_tampered_stream_fails(gateway: tuple[Gateway, str], tmp_path: Path) -> None:
    relay = Relay(gateway[1])
    relay.mode = "strip"
    with ThreadedUvicorn(relay.app) as server:
        http = verifying_http_client(keys=f"{gateway[1]}/v1/receipts/keys", library="httpx2")
        client = anthropic.Anthropic(
            base_url=server.url, api_key="sk", http_client=http, max_retries=0
        )
        # anthropic wraps transport exceptions: the llmseal error is the __cause__.
        with pytest.raises(anthropic.APIConnectionError) as info:
            client.messages.create(
                model="m", max_tokens=8, messages=[{"role": "user", "content": "a"}]
            )
        assert isinstance(info.value.__cause__, ReceiptRequiredError)
        # streams: raised from the iteration itself
        with (
            pytest.raises(ReceiptRequiredError),
            client.messages.stream(
                model="m", max_tokens=8, messages=[{"role": "user", "content": "a"}]
            ) as s,
        ):
            s.get_final_text()
    assert relay.rewrites == {"strip": 2}


def test_evidence_cli(gateway: tuple[Gateway, str], tmp_path: Path, cli: Any) -> None:
    _, url = gateway
    with verifying_http_client(
        keys=f"{url}/v1/receipts/keys", data_dir=tmp_path / "ev", sample_rate=1.0
    ) as c:
        body = c.post(f"{url}/v1/chat/completions", json=QUESTION).json()
    listing = cli("evidence", "list", "--data-dir", tmp_path / "ev", "--json")
    assert listing.status == 0
    rows = listing.json()
    assert isinstance(rows, list) and rows[0]["receipt_id"] == body["receipt"]["receipt_id"]
    assert {"receipt_id", "status", "model_id", "issued_at"} <= set(rows[0])
    shown = cli("evidence", "show", body["receipt"]["receipt_id"], "--data-dir", tmp_path / "ev")
    assert shown.status == 0 and shown.json()["status"] == "valid"
    assert cli("evidence", "show", "nope", "--data-dir", tmp_path / "ev").status == 2
    sample_dir = shown.json()["sample_dir"]  # the client was closed: its samples are written
    assert sample_dir is not None and (Path(sample_dir) / "manifest.json").exists()
    out = tmp_path / "export.tar.gz"
    assert cli("evidence", "export", "--data-dir", tmp_path / "ev", "--out", out).status == 0
    import tarfile

    with tarfile.open(out) as archive:
        names = archive.getnames()
    assert "evidence.jsonl" in names and any(n.endswith("manifest.json") for n in names)


def test_verify_with_policy(gateway: tuple[Gateway, str], tmp_path: Path, cli: Any) -> None:
    _, url = gateway
    body = httpx.post(f"{url}/v1/chat/completions", json=QUESTION).json()
    answer = tmp_path / "answer.json"
    answer.write_text(json.dumps(body))
    good = tmp_path / "good.toml"
    keysets = f'keysets = ["{url}/v1/receipts/keys"]\n'
    good.write_text(keysets + 'issuers = ["api.test.example"]\nmodels = ["fake-*"]\n')
    assert cli("verify", answer, "--policy", good).status == 0
    bad = tmp_path / "bad.toml"
    bad.write_text(f'keysets = ["{url}/v1/receipts/keys"]\nmodels = ["lab/opus-*"]\n')
    refused = cli("verify", answer, "--policy", bad, "--json")
    assert refused.status == 1
    assert refused.json()["status"] == "valid"
    assert refused.json()["policy"]["failures"][0].startswith("models:")
    human = cli("verify", answer, "--policy", bad)
    assert human.status == 1 and "rule models:" in human.stdout
    unsigned = tmp_path / "unsigned.json"
    unsigned.write_text(json.dumps({k: v for k, v in body.items() if k != "receipt"}))
    result = cli("verify", unsigned, "--policy", good)
    assert result.status == 1 and "require_receipt" in result.stdout
    broken = tmp_path / "broken.toml"
    broken.write_text("models = [")
    assert cli("verify", answer, "--policy", broken).status == 2


def test_admission_gate_ci_example(gateway: tuple[Gateway, str]) -> None:
    _, url = gateway
    policy = Policy.from_toml(
        f'keysets = ["{url}/v1/receipts/keys"]\nmodels = ["fake-*"]\nrequire_content = ["output"]\n'
    )
    gate = ReceiptGate(policy)
    app = FastAPI()

    @app.post("/merge")
    async def merge(admission: Admission = Depends(gate)) -> dict[str, str]:  # noqa: B008
        return {"merged": admission.verification.receipt.receipt_id}

    body = httpx.post(f"{url}/v1/chat/completions", json=QUESTION).json()
    with ThreadedUvicorn(app) as server:
        ok = httpx.post(
            f"{server.url}/merge", json={"receipt": body["receipt"], "output": json.dumps(body)}
        )
        assert ok.status_code == 200 and ok.json() == {"merged": body["receipt"]["receipt_id"]}
        no_content = httpx.post(f"{server.url}/merge", json={"receipt": body["receipt"]})
        assert no_content.status_code == 403
        assert no_content.json()["detail"]["failures"] == [
            "require_content: the output was not supplied and checked"
        ]
        body["choices"][0]["message"]["content"] = "LGTM, ship it"
        forged = httpx.post(
            f"{server.url}/merge", json={"receipt": body["receipt"], "output": json.dumps(body)}
        )
        assert forged.status_code == 403 and forged.json()["detail"]["status"] == "tampered"
        assert httpx.post(f"{server.url}/merge", content=b"nope").status_code == 400
        missing = httpx.post(f"{server.url}/merge", json={"prompt": "x"})
        assert missing.status_code == 403 and missing.json()["detail"]["status"] == "missing"
        assert missing.json()["detail"]["reasons"] == ["no receipt supplied"]


def test_stream_through_edit_relay_with_async_client(gateway: tuple[Gateway, str]) -> None:
    relay = Relay(gateway[1])
    relay.mode = "edit"
    with ThreadedUvicorn(relay.app) as server:

        async def run() -> None:
            http = verifying_async_http_client(keys=f"{gateway[1]}/v1/receipts/keys")
            client = openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key="sk", http_client=http)
            stream = await client.chat.completions.create(**QUESTION, stream=True)  # type: ignore[call-overload]
            async for _ in stream:
                pass

        with pytest.raises(BindingError):
            asyncio.run(run())
    assert relay.rewrites == {"edit": 1}


def test_anthropic_relabelled_event_cannot_hide_content(gateway: tuple[Gateway, str]) -> None:
    relay = Relay(gateway[1])
    relay.mode = "relabel"
    with ThreadedUvicorn(relay.app) as server:
        http = verifying_http_client(keys=f"{gateway[1]}/v1/receipts/keys", library="httpx2")
        client = anthropic.Anthropic(
            base_url=server.url, api_key="sk", http_client=http, max_retries=0
        )
        with client.messages.stream(
            model="m", max_tokens=8, messages=[{"role": "user", "content": "Do"}]
        ) as s:
            # The SDK gets every hashed event under its real type, not the relay's label.
            assert s.get_final_text() == "echo: Do"
    assert relay.rewrites == {"relabel": 1}, "the relay relabelled nothing"
