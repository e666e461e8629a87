"""Issue 16: the real OpenAI Agents SDK through the gateway, over SmolLM2, verified.

``use_verified_openai`` routes the SDK through the verifying client, in its
default Responses mode (the upstream: responses_adapter.py around the model) and
in chat-completions mode (the model server itself). The receipts are kept by
response id; a relay that edits the answer makes ``Runner.run`` fail.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from agents import Agent, ModelSettings, Runner

from llmseal.devserver import MODEL_ALIAS
from llmseal.errors import BindingError
from llmseal.gateway.app import Gateway
from llmseal.gateway.config.config import GatewayConfig
from llmseal.gateway.config.datadir import prepare_data_dir
from llmseal.integrations.agents import use_verified_openai
from tests.helpers import ThreadedUvicorn
from tests.integration.model.responses_adapter import ResponsesAdapter
from tests.integration.model.tamper import TamperingRelay

pytestmark = [pytest.mark.slow, pytest.mark.model]
AGENT = Agent(
    name="colours", instructions="Answer in one word.", model=MODEL_ALIAS,
    model_settings=ModelSettings(max_tokens=12, temperature=0),
)  # fmt: skip
QUESTION = "Name one primary colour."


def _gateway(upstream: str, data: Path) -> ThreadedUvicorn:
    config = prepare_data_dir(
        GatewayConfig(upstream=upstream, data_dir=str(data), issuer="agents.test"),
        at=datetime.now(UTC),
    )
    return ThreadedUvicorn(Gateway(config))


@pytest.fixture(scope="module")
def responses_gateway(model_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with (
        ThreadedUvicorn(ResponsesAdapter(model_server).app) as upstream,
        _gateway(upstream.url, tmp_path_factory.mktemp("issuer")) as server,
    ):
        yield server.url


@pytest.fixture(scope="module")
def chat_gateway(model_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with _gateway(model_server, tmp_path_factory.mktemp("chat-issuer")) as server:
        yield server.url


def test_responses_mode_keeps_the_receipt_of_each_response(
    responses_gateway: str, tmp_path: Path
) -> None:
    url = responses_gateway
    receipts = use_verified_openai(base_url=f"{url}/v1", keys=f"{url}/v1/receipts/keys",
                                   data_dir=tmp_path)  # fmt: skip
    result = Runner.run_sync(AGENT, QUESTION)
    assert str(result.final_output).strip()
    response_id = result.raw_responses[0].response_id
    receipt = receipts.get(response_id)
    assert receipt is not None and receipt["endpoint"] == "/v1/responses"
    assert receipt["issuer"] == "agents.test"


def test_chat_completions_mode(chat_gateway: str, tmp_path: Path) -> None:
    url = chat_gateway
    receipts = use_verified_openai(base_url=f"{url}/v1", keys=f"{url}/v1/receipts/keys",
                                   api="chat_completions", data_dir=tmp_path)  # fmt: skip
    result = Runner.run_sync(AGENT, QUESTION)
    assert str(result.final_output).strip()
    assert [r["endpoint"] for r in receipts.all()] == ["/v1/chat/completions"]


def _edit(raw: bytes) -> bytes:
    body = json.loads(raw)
    body["output"][0]["content"][0]["text"] = "Ultraviolet"
    return json.dumps(body).encode()


def test_a_relay_that_edits_the_answer_fails_the_run(
    responses_gateway: str, tmp_path: Path
) -> None:
    relay = TamperingRelay(responses_gateway)
    relay.transform = _edit
    with ThreadedUvicorn(relay.app) as server:
        receipts = use_verified_openai(
            base_url=f"{server.url}/v1", keys=f"{responses_gateway}/v1/receipts/keys",
            data_dir=tmp_path,
        )  # fmt: skip
        with pytest.raises(BindingError, match="altered in transit"):
            Runner.run_sync(AGENT, QUESTION)
    assert relay.changed >= 1 and receipts.all() == []
