"""Issue 16 "Must show": the official openai SDK's ``responses.create``, sealed.

llama-cpp-python's server has no ``/v1/responses`` (checked: 404), so the
upstream is a small Responses API app around the real SmolLM2 server
(responses_adapter.py); every answer is the model's. Plain and ``stream=True``,
through the gateway and through the ASGI middleware inside that app, with and
without the verifying client; a relay that edits or strips fails closed.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from llmseal.client import verifying_async_http_client, verifying_http_client
from llmseal.core.framing import read_stream
from llmseal.core.keyset import KeySet
from llmseal.core.verify import Status, verify_receipt
from llmseal.devserver import MODEL_ALIAS
from llmseal.errors import BindingError, ReceiptRequiredError
from llmseal.gateway.app import Gateway
from llmseal.gateway.config.config import GatewayConfig
from llmseal.gateway.config.datadir import prepare_data_dir
from llmseal.gateway.middleware import ReceiptMiddleware
from tests.helpers import ThreadedUvicorn, recording_client
from tests.integration.model.responses_adapter import ResponsesAdapter
from tests.integration.model.tamper import TamperingRelay

pytestmark = [pytest.mark.slow, pytest.mark.model]
ASK: dict[str, Any] = {
    "model": MODEL_ALIAS,
    "input": "Name one primary colour. One word.",
    "max_output_tokens": 16,
    "temperature": 0,
}
TERMINAL = "response.completed"


@pytest.fixture(scope="module")
def adapter_url(model_server: str) -> Iterator[str]:
    with ThreadedUvicorn(ResponsesAdapter(model_server).app) as upstream:
        yield upstream.url


@pytest.fixture(scope="module")
def gateway(adapter_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("issuer")
    config = prepare_data_dir(
        GatewayConfig(upstream=adapter_url, data_dir=str(data), issuer="smollm2.test"),
        at=datetime.now(UTC),
    )
    with ThreadedUvicorn(Gateway(config)) as server:
        yield server.url


@pytest.fixture(scope="module")
def in_process(model_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Responses app with ReceiptMiddleware inside it (no proxy)."""
    data = tmp_path_factory.mktemp("middleware")
    app = ReceiptMiddleware(ResponsesAdapter(model_server).app, data_dir=data, issuer="mw.test")
    with ThreadedUvicorn(app) as server:
        yield server.url
    app.close()


def _client(url: str, tmp_path: Path, **options: Any) -> openai.OpenAI:
    http = verifying_http_client(keys=f"{url}/v1/receipts/keys", data_dir=tmp_path, **options)
    return openai.OpenAI(base_url=f"{url}/v1", api_key="sk-local", http_client=http)


def test_the_model_server_itself_has_no_responses_api(model_server: str) -> None:
    answer = httpx.post(f"{model_server}/v1/responses", json=ASK, timeout=60)
    assert answer.status_code == 404  # why the adapter exists


