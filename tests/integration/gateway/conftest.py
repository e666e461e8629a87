from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmseal.core.keyset import KeySet
from llmseal.gateway.app import Gateway
from llmseal.gateway.config.config import GatewayConfig
from llmseal.gateway.config.datadir import prepare_data_dir
from tests.helpers import ThreadedUvicorn
from tests.integration.gateway.fake_upstream import FakeUpstream


@pytest.fixture
def fake() -> Iterator[tuple[FakeUpstream, str]]:
    upstream = FakeUpstream()
    with ThreadedUvicorn(upstream.app) as server:
        yield upstream, server.url


@pytest.fixture
def gateway_factory(
    tmp_path: Path, fake: tuple[FakeUpstream, str], t0: Any
) -> Iterator[Callable[..., tuple[Gateway, str]]]:
    running: list[ThreadedUvicorn] = []

    def start(**options: Any) -> tuple[Gateway, str]:
        options.setdefault("upstream", fake[1])
        options.setdefault("data_dir", str(tmp_path / f"gw{len(running)}"))
        options.setdefault("issuer", "api.test.example")
        options.setdefault("forward_headers", ("x-fake",))  # the fake upstream's mode switch
        config = prepare_data_dir(GatewayConfig(**options), at=t0)
        app = Gateway(config)
        server = ThreadedUvicorn(app).__enter__()
        running.append(server)
        return app, server.url

    yield start
    for server in running:
        server.__exit__()


@pytest.fixture
def gateway(gateway_factory: Callable[..., tuple[Gateway, str]]) -> tuple[Gateway, str]:
    return gateway_factory()


def keyset_of(url: str) -> KeySet:
    return KeySet.from_json(httpx.get(f"{url}/v1/receipts/keys").content)
