"""Issue 16: Ollama's native API sealed, with the real ``ollama`` Python client.

The upstream speaks Ollama's wire format around the real SmolLM2 server
(ollama_adapter.py: Ollama is not packaged here). Streams are NDJSON with the
receipt as the last line (docs/spec/stream.md §4): the plain client tolerates
it, the verifying transport checks it. Tool calls in the request and in the
answer are covered; a relay that edits either, or strips the receipt, fails.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import ollama
import pytest

from llmseal.client import VerifyingTransport, build_verifier
from llmseal.client.verifier import ResponseVerifier
from llmseal.core.keyset import KeySet
from llmseal.core.ndjson import read_ndjson
from llmseal.core.verify import Status, verify_receipt
from llmseal.devserver import MODEL_ALIAS
from llmseal.errors import BindingError, ReceiptRequiredError
from llmseal.gateway.app import Gateway
from llmseal.gateway.config.config import GatewayConfig
from llmseal.gateway.config.datadir import prepare_data_dir
from tests.helpers import ThreadedUvicorn
from tests.integration.model.ollama_adapter import OllamaAdapter
from tests.integration.model.tamper import TamperingRelay

pytestmark = [pytest.mark.slow, pytest.mark.model]
OPTIONS = {"temperature": 0, "num_predict": 12}
QUESTION = [{"role": "user", "content": "Name one primary colour. One word."}]
TOOLS: list[dict[str, Any]] = [{"type": "function", "function": {
    "name": "record_colour", "description": "Record a colour",
    "parameters": {"type": "object", "properties": {"text": {"type": "string"}}}}}]  # fmt: skip
HISTORY: list[dict[str, Any]] = [
    {"role": "user", "content": "What colour is the sky?"},
    {"role": "assistant", "content": "", "tool_calls": [
        {"function": {"name": "record_colour", "arguments": {"text": "blue"}}}]},
    {"role": "tool", "content": "recorded", "tool_name": "record_colour"},
    *QUESTION,
]  # fmt: skip


@pytest.fixture(scope="module")
def gateway(model_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("issuer")
    with ThreadedUvicorn(OllamaAdapter(model_server).app) as upstream:
        config = prepare_data_dir(
            GatewayConfig(upstream=upstream.url, data_dir=str(data), issuer="ollama.test"),
            at=datetime.now(UTC),
        )
        with ThreadedUvicorn(Gateway(config)) as server:
            yield server.url


def _client(url: str, keys: str, tmp_path: Path) -> tuple[ollama.Client, ResponseVerifier]:
    verifier = build_verifier(keys=keys, data_dir=tmp_path)
    return ollama.Client(host=url, transport=VerifyingTransport(verifier)), verifier


def _verdicts(verifier: ResponseVerifier) -> list[tuple[str, str]]:
    assert verifier.evidence is not None
    verifier.evidence.flush()
    return [(r.endpoint, r.status) for r in verifier.evidence.list()]


def test_chat_and_generate_streamed_and_plain_are_verified(gateway: str, tmp_path: Path) -> None:
    client, verifier = _client(gateway, f"{gateway}/v1/receipts/keys", tmp_path)
    parts = list(client.chat(model=MODEL_ALIAS, messages=QUESTION, options=OPTIONS, stream=True))
    assert "".join(p.message.content or "" for p in parts).strip()
    assert parts[-1].done is True  # the verifying transport drops the receipt line
    plain = client.chat(model=MODEL_ALIAS, messages=QUESTION, options=OPTIONS, stream=False)
    assert plain.message.content and plain.done
    pieces = list(client.generate(model=MODEL_ALIAS, prompt="The sky is", options=OPTIONS,
                                  stream=True))  # fmt: skip
    assert "".join(p.response or "" for p in pieces).strip() and pieces[-1].done
    assert client.generate(model=MODEL_ALIAS, prompt="The sky is", options=OPTIONS).response
    assert sorted(_verdicts(verifier)) == sorted(
        [("/api/chat", "valid")] * 2 + [("/api/generate", "valid")] * 2
    )


def test_the_plain_client_tolerates_the_receipt_line(gateway: str) -> None:
    client = ollama.Client(host=gateway)
    parts = list(client.chat(model=MODEL_ALIAS, messages=QUESTION, options=OPTIONS, stream=True))
    # Ollama's own loop, verbatim: the receipt line is one extra, empty part.
    printed = [part["message"]["content"] for part in parts]
    assert printed[-1] == "" and parts[-1].done is None and parts[-2].done is True
    assert "".join(printed).strip()


def _tool_chat(client: ollama.Client, stream: bool) -> list[ollama.ChatResponse]:
    """HISTORY asked with TOOLS: the streamed chunks (read to the end), or the one answer."""
    if stream:
        return list(client.chat(model=MODEL_ALIAS, messages=HISTORY, tools=TOOLS,
                                options=OPTIONS, stream=True))  # fmt: skip
    return [client.chat(model=MODEL_ALIAS, messages=HISTORY, tools=TOOLS, options=OPTIONS)]


def test_tool_calls_in_request_and_answer_are_covered(gateway: str, tmp_path: Path) -> None:
    client, verifier = _client(gateway, f"{gateway}/v1/receipts/keys", tmp_path)
    for stream in (True, False):
        parts = _tool_chat(client, stream)
        calls = [c for p in parts for c in (p.message.tool_calls or [])]
        assert calls[0].function.name == "record_colour"
        assert calls[0].function.arguments["text"]  # the model's words, as a tool argument
    assert [status for _, status in _verdicts(verifier)] == ["valid", "valid"]


def _edit_tool_argument(raw: bytes) -> bytes:
    return re.sub(rb'("arguments": ?\{"text": ?")', rb"\1rm -rf / ", raw, count=1)


def _edit_request_tool(raw: bytes) -> bytes:
    return raw.replace(b'"record_colour"', b'"delete_account"', 1)


def _strip_receipt_line(raw: bytes) -> bytes:
    return b"".join(line for line in raw.splitlines(True) if b"llmseal_receipt" not in line)


@pytest.mark.parametrize(
    ("attack", "stream", "error"),
    [
        ("answer", True, BindingError),
        ("answer", False, BindingError),
        ("request", True, BindingError),
        ("strip", True, ReceiptRequiredError),
    ],
    ids=["tool-call-edited-stream", "tool-call-edited-plain", "request-tools-edited", "stripped"],
)
def test_a_relay_that_edits_or_strips_fails_closed(
    gateway: str, tmp_path: Path, attack: str, stream: bool, error: type[Exception]
) -> None:
    relay = TamperingRelay(gateway)
    if attack == "answer":
        relay.transform = _edit_tool_argument
    elif attack == "request":
        relay.request_transform = _edit_request_tool
    else:
        relay.transform = _strip_receipt_line
    with ThreadedUvicorn(relay.app) as server:
        client, _ = _client(server.url, f"{gateway}/v1/receipts/keys", tmp_path)
        with pytest.raises(error):
            _tool_chat(client, stream)
    assert relay.changed == 1  # the attack happened


def test_cli_verifies_a_saved_ndjson_stream(gateway: str, tmp_path: Path, cli: Any) -> None:
    request = {"model": MODEL_ALIAS, "messages": HISTORY, "tools": TOOLS, "options": OPTIONS}
    with httpx.stream("POST", f"{gateway}/api/chat", json=request, timeout=120) as r:
        assert r.headers["content-type"] == "application/x-ndjson"
        raw = b"".join(r.iter_bytes())  # what `curl -N ... > answer.ndjson` saves
    saved = read_ndjson(raw)
    assert saved.receipt is not None and saved.chunks[-1]["done"] is True
    keys = KeySet.from_json(httpx.get(f"{gateway}/v1/receipts/keys").content)
    sent = json.dumps(request).encode()
    result = verify_receipt(saved.receipt.receipt, keys, prompt=sent, output=list(saved.chunks))
    assert result.status is Status.VALID, result.reasons
    (tmp_path / "answer.ndjson").write_bytes(raw)
    (tmp_path / "request.json").write_bytes(sent)
    args = ("--keys", f"{gateway}/v1/receipts/keys", "--prompt", tmp_path / "request.json")
    assert cli("verify", tmp_path / "answer.ndjson", *args).status == 0
    (tmp_path / "edited.ndjson").write_bytes(_edit_tool_argument(raw))
    result = cli("verify", tmp_path / "edited.ndjson", *args, "--json")
    assert result.status == 1 and result.json()["status"] == "tampered"
