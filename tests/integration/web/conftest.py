"""Real Chromium (Debian's, through Playwright) against the verify page and the dashboard."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from llmseal.bench._beds.browser import chromium
from llmseal.cli._web import serve_static
from llmseal.gateway.app import Gateway
from llmseal.gateway.config.config import GatewayConfig
from llmseal.gateway.config.datadir import prepare_data_dir
from tests.helpers import ThreadedUvicorn
from tests.integration.gateway.fake_upstream import FakeUpstream

VECTORS = Path(__file__).parents[2] / "vectors"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope, not session: while Playwright's sync API is open it keeps an
    # event loop running on this thread, and later tests' asyncio.run() would fail.
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 1000})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert not errors, errors  # a script error on the page fails the test


@pytest.fixture(scope="session")
def web_url() -> Iterator[str]:
    """``llmseal web``'s static server, on a free loopback port."""
    server = serve_static("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def attest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / "attest-v0.3" / "vectors.json").read_text())
    return data


@pytest.fixture(scope="session")
def python_signed() -> dict[str, Any]:
    path = VECTORS / "llmseal" / "python-signed.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def set_value(page: Page, selector: str, text: str) -> None:
    """Put text in a field the way a paste does (one input event), for any size."""
    page.eval_on_selector(
        selector,
        "(el, text) => { el.value = text; el.dispatchEvent(new Event('input', {bubbles: true})); }",
        text,
    )


def run_verify(page: Page, input_text: str, *, keys: Any = None, keys_url: str = "",
               **fields: str) -> str:  # fmt: skip
    """Fill the form, press #verify, return #result's data-status (20 s at most).

    The wait is fixed: mypy would let a caller's ``**fields`` reach a timeout parameter."""
    set_value(page, "#input", input_text)
    set_value(page, "#keys", "" if keys is None else json.dumps(keys))
    page.fill("#keys-url", keys_url)
    for name in ("prompt", "output", "log_vkeys", "witness_policy", *fields):
        set_value(page, f"#{name.replace('_', '-')}", fields.get(name, ""))
    page.click("#verify")
    page.wait_for_selector("#result[data-status]", timeout=20_000)
    status = page.get_attribute("#result", "data-status")
    assert status is not None
    return status


@pytest.fixture
def gateway_factory(tmp_path: Path) -> Iterator[Callable[..., tuple[Gateway, str]]]:
    """Real gateways (in-process uvicorn) in front of the deterministic fake upstream."""
    upstream = FakeUpstream()
    running: list[ThreadedUvicorn] = []
    fake = ThreadedUvicorn(upstream.app).__enter__()
    running.append(fake)

    def start(**options: Any) -> tuple[Gateway, str]:
        options.setdefault("upstream", fake.url)
        options.setdefault("data_dir", str(tmp_path / f"gw{len(running)}"))
        options.setdefault("issuer", "api.test.example")
        config = prepare_data_dir(GatewayConfig(**options), at=datetime.now(UTC))
        app = Gateway(config)
        server = ThreadedUvicorn(app).__enter__()
        running.append(server)
        return app, server.url

    yield start
    for server in reversed(running):
        server.__exit__()
