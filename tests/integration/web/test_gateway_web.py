"""The gateway's /verify and /dashboard in real Chromium, on live sealed traffic."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from llmseal.gateway.app import Gateway
from llmseal.log.service.service import read_log_info
from tests.integration.web.conftest import run_verify

pytestmark = pytest.mark.slow

CHAT = {"model": "fake-model", "messages": [{"role": "user", "content": "Grüße <b>hi</b>"}]}


def test_a_live_sealed_response_verifies_on_the_gateways_page(
    page: Page, gateway_factory: Callable[..., tuple[Gateway, str]]
) -> None:
    _, url = gateway_factory()
    keys = f"{url}/v1/receipts/keys"
    request = json.dumps(CHAT)
    plain = httpx.post(f"{url}/v1/chat/completions", content=request).text
    stream = httpx.post(f"{url}/v1/chat/completions", json={**CHAT, "stream": True}).text
    messages = {
        "model": "fake-claude",
        "max_tokens": 9,
        "messages": CHAT["messages"],
        "stream": True,
    }
    anthropic = httpx.post(f"{url}/v1/messages", json=messages).text
    assert '"receipt"' in plain and '"receipt"' in stream and '"receipt"' in anthropic
    page.goto(f"{url}/verify")
    assert run_verify(page, plain, keys_url=keys) == "valid"
    assert run_verify(page, plain, keys_url=keys, prompt=request) == "valid"
    assert run_verify(page, stream, keys_url=keys) == "valid"
    assert run_verify(page, anthropic, keys_url=keys) == "valid"
    assert run_verify(page, plain.replace("echo:", "ECHO:"), keys_url=keys) == "tampered"
    other = json.dumps({**CHAT, "temperature": 2})
    assert run_verify(page, plain, keys_url=keys, prompt=other) == "tampered"


def test_the_page_is_served_with_its_policy(
    gateway_factory: Callable[..., tuple[Gateway, str]],
) -> None:
    _, url = gateway_factory()
    answer = httpx.get(f"{url}/verify")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    csp = answer.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert len(answer.content) < 100_000
    assert httpx.get(f"{url}/v1/receipts/keys").headers["access-control-allow-origin"] == "*"


def test_the_dashboard_shows_live_traffic_and_links_to_the_verifier(
    page: Page, gateway_factory: Callable[..., tuple[Gateway, str]]
) -> None:
    gateway, url = gateway_factory(dashboard=True)
    ids = [
        httpx.post(f"{url}/v1/chat/completions", json=CHAT).headers["x-receipt-id"]
        for _ in range(3)
    ]
    page.goto(f"{url}/dashboard")
    page.wait_for_selector("body[data-state=loaded]")
    # Two metrics samples make a rate (the page's CSP forbids eval, so no wait_for_function).
    page.wait_for_selector("body[data-samples]:not([data-samples='1'])")
    recent = page.inner_text("#recent")
    assert all(receipt_id in recent for receipt_id in ids)
    assert page.inner_text("#receipts-total") == "3"
    assert gateway.sealer.signer.key_id in page.inner_text("#keys")
    assert "signing" in page.inner_text("#keys")
    # More traffic shows up without a reload.
    more = httpx.post(f"{url}/v1/chat/completions", json=CHAT).headers["x-receipt-id"]
    expect(page.locator("#recent")).to_contain_text(more, timeout=15_000)
    expect(page.locator("#receipts-total")).to_have_text("4")
    # A receipt's verify link opens the page, which fetches and verifies it.
    page.click(f"#recent tr:has-text('{ids[0]}') a:text('verify')")
    page.wait_for_selector("#result[data-status]")
    assert page.get_attribute("#result", "data-status") == "valid"
    assert ids[0] in page.inner_text("#verdict")


def test_the_dashboard_is_off_unless_enabled(
    gateway_factory: Callable[..., tuple[Gateway, str]],
) -> None:
    _, url = gateway_factory()
    for path in ("/dashboard", "/dashboard/state"):
        assert httpx.get(f"{url}{path}").status_code == 404  # passed to the upstream, unknown there
    _, off = gateway_factory(verify_page=False)
    assert httpx.get(f"{off}/verify").status_code == 404


def test_a_logged_receipt_from_a_live_gateway_and_its_checkpoint_on_the_dashboard(
    page: Page, gateway_factory: Callable[..., tuple[Gateway, str]], tmp_path: Path,
    cli: Callable[..., Any],
) -> None:  # fmt: skip
    log_dir = tmp_path / "log"
    _, url = gateway_factory(dashboard=True, log_dir=str(log_dir), log_inline=True)
    vkey = read_log_info(log_dir)["vkey"]
    answer = httpx.post(f"{url}/v1/chat/completions", json=CHAT, timeout=30).text
    assert json.loads(answer)["receipt_evidence"]["log"].startswith("c2sp.org/tlog-proof@v1")
    page.goto(f"{url}/verify")
    assert run_verify(page, answer, keys_url=f"{url}/v1/receipts/keys", log_vkeys=vkey) == "valid"
    text = page.inner_text("#result")
    assert "proven" in text and "api.test.example/log" in text
    # The Python verifier reads the same proof the same way.
    saved = tmp_path / "answer.json"
    saved.write_text(answer)
    keys = tmp_path / "keys.json"
    keys.write_text(httpx.get(f"{url}/v1/receipts/keys").text)
    python = cli("verify", saved, "--keys", keys, "--log-vkey", vkey, "--json")
    assert python.status == 0, python.stderr
    js = page.evaluate(
        "([a, k, v]) => llmseal.verify(a, {keys: k, logVkeys: [v]})",
        [answer, keys.read_text(), vkey],
    )
    assert js["status"] == python.json()["status"] == "valid"
    assert {k: js["log"][k] for k in ("verified", "origin", "index", "tree_size")} == python.json()[
        "log"
    ]
    # A proof from the log for another receipt does not prove this one.
    other = json.loads(httpx.post(f"{url}/v1/chat/completions", json=CHAT, timeout=30).text)
    swapped = {**json.loads(answer), "receipt_evidence": other["receipt_evidence"]}
    assert (
        run_verify(page, json.dumps(swapped), keys_url=f"{url}/v1/receipts/keys", log_vkeys=vkey)
        == "valid"
    )
    assert "not proven" in page.inner_text("#result")
    # The dashboard shows the log's latest checkpoint, verified under the log's key.
    page.goto(f"{url}/dashboard")
    page.wait_for_selector("body[data-state=loaded]")
    expect(page.locator("#log-section")).to_be_visible()
    expect(page.locator("#log")).to_contain_text("api.test.example/log")
    expect(page.locator("#log")).to_contain_text(vkey)
