"""Issue 16: the real LiteLLM proxy (PyPI, 1.110.2) in front of SmolLM2, sealed.

The proxy runs under uvicorn as ``llmseal.integrations.litellm:create_app``: its
own ASGI app inside ReceiptMiddleware, configured by its usual ``config.yaml``.
The official openai SDK, plain and streamed, through the verifying client; a
relay between them that edits the answer or strips the receipt fails closed.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from llmseal.client import verifying_http_client
from llmseal.core.framing import read_stream
from llmseal.core.keyset import KeySet
from llmseal.core.verify import Status, verify_receipt
from llmseal.errors import BindingError, ReceiptRequiredError
from llmseal.integrations.litellm import TESTED_VERSION
from tests.helpers import ThreadedUvicorn, recording_client, wait_http
from tests.integration.model.tamper import TamperingRelay, edit_content, strip_receipt

pytestmark = [pytest.mark.slow, pytest.mark.model]
MASTER_KEY = "sk-" + secrets.token_hex(32)  # the proxy refuses to start without one
QUESTION: dict[str, Any] = {
    "model": "smollm2",
    "messages": [{"role": "user", "content": "Name one primary colour. One word."}],
    "max_tokens": 12,
    "temperature": 0,
}


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def proxy(model_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    assert version("litellm") == TESTED_VERSION  # the pinned, inspected release
    work = tmp_path_factory.mktemp("litellm")
    config = work / "config.yaml"
    config.write_text(
        "model_list:\n"
        "  - model_name: smollm2\n"
        "    litellm_params:\n"
        "      model: openai/smollm2-135m-instruct\n"
        f"      api_base: {model_server}/v1\n"
        "      api_key: sk-none\n"
    )
    port = _port()
    env = {**os.environ, "CONFIG_FILE_PATH": str(config), "LLMSEAL_DATA_DIR": str(work / "issuer"),
           "LLMSEAL_ISSUER": "litellm.test", "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "LITELLM_MASTER_KEY": MASTER_KEY}  # fmt: skip
    log = (work / "proxy.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "llmseal.integrations.litellm:create_app",
         "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/health/liveliness", timeout=300, process=proc)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()


def _client(url: str, keys: str, tmp_path: Path) -> openai.OpenAI:
    http = verifying_http_client(keys=keys, data_dir=tmp_path)
    return openai.OpenAI(base_url=f"{url}/v1", api_key=MASTER_KEY, http_client=http, max_retries=0)


def test_plain_and_streamed_answers_are_verified(proxy: str, tmp_path: Path) -> None:
    client = _client(proxy, f"{proxy}/v1/receipts/keys", tmp_path)
    answer = client.chat.completions.create(**QUESTION)
    assert answer.choices[0].message.content
    receipt = (answer.model_extra or {})["receipt"]
    assert receipt["issuer"] == "litellm.test" and receipt["endpoint"] == "/v1/chat/completions"
    chunks = list(client.chat.completions.create(**QUESTION, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).strip()
    assert (chunks[-1].model_extra or {})["llmseal"]["status"] == "valid"


def test_the_quickstart_loop_without_a_verifying_client(proxy: str) -> None:
    http, recorded = recording_client()
    client = openai.OpenAI(base_url=f"{proxy}/v1", api_key=MASTER_KEY, http_client=http)
    printed = [c.choices[0].delta.content for c in client.chat.completions.create(
        **QUESTION, stream=True)]  # fmt: skip
    assert "".join(p or "" for p in printed).strip()
    sent, raw = recorded[-1][0], bytes(recorded[-1][1])
    saved = read_stream(raw)
    assert saved.receipt is not None and len(saved.chunks) == len(printed)
    keys = KeySet.from_json(httpx.get(f"{proxy}/v1/receipts/keys").content)
    result = verify_receipt(saved.receipt.receipt, keys, prompt=sent, output=list(saved.chunks))
    assert result.status is Status.VALID, result.reasons


@pytest.mark.parametrize(
    ("stream", "transform", "error"),
    [(True, edit_content, BindingError), (False, edit_content, BindingError),
     (True, strip_receipt, ReceiptRequiredError), (False, strip_receipt, ReceiptRequiredError)],
    ids=["stream-edited", "plain-edited", "stream-stripped", "plain-stripped"],
)  # fmt: skip
def test_a_relay_that_edits_or_strips_fails_closed(
    proxy: str, tmp_path: Path, stream: bool, transform: Any, error: type[Exception]
) -> None:
    relay = TamperingRelay(proxy)
    relay.transform = transform
    with ThreadedUvicorn(relay.app) as server:
        client = _client(server.url, f"{proxy}/v1/receipts/keys", tmp_path)
        with pytest.raises(error):
            if stream:
                list(client.chat.completions.create(**QUESTION, stream=True))
            else:
                client.chat.completions.create(**QUESTION)
    assert relay.changed == 1
