"""Issue 16: ``POST /v1/embeddings`` sealed, with the real openai SDK on SmolLM2.

llama-cpp-python serves embeddings with ``--embedding`` (for this model one
vector per token, as it has no pooling type); the SDK asks for
``encoding_format: base64`` unless told otherwise, the server answers floats
anyway, and the SDK accepts both. The hash covers the vectors as JSON numbers:
one changed component fails.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openai
import pytest

from llmseal.client import verifying_http_client
from llmseal.devserver import MODEL_ALIAS, ModelServer
from llmseal.errors import BindingError, ReceiptRequiredError
from llmseal.gateway.app import Gateway
from llmseal.gateway.config.config import GatewayConfig
from llmseal.gateway.config.datadir import prepare_data_dir
from tests.helpers import ThreadedUvicorn
from tests.integration.model.tamper import TamperingRelay

pytestmark = [pytest.mark.slow, pytest.mark.model]
TEXTS = ["The sky is blue.", "Grass is green."]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("embedder") / "server.log"
    data = tmp_path_factory.mktemp("issuer")
    with ModelServer(log=log, embedding=True) as model:
        config = prepare_data_dir(
            GatewayConfig(upstream=model.url, data_dir=str(data), issuer="smollm2.test"),
            at=datetime.now(UTC),
        )
        with ThreadedUvicorn(Gateway(config)) as server:
            yield server.url


def _client(url: str, keys: str, tmp_path: Path) -> openai.OpenAI:
    http = verifying_http_client(keys=keys, data_dir=tmp_path)
    return openai.OpenAI(base_url=f"{url}/v1", api_key="sk", http_client=http, max_retries=0)


@pytest.mark.parametrize("encoding", ["float", None])
def test_embeddings_are_verified(gateway: str, tmp_path: Path, encoding: str | None) -> None:
    client = _client(gateway, f"{gateway}/v1/receipts/keys", tmp_path)
    options: dict[str, Any] = {"encoding_format": encoding} if encoding else {}
    answer = client.embeddings.create(model=MODEL_ALIAS, input=TEXTS, **options)
    # SmolLM2's GGUF has no pooling type: llama-cpp-python answers one vector per token.
    assert len(answer.data) == 2 and all(item.embedding for item in answer.data)
    assert answer.data[0].embedding != answer.data[1].embedding
    receipt = (answer.model_extra or {})["receipt"]
    assert receipt["endpoint"] == "/v1/embeddings" and receipt["model_id"] == MODEL_ALIAS


def _nudge(raw: bytes) -> bytes:
    body = json.loads(raw)
    vector = body["data"][1]["embedding"]
    while isinstance(vector[-1], list):  # per-token vectors: the last token's
        vector = vector[-1]
    vector[-1] += 1e-6  # one component of one vector
    return json.dumps(body).encode()


def _strip(raw: bytes) -> bytes:
    body = json.loads(raw)
    body.pop("receipt")
    return json.dumps(body).encode()


@pytest.mark.parametrize(("transform", "error"),
                         [(_nudge, BindingError), (_strip, ReceiptRequiredError)])  # fmt: skip
def test_an_edited_or_stripped_embedding_fails_closed(
    gateway: str, tmp_path: Path, transform: Any, error: type[Exception]
) -> None:
    relay = TamperingRelay(gateway)
    relay.transform = transform
    with ThreadedUvicorn(relay.app) as server:
        client = _client(server.url, f"{gateway}/v1/receipts/keys", tmp_path)
        with pytest.raises(error):
            client.embeddings.create(model=MODEL_ALIAS, input=TEXTS, encoding_format="float")
    assert relay.changed == 1
