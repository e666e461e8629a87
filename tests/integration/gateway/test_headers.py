"""Every header field that crosses the gateway is on an allow-list or dropped (issue 9)."""

from __future__ import annotations

import httpx
import pytest

from llmseal.errors import ConfigError
from llmseal.gateway.app import Gateway
from llmseal.gateway.config import GatewayConfig
from llmseal.gateway.headers import GATEWAY_REQUEST, REQUEST_ALLOWED, REQUEST_NEVER
from tests.integration.gateway.fake_upstream import FakeUpstream

REQUEST = {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]}
UNLISTED = ("x-stainless-os", "x-custom-thing", "sec-fetch-mode", "priority")
# Fields httpx cannot send (it frames the request itself) or that would break the exchange.
FRAMING = {b"host", b"content-length", b"transfer-encoding", b"connection", b"keep-alive",
           b"te", b"trailer", b"upgrade", b"proxy-connection", b"content-encoding",
           b"expect"}  # fmt: skip


def test_request_fields_reaching_the_upstream_are_exactly_the_allowed_ones(
    gateway: tuple[Gateway, str], fake: tuple[FakeUpstream, str]
) -> None:
    _, url = gateway
    sent = {name.decode(): f"value-{name.decode()}" for name in REQUEST_ALLOWED | REQUEST_NEVER}
    for name in FRAMING:
        sent.pop(name.decode(), None)
    sent["content-type"] = "application/json"
    sent.update({name: "unlisted" for name in UNLISTED})
    sent["x-fake"] = ""  # the test gateway's one extra forwarded field
    response = httpx.post(f"{url}/v1/chat/completions", json=REQUEST, headers=sent)
    assert response.status_code == 200, response.text
    arrived = dict(fake[0].headers[-1])
    expected = {n.decode() for n in REQUEST_ALLOWED} | {n.decode() for n in GATEWAY_REQUEST}
    assert set(arrived) == expected | {"x-fake"}
    for name in REQUEST_ALLOWED - GATEWAY_REQUEST:
        assert arrived[name.decode()] == sent[name.decode()]
    assert arrived["accept-encoding"] == "identity"
    assert arrived["host"] == fake[1].removeprefix("http://")  # the upstream's, not the caller's


def test_expect_never_reaches_the_upstream(
    gateway: tuple[Gateway, str], fake: tuple[FakeUpstream, str]
) -> None:
    _, url = gateway
    response = httpx.post(
        f"{url}/v1/chat/completions", json=REQUEST, headers={"expect": "100-continue"}
    )
    assert response.status_code == 200, response.text
    assert "expect" not in dict(fake[0].headers[-1])


def test_lists_are_disjoint_and_lowercase() -> None:
    assert not REQUEST_ALLOWED & REQUEST_NEVER
    assert GATEWAY_REQUEST <= REQUEST_NEVER
    assert all(name == name.lower() for name in REQUEST_ALLOWED | REQUEST_NEVER)


@pytest.mark.parametrize("name", ["expect", "Connection", "transfer-encoding", "host", "bad name"])
def test_an_operator_cannot_forward_a_framing_field(name: str) -> None:
    with pytest.raises(ConfigError, match="forward-header"):
        GatewayConfig(upstream="http://127.0.0.1:1", data_dir="x", forward_headers=(name,))


def test_forward_headers_survive_the_worker_environment() -> None:
    config = GatewayConfig(
        upstream="http://127.0.0.1:1", data_dir="x", forward_headers=("X-Tenant",)
    )
    again = GatewayConfig.from_env(config.to_env())
    assert again == config
    assert b"x-tenant" in again.request_fields
