"""Issue 16: real LangChain (langchain-openai) through the gateway, over SmolLM2, verified.

``verified_chat_openai`` gives a ``ChatOpenAI`` on the verifying clients and a
callback handler with the verified receipts per run: ``invoke``, ``stream``, an
async chain; a relay between LangChain and the gateway that edits the answer
makes the call fail.
"""

from __future__ import annotations

import asyncio
import functools
import operator
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from llmseal.devserver import MODEL_ALIAS
from llmseal.errors import BindingError, ReceiptRequiredError
from llmseal.gateway.app import Gateway
from llmseal.gateway.config.config import GatewayConfig
from llmseal.gateway.config.datadir import prepare_data_dir
from llmseal.integrations.langchain import verified_chat_openai
from tests.helpers import ThreadedUvicorn
from tests.integration.model.tamper import TamperingRelay, edit_content, strip_receipt

pytestmark = [pytest.mark.slow, pytest.mark.model]
QUESTION = "Name one primary colour. One word."
OPTIONS: dict[str, Any] = {"model": MODEL_ALIAS, "max_tokens": 12, "temperature": 0}


@pytest.fixture(scope="module")
def gateway(model_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config = prepare_data_dir(
        GatewayConfig(upstream=model_server, data_dir=str(tmp_path_factory.mktemp("issuer")),
                      issuer="langchain.test"),
        at=datetime.now(UTC),
    )  # fmt: skip
    with ThreadedUvicorn(Gateway(config)) as server:
        yield server.url


def _chat(url: str, keys_from: str, tmp_path: Path) -> Any:
    keys = f"{keys_from}/v1/receipts/keys"
    return verified_chat_openai(base_url=f"{url}/v1", keys=keys, verify={"data_dir": tmp_path},
                                max_retries=0, **OPTIONS)  # fmt: skip


def test_invoke_keeps_the_verified_receipt_by_run(gateway: str, tmp_path: Path) -> None:
    chat, receipts = _chat(gateway, gateway, tmp_path)
    run = uuid.uuid4()
    message = chat.invoke(QUESTION, config={"run_id": run})
    assert str(message.content).strip()
    receipt = message.response_metadata["receipt"]
    assert receipt["issuer"] == "langchain.test" and receipt["endpoint"] == "/v1/chat/completions"
    assert receipts.for_run(run) == [receipt]
    assert receipts.for_run(uuid.uuid4()) == []


def test_stream_carries_the_verdict_on_its_final_chunk(gateway: str, tmp_path: Path) -> None:
    chat, receipts = _chat(gateway, gateway, tmp_path)
    run = uuid.uuid4()
    chunks = list(chat.stream(QUESTION, config={"run_id": run}))
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert "".join(str(c.content) for c in chunks).strip()
    # The verdict rides on the chunk with finish_reason (LangChain adds an empty one after it).
    (verdict,) = [c.response_metadata for c in chunks if "llmseal" in c.response_metadata]
    assert verdict["llmseal"]["status"] == "valid" and verdict["finish_reason"]
    whole = functools.reduce(operator.add, chunks)
    assert whole.response_metadata["receipt"] == verdict["receipt"]
    assert receipts.for_run(run) == [verdict["receipt"]]


def test_an_async_chain_collects_the_receipt_under_the_chain_run(
    gateway: str, tmp_path: Path
) -> None:
    chat, receipts = _chat(gateway, gateway, tmp_path)
    chain = ChatPromptTemplate.from_messages([("user", "{question}")]) | chat | StrOutputParser()
    run = uuid.uuid4()
    text = asyncio.run(chain.ainvoke({"question": QUESTION},
                                     config={"run_id": run, "callbacks": [receipts]}))  # fmt: skip
    assert text.strip()
    (receipt,) = receipts.for_run(run)  # the model call is a child run of the chain
    assert receipt["issuer"] == "langchain.test"


@pytest.mark.parametrize(
    ("stream", "transform", "error"),
    [(False, edit_content, BindingError), (True, edit_content, BindingError),
     (False, strip_receipt, ReceiptRequiredError), (True, strip_receipt, ReceiptRequiredError)],
    ids=["invoke-edited", "stream-edited", "invoke-stripped", "stream-stripped"],
)  # fmt: skip
def test_a_relay_that_edits_or_strips_the_answer_fails_the_call(
    gateway: str, tmp_path: Path, stream: bool, transform: Any, error: type[Exception]
) -> None:
    relay = TamperingRelay(gateway)
    relay.transform = transform
    with ThreadedUvicorn(relay.app) as server:
        chat, receipts = _chat(server.url, gateway, tmp_path)
        with pytest.raises(error):
            if stream:
                list(chat.stream(QUESTION))
            else:
                chat.invoke(QUESTION)
    assert relay.changed == 1 and receipts.all() == []
