"""Issue 15: real SmolLM2 answers, sealed by the gateway, verified by the page in real Chromium."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from llmseal.gateway.app import Gateway
from llmseal.gateway.config.config import GatewayConfig
from llmseal.gateway.config.datadir import prepare_data_dir
from tests.helpers import ThreadedUvicorn
from tests.integration.web.conftest import browser, page, run_verify

pytestmark = [pytest.mark.slow, pytest.mark.model]
__all__ = ["browser", "page"]  # the Chromium fixtures, shared with tests/integration/web

QUESTION = {
    "model": "smollm2-135m-instruct",
    "messages": [{"role": "user", "content": "Name two colours of the rainbow. Be brief."}],
    "max_tokens": 24,
    "temperature": 0,
}


@pytest.fixture
def gateway_url(model_server: str, tmp_path: Path) -> Iterator[str]:
    config = prepare_data_dir(
        GatewayConfig(upstream=model_server, data_dir=str(tmp_path / "gw"), issuer="smollm2.test"),
        at=datetime.now(UTC),
    )
    with ThreadedUvicorn(Gateway(config)) as server:
        yield server.url


def test_live_answers_from_the_real_model_verify_in_the_browser(
    page: Page, gateway_url: str
) -> None:
    request = json.dumps(QUESTION)
    plain = httpx.post(
        f"{gateway_url}/v1/chat/completions",
        content=request,
        timeout=300,
        headers={"content-type": "application/json"},
    ).text
    streamed = httpx.post(
        f"{gateway_url}/v1/chat/completions", json={**QUESTION, "stream": True}, timeout=300
    ).text
    keys = f"{gateway_url}/v1/receipts/keys"
    page.goto(f"{gateway_url}/verify")
    assert run_verify(page, plain, keys_url=keys, prompt=request) == "valid"
    assert (
        run_verify(page, streamed, keys_url=keys, prompt=json.dumps({**QUESTION, "stream": True}))
        == "valid"
    )
    answer = json.loads(plain)["choices"][0]["message"]["content"]
    edited = plain.replace(json.dumps(answer)[1:-1], "I am a different model.", 1)
    assert edited != plain
    assert run_verify(page, edited, keys_url=keys) == "tampered"
