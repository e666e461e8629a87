"""The router in front of real gateways: a tampering relay is recorded, then avoided.

Three endpoints sell ``fake-model``: two llmseal gateways over the fake upstream,
and a shadow API (the test relay) in front of the first that edits answers. The
router sends through verifying clients; every refused answer is evidence against
the endpoint that sent it, and once enough has piled up (or a DIFF verdict comes
in) the router stops choosing it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmseal.audit.routing.ledger import Ledger, Tier
from llmseal.audit.routing.router import Endpoint, Router
from llmseal.client import verifying_http_client
from llmseal.errors import AuditError
from tests.helpers import ThreadedUvicorn
from tests.integration.client.relay import Relay
from tests.integration.gateway.conftest import fake, gateway_factory, keyset_of

__all__ = ["fake", "gateway_factory"]  # the gateway fixtures, used by name below

BODY = {"model": "fake-model", "messages": [{"role": "user", "content": "hello"}]}


@pytest.fixture
def market(
    gateway_factory: Callable[..., tuple[Any, str]], tmp_path: Path
) -> Iterator[tuple[list[Endpoint], Callable[[Endpoint], httpx.Client], Relay]]:
    _, honest = gateway_factory(issuer="honest.test")
    _, second = gateway_factory(issuer="second.test")
    relay = Relay(honest)
    relay.mode = "edit"
    keys = {honest: keyset_of(honest), second: keyset_of(second)}
    with ThreadedUvicorn(relay.app) as shadow:
        endpoints = [
            Endpoint("honest.test", f"{honest}/v1"),
            Endpoint("second.test", f"{second}/v1"),
            Endpoint("shadow.test", f"{shadow.url}/v1"),  # resells honest.test's answers
        ]
        upstream_of = {"honest.test": honest, "second.test": second, "shadow.test": honest}

        def client_for(endpoint: Endpoint) -> httpx.Client:
            client: httpx.Client = verifying_http_client(
                keys=keys[upstream_of[endpoint.issuer]], data_dir=tmp_path / "client",
                freshness=None)  # fmt: skip
            return client

        yield endpoints, client_for, relay


def test_a_tampering_endpoint_is_degraded_then_avoided(
    market: tuple[list[Endpoint], Callable[[Endpoint], httpx.Client], Relay], t0: datetime
) -> None:
    endpoints, client_for, relay = market
    ledger = Ledger()
    router = Router(endpoints, ledger, client_for=client_for, rng=random.Random(3))
    at = t0
    served: list[str] = []
    try:
        for _ in range(30):
            routed = router.post("/chat/completions", BODY, at=at)
            assert routed.response.status_code == 200
            assert "receipt" in routed.response.json()  # only verified answers come back
            served.append(routed.endpoint.issuer)
            at += timedelta(minutes=1)
    finally:
        router.close()
    assert relay.rewrites["edit"] >= 3  # the shadow API was really tried, and really lied
    shadow = ledger.standing("shadow.test", "fake-model", at=at)
    assert shadow.tier is Tier.DEGRADED and shadow.failed >= 3 and shadow.ok == 0
    assert "shadow.test" not in served
    assert {"honest.test", "second.test"} <= set(served)
    # once degraded, it comes after every honest endpoint
    assert router.order("fake-model", at=at)[-1].issuer == "shadow.test"
    tries = relay.rewrites["edit"]
    assert all(ledger.standing(e.issuer, "fake-model", at=at).tier is Tier.UNAUDITED
               for e in endpoints[:2])  # fmt: skip
    assert tries == sum(1 for e in ledger if e.kind == "failure")


def test_a_diff_verdict_removes_an_endpoint_from_routing(
    market: tuple[list[Endpoint], Callable[[Endpoint], httpx.Client], Relay], t0: datetime
) -> None:
    endpoints, client_for, relay = market
    relay.mode = "honest"
    ledger = Ledger()
    ledger.record("second.test", "fake-model", "DIFF", at=t0, source="sha256:report")
    router = Router(endpoints[:2], ledger, client_for=client_for)
    try:
        issuers = {router.post("/chat/completions", BODY, at=t0).endpoint.issuer
                   for _ in range(8)}  # fmt: skip
        assert issuers == {"honest.test"}
        only_second = Router(endpoints[1:2], ledger, client_for=client_for)
        with pytest.raises(AuditError, match="without adverse evidence"):
            only_second.post("/chat/completions", BODY, at=t0)
    finally:
        router.close()