@pytest.mark.parametrize("where", ["gateway", "in_process"])
def test_responses_create_plain_is_verified(
    where: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue(where)
    response = _client(url, tmp_path).responses.create(**ASK)
    assert response.output_text.strip()
    extra = response.model_extra or {}
    assert extra["receipt"]["endpoint"] == "/v1/responses"
    assert extra["receipt"]["issuer"] == ("smollm2.test" if where == "gateway" else
                                                    "mw.test")  # fmt: skip


@pytest.mark.parametrize("where", ["gateway", "in_process"])
def test_responses_stream_is_verified_with_the_verdict_on_response_completed(
    where: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue(where)
    events = list(_client(url, tmp_path).responses.create(**ASK, stream=True))
    kinds = [event.type for event in events]
    assert kinds[0] == "response.created" and kinds[-1] == TERMINAL
    assert "response.output_text.delta" in kinds
    verdict = (events[-1].model_extra or {})["llmseal"]
    assert verdict["status"] == "valid"
    assert all("llmseal" not in (e.model_extra or {}) for e in events[:-1])
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == events[-1].response.output_text


def test_the_sdk_stream_helper_and_async_client(gateway: str, tmp_path: Path) -> None:
    client = _client(gateway, tmp_path / "sync")
    with client.responses.stream(**ASK) as helper:
        text = "".join(e.delta for e in helper if e.type == "response.output_text.delta")
        final = helper.get_final_response()
    assert text == final.output_text and text.strip()

    async def run() -> list[str]:
        http = verifying_async_http_client(
            keys=f"{gateway}/v1/receipts/keys", data_dir=tmp_path / "async"
        )
        aclient = openai.AsyncOpenAI(base_url=f"{gateway}/v1", api_key="sk", http_client=http)
        stream = await aclient.responses.create(**ASK, stream=True)
        seen = [event.type async for event in stream]
        await aclient.close()
        return seen

    assert asyncio.run(run())[-1] == TERMINAL


def test_an_sdk_without_a_verifying_client_ignores_the_receipt(gateway: str) -> None:
    http, recorded = recording_client()
    client = openai.OpenAI(base_url=f"{gateway}/v1", api_key="sk-local", http_client=http)
    events = list(client.responses.create(**ASK, stream=True))
    assert events[-1].type == TERMINAL
    sent, raw = recorded[-1][0], bytes(recorded[-1][1])
    assert raw.rstrip().split(b"\n")[-1].startswith(b": llmseal-receipt 2 ")
    saved = read_stream(raw)
    assert saved.receipt is not None and len(saved.chunks) == len(events)
    keys = KeySet.from_json(httpx.get(f"{gateway}/v1/receipts/keys").content)
    result = verify_receipt(saved.receipt.receipt, keys, prompt=sent, output=list(saved.chunks))
    assert result.status is Status.VALID, result.reasons


def _edit_first_delta(raw: bytes) -> bytes:
    return re.sub(rb'"delta": "[^"]*"', b'"delta": "FORGED"', raw, count=1)


def _edit_output_text(raw: bytes) -> bytes:
    body = json.loads(raw)
    body["output"][0]["content"][0]["text"] = "Ultraviolet."
    return json.dumps(body).encode()


def _strip_comment(raw: bytes) -> bytes:
    return re.sub(rb": llmseal-receipt [^\n]*\n\n", b"", raw)


def _strip_member(raw: bytes) -> bytes:
    body = json.loads(raw)
    body.pop("receipt", None)
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("stream", "transform", "error"),
    [
        (True, _edit_first_delta, BindingError),
        (True, _strip_comment, ReceiptRequiredError),
        (False, _edit_output_text, BindingError),
        (False, _strip_member, ReceiptRequiredError),
    ],
    ids=["stream-edited", "stream-stripped", "plain-edited", "plain-stripped"],
)
def test_a_relay_that_edits_or_strips_fails_closed(
    gateway: str, tmp_path: Path, stream: bool, transform: Any, error: type[Exception]
) -> None:
    relay = TamperingRelay(gateway)
    relay.transform = transform
    with ThreadedUvicorn(relay.app) as server:
        http = verifying_http_client(keys=f"{gateway}/v1/receipts/keys", data_dir=tmp_path)
        client = openai.OpenAI(
            base_url=f"{server.url}/v1", api_key="sk", http_client=http, max_retries=0
        )
        with pytest.raises(error):
            if stream:
                for _ in client.responses.create(**ASK, stream=True):
                    pass
            else:
                client.responses.create(**ASK)
    assert relay.changed == 1  # the attack happened


def test_cli_verifies_a_saved_responses_stream(gateway: str, tmp_path: Path, cli: Any) -> None:
    request = {**ASK, "stream": True}
    with httpx.stream("POST", f"{gateway}/v1/responses", json=request, timeout=120) as r:
        raw = b"".join(r.iter_bytes())
    (tmp_path / "answer.sse").write_bytes(raw)
    (tmp_path / "request.json").write_text(json.dumps(request))
    args = ("--keys", f"{gateway}/v1/receipts/keys", "--prompt", tmp_path / "request.json")
    assert cli("verify", tmp_path / "answer.sse", *args).status == 0
    (tmp_path / "edited.sse").write_bytes(_edit_first_delta(raw))
    result = cli("verify", tmp_path / "edited.sse", *args, "--json")
    assert result.status == 1 and result.json()["status"] == "tampered"
