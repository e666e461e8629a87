"""Every header field that crosses the gateway, either way, is on an allow-list or dropped.

Issue 9: the caller sends every listed field and some unlisted ones; the fake
upstream answers with every kind of field. What arrives on the other side is
exactly the allow-list (and the fields the gateway and its server write).
"""

from __future__ import annotations

import httpx
import pytest

from llmseal.errors import ConfigError
from llmseal.gateway.app import Gateway
from llmseal.gateway.config.config import GatewayConfig
from llmseal.gateway.http.headers import (
    GATEWAY_REQUEST,
    GATEWAY_RESPONSE,
    REQUEST_ALLOWED,
    REQUEST_NEVER,
    RESPONSE_ALLOWED,
    RESPONSE_ALLOWED_PREFIXES,
    RESPONSE_NEVER,
)
from tests.integration.gateway.fake_upstream import RESPONSE_FIELDS, FakeUpstream

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
    sent["x-receipt-parents"] = "input=" + "ab" * 32  # the gateway's: well-formed, not forwarded
    sent["x-receipt-commit"] = "messages"
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


SERVER = {"date", "server"}  # written by the ASGI server (uvicorn) itself


def _expected_from_upstream(*, sealed: bool) -> set[str]:
    allowed = {n.decode() for n in RESPONSE_ALLOWED}
    if sealed:
        allowed.discard("content-type")
    return {
        name for name in RESPONSE_FIELDS
        if name in allowed or name.startswith(tuple(p.decode() for p in RESPONSE_ALLOWED_PREFIXES))
    }  # fmt: skip


def _received(response: httpx.Response) -> set[str]:
    return {name.lower() for name in response.headers}


def test_response_fields_reaching_the_caller_are_allowed_or_the_gateways(
    gateway: tuple[Gateway, str],
) -> None:
    _, url = gateway
    own = {n.decode() for n in GATEWAY_RESPONSE}
    sealed = httpx.post(f"{url}/v1/chat/completions", json=REQUEST, headers={"x-fake": "headers"})
    assert sealed.status_code == 200 and "receipt" in sealed.json()
    from_upstream = _expected_from_upstream(sealed=True)
    assert _received(sealed) - own - SERVER == from_upstream - own
    assert sealed.headers["cache-control"] == "no-store"  # allowed, and the upstream's
    assert sealed.headers["x-receipt-id"] == sealed.json()["receipt"]["receipt_id"]
    assert sealed.headers.get_list("x-receipt-id") == [sealed.json()["receipt"]["receipt_id"]]
    assert "s3cret" not in str(sealed.headers) and "session=" not in str(sealed.headers)
    passed = httpx.get(f"{url}/v1/models", headers={"x-fake": "headers"})
    framing = {"content-length", "transfer-encoding"}  # the ASGI server frames the relayed body
    assert passed.headers["content-type"] == "application/json"  # allowed on a passthrough
    assert _received(passed) - framing - {"content-type"} - SERVER == _expected_from_upstream(
        sealed=False
    )
    stream = httpx.post(
        f"{url}/v1/chat/completions",
        json={**REQUEST, "stream": True},
        headers={"x-fake": "headers"},
    )
    assert stream.status_code == 200
    assert _received(stream) - SERVER <= own | {"transfer-encoding"}  # none of the upstream's


def test_response_lists_are_disjoint_and_exercised() -> None:
    assert not RESPONSE_ALLOWED & RESPONSE_NEVER
    assert not any(n.startswith(RESPONSE_ALLOWED_PREFIXES) for n in RESPONSE_NEVER)
    assert all(n == n.lower() for n in RESPONSE_ALLOWED | RESPONSE_NEVER | GATEWAY_RESPONSE)
    # The fake upstream sends every allowed field (content-type it sets anyway), both
    # prefixes, and dropped and unlisted ones: the test above sees each case.
    sent = {name.encode() for name in RESPONSE_FIELDS}
    assert RESPONSE_ALLOWED - {b"content-type"} <= sent
    assert all(any(n.startswith(p) for n in sent) for p in RESPONSE_ALLOWED_PREFIXES)
    assert sent & RESPONSE_NEVER and sent - RESPONSE_ALLOWED - RESPONSE_NEVER
