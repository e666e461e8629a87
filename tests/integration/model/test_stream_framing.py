"""Issue 18 "Must show": sealing breaks no client that does not verify.

Through the gateway, on the real SmolLM2 server, with the official SDKs and no
verifying client: the OpenAI quickstart loop (``chunk.choices[0].delta.content``),
the completions loop and the Anthropic SDK's ``for event in stream`` run to the
end, and the bytes each SDK read still carry a receipt that verifies (framing 2,
docs/spec/stream.md). Then the same through the verifying client.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from llmseal.client import verifying_http_client
from llmseal.core.framing import FRAMING, SavedStream, read_stream
from llmseal.core.keyset import KeySet
from llmseal.core.verify import Status, verify_receipt
from llmseal.devserver import MODEL_ALIAS
from llmseal.gateway.app import Gateway
from llmseal.gateway.config.config import GatewayConfig
from llmseal.gateway.config.datadir import prepare_data_dir
from tests.helpers import ThreadedUvicorn, recording_client
from tests.integration.model.anthropic_adapter import AnthropicAdapter

pytestmark = [pytest.mark.slow, pytest.mark.model]
QUESTION: dict[str, Any] = {
    "model": MODEL_ALIAS,
    "messages": [{"role": "user", "content": "Name one primary colour. One word."}],
    "max_tokens": 16,
    "temperature": 0,
}
CLAUDE: dict[str, Any] = {
    "model": "claude-smollm2",
    "max_tokens": 16,
    "messages": [{"role": "user", "content": "Name one primary colour. One word."}],
}


def _gateway(upstream: str, data: Path) -> ThreadedUvicorn:
    config = prepare_data_dir(
        GatewayConfig(upstream=upstream, data_dir=str(data), issuer="smollm2.test"),
        at=datetime.now(UTC),
    )
    return ThreadedUvicorn(Gateway(config))


@pytest.fixture(scope="module")
def openai_gateway(model_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with _gateway(model_server, tmp_path_factory.mktemp("issuer")) as server:
        yield server.url


@pytest.fixture(scope="module")
def anthropic_gateway(model_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    adapter = AnthropicAdapter(model_server)
    with (
        ThreadedUvicorn(adapter.app) as upstream,
        _gateway(upstream.url, tmp_path_factory.mktemp("issuer")) as server,
    ):
        yield server.url


def _verified(url: str, exchange: tuple[bytes, bytearray]) -> SavedStream:
    """The receipt in the bytes an SDK read verifies against the request it sent."""
    sent, raw = exchange[0], bytes(exchange[1])
    saved = read_stream(raw)
    assert saved.receipt is not None and saved.receipt.framing == FRAMING
    assert b": llmseal-receipt 2 " in raw and b'"choices":[]' not in raw
    keys = KeySet.from_json(httpx.get(f"{url}/v1/receipts/keys").content)
    result = verify_receipt(saved.receipt.receipt, keys, prompt=sent, output=list(saved.chunks))
    assert result.status is Status.VALID, result.reasons
    assert saved.receipt.receipt["stream"]["chunks"] == len(saved.chunks)
    return saved


def test_openai_quickstart_loop_without_a_verifying_client(openai_gateway: str) -> None:
    http, recorded = recording_client()
    client = openai.OpenAI(base_url=f"{openai_gateway}/v1", api_key="sk-local", http_client=http)
    stream = client.chat.completions.create(**QUESTION, stream=True)
    printed: list[str | None] = []
    for chunk in stream:
        printed.append(chunk.choices[0].delta.content)  # the quickstart's loop, verbatim
    assert "".join(p or "" for p in printed).strip()
    saved = _verified(openai_gateway, recorded[-1])
    assert len(printed) == len(saved.chunks)  # the SDK saw every hashed chunk, nothing else


def test_openai_completions_and_stream_helper(openai_gateway: str) -> None:
    http, recorded = recording_client()
    client = openai.OpenAI(base_url=f"{openai_gateway}/v1", api_key="sk-local", http_client=http)
    stream = client.completions.create(
        model=MODEL_ALIAS, prompt="The sky is", max_tokens=12, temperature=0, stream=True
    )
    text = "".join(chunk.choices[0].text for chunk in stream)
    assert text.strip()
    _verified(openai_gateway, recorded[-1])
    # The SDK's accumulating helper reaches its final message too.
    with client.chat.completions.stream(**QUESTION) as helper:
        for _ in helper:
            pass
        final = helper.get_final_completion()
    assert final.choices[0].message.content
    _verified(openai_gateway, recorded[-1])


def test_async_openai_loop(openai_gateway: str) -> None:
    async def run() -> list[str]:
        client = openai.AsyncOpenAI(base_url=f"{openai_gateway}/v1", api_key="sk-local")
        stream = await client.chat.completions.create(**QUESTION, stream=True)
        seen = [chunk.choices[0].delta.content or "" async for chunk in stream]
        await client.close()
        return seen

    assert "".join(asyncio.run(run())).strip()


def test_anthropic_for_event_in_stream_without_a_verifying_client(anthropic_gateway: str) -> None:
    http, recorded = recording_client("httpx2")
    client = anthropic.Anthropic(base_url=anthropic_gateway, api_key="sk-local", http_client=http)
    kinds = []
    text = ""
    for event in client.messages.create(**CLAUDE, stream=True):
        kinds.append(event.type)
        if event.type == "content_block_delta":
            text += event.delta.text
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop" and text.strip()
    saved = _verified(anthropic_gateway, recorded[-1])
    assert len(kinds) == len(saved.chunks)
    with client.messages.stream(**CLAUDE) as helper:
        streamed = "".join(helper.text_stream)
        final = helper.get_final_message()
    assert streamed == final.content[0].text  # type: ignore[union-attr]
    _verified(anthropic_gateway, recorded[-1])


def test_cli_verifies_a_stream_saved_with_curl(
    openai_gateway: str, tmp_path: Path, cli: Any
) -> None:
    request = {**QUESTION, "stream": True}
    # A real model on a busy machine can take longer than httpx's default 5 s per read.
    url = f"{openai_gateway}/v1/chat/completions"
    with httpx.stream("POST", url, json=request, timeout=120) as r:
        raw = b"".join(r.iter_bytes())  # what `curl -N ... > answer.sse` saves
    (tmp_path / "answer.sse").write_bytes(raw)
    (tmp_path / "request.json").write_text(json.dumps(request))
    keys = f"{openai_gateway}/v1/receipts/keys"
    args = ("--keys", keys, "--prompt", tmp_path / "request.json")
    assert cli("verify", tmp_path / "answer.sse", *args).status == 0
    saved = read_stream(raw)
    edited = json.dumps(saved.chunks[1]["choices"][0]["delta"]["content"])
    assert edited.encode() in raw
    (tmp_path / "edited.sse").write_bytes(raw.replace(edited.encode(), b'"Ultraviolet"', 1))
    result = cli("verify", tmp_path / "edited.sse", *args, "--json")
    assert result.status == 1 and result.json()["status"] == "tampered"


def test_through_the_verifying_clients(
    openai_gateway: str, anthropic_gateway: str, tmp_path: Path
) -> None:
    http = verifying_http_client(
        keys=f"{openai_gateway}/v1/receipts/keys", data_dir=tmp_path / "a", sample_rate=1.0
    )
    client = openai.OpenAI(base_url=f"{openai_gateway}/v1", api_key="sk-local", http_client=http)
    chunks = []
    for chunk in client.chat.completions.create(**QUESTION, stream=True):
        assert chunk.choices[0].delta is not None  # the quickstart loop works here too
        chunks.append(chunk)
    verdict = chunks[-1].model_extra["llmseal"]
    assert verdict["status"] == "valid" and chunks[-1].model_extra["receipt"]
    assert all("llmseal" not in (c.model_extra or {}) for c in chunks[:-1])
    http.close()

    http2 = verifying_http_client(
        keys=f"{anthropic_gateway}/v1/receipts/keys", data_dir=tmp_path / "b", library="httpx2"
    )
    claude = anthropic.Anthropic(
        base_url=anthropic_gateway, api_key="sk-local", http_client=http2, max_retries=0
    )
    events = list(claude.messages.create(**CLAUDE, stream=True))
    assert events[-1].type == "message_stop"
    assert events[-1].model_extra["llmseal"]["status"] == "valid"
    http2.close()
