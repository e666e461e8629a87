"""The signing proxy with the official openai SDK: plain, streaming, pass-through, modes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest

from llmseal.core.framing import read_stream
from llmseal.core.hashing import hash_json
from llmseal.core.verify import Status, verify_receipt
from llmseal.gateway.app import Gateway
from tests.helpers import recording_client
from tests.integration.gateway.conftest import keyset_of
from tests.integration.gateway.fake_upstream import FakeUpstream

REQUEST = {"model": "fake-model", "messages": [{"role": "user", "content": "Bonjour <ça> & 😀"}]}


def test_plain_response_carries_a_verifiable_receipt(gateway: tuple[Gateway, str]) -> None:
    app, url = gateway
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="sk-test")
    raw = client.chat.completions.with_raw_response.create(**REQUEST)  # type: ignore[call-overload]
    body = json.loads(raw.http_response.content)
    sent = json.loads(raw.http_request.content)
    receipt = body["receipt"]
    assert raw.http_response.headers["x-receipt-id"] == receipt["receipt_id"]
    assert receipt["prompt_hash"] == hash_json(sent)
    result = verify_receipt(receipt, keyset_of(url), prompt=sent, output=body)
    assert result.status is Status.VALID, result.reasons
    assert receipt["issuer"] == "api.test.example"
    assert receipt["status_code"] == 200
    assert receipt["usage"] == body["usage"]
    assert receipt["model_id"] == "fake-model"
    stored = app.store.get(receipt["receipt_id"])
    assert stored is not None and json.loads(stored.body) == receipt
    completion = raw.parse()
    assert completion.choices[0].message.content == "echo: Bonjour <ça> & 😀"


def test_streaming_with_the_sdk_sees_no_receipt_event(gateway: tuple[Gateway, str]) -> None:
    _, url = gateway
    http, recorded = recording_client()
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="sk-test", http_client=http)
    chunks = list(client.chat.completions.create(**REQUEST, stream=True))  # type: ignore[call-overload]
    text = "".join(c.choices[0].delta.content or "" for c in chunks)  # no choices == [] chunk
    assert text == "Hello, world" and len(chunks) == 4
    saved = read_stream(bytes(recorded[-1][1]))
    assert saved.receipt is not None
    receipt = saved.receipt.receipt
    # The output is the parsed data: objects in order, without [DONE] and comments.
    data = [c.model_dump(exclude_unset=True) for c in chunks]
    assert data == list(saved.chunks)
    result = verify_receipt(
        receipt, keyset_of(url), prompt={**REQUEST, "stream": True}, output=data
    )
    assert result.status is Status.VALID, result.reasons
    assert receipt["stream"]["chunks"] == 4


def test_stream_bytes_are_forwarded_unchanged(gateway: tuple[Gateway, str]) -> None:
    _, url = gateway
    with httpx.stream("POST", f"{url}/v1/chat/completions", json={**REQUEST, "stream": True}) as r:
        raw = b"".join(r.iter_bytes())
    events = raw.split(b"\n\n")
    assert events[0] == b": keep-alive comment"
    assert events[1].startswith(b'data: {"id": "chatcmpl-fake-2", ')  # upstream spacing kept
    assert events[-2] == b"data: [DONE]" and events[-1] == b""
    assert events[-3].startswith(b': llmseal-receipt 2 {"receipt":{')
    assert all(b"receipt" not in e for e in events[:-3])


def test_on_request_mode(gateway_factory: Callable[..., tuple[Gateway, str]]) -> None:
    _, url = gateway_factory(receipts="on-request")
    plain = httpx.post(f"{url}/v1/chat/completions", json=REQUEST).json()
    assert "receipt" not in plain
    asked = httpx.post(
        f"{url}/v1/chat/completions", json=REQUEST, headers={"X-Receipt-Request": "true"}
    ).json()
    assert "receipt" in asked


def test_other_routes_pass_through_unsigned(gateway: tuple[Gateway, str]) -> None:
    _, url = gateway
    response = httpx.get(f"{url}/v1/models")
    assert response.status_code == 200
    assert response.json() == {"object": "list", "data": [{"id": "fake-model"}]}


def test_upstream_error_is_passed_through_and_signed(gateway: tuple[Gateway, str]) -> None:
    _, url = gateway
    response = httpx.post(
        f"{url}/v1/chat/completions", json=REQUEST, headers={"x-fake": "status:503"}
    )
    assert response.status_code == 503
    body = response.json()
    assert body["error"]["message"] == "upstream says no"
    assert body["receipt"]["status_code"] == 503
    assert verify_receipt(body["receipt"], keyset_of(url), prompt=REQUEST, output=body)


def test_chained_receipt_is_kept_as_a_parent(gateway: tuple[Gateway, str]) -> None:
    _, url = gateway
    body = httpx.post(
        f"{url}/v1/chat/completions", json=REQUEST, headers={"x-fake": "receipt"}
    ).json()
    assert body["receipt"]["parents"] == [{"receipt_id": "parent"}]
    assert verify_receipt(body["receipt"], keyset_of(url), output=body)


def test_concurrent_requests_get_distinct_valid_receipts(gateway: tuple[Gateway, str]) -> None:
    import asyncio

    _, url = gateway

    async def run() -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            bodies = [
                {**REQUEST, "messages": [{"role": "user", "content": f"q{i}"}]} for i in range(40)
            ]
            responses = await asyncio.gather(
                *(client.post("/v1/chat/completions", json=b) for b in bodies)
            )
            return [
                {"request": b, "response": r.json()} for b, r in zip(bodies, responses, strict=True)
            ]

    exchanges = asyncio.run(run())
    keyset = keyset_of(url)
    ids = {e["response"]["receipt"]["receipt_id"] for e in exchanges}
    nonces = {e["response"]["receipt"]["nonce"] for e in exchanges}
    assert len(ids) == len(nonces) == 40
    for e in exchanges:
        assert verify_receipt(
            e["response"]["receipt"], keyset, prompt=e["request"], output=e["response"]
        )


@pytest.mark.parametrize("path", ["/metrics"])
def test_metrics(gateway: tuple[Gateway, str], path: str) -> None:
    _, url = gateway
    httpx.post(f"{url}/v1/chat/completions", json=REQUEST)
    httpx.post(f"{url}/v1/chat/completions", content=b"{oops")
    text = httpx.get(f"{url}{path}").text
    assert 'llmseal_requests_total{route="signed",status="2xx"} 1' in text
    assert 'llmseal_requests_total{route="signed",status="4xx"} 1' in text
    assert "llmseal_receipts_total 1" in text
    assert 'llmseal_signing_seconds_bucket{le="+Inf"} 1' in text


def test_fake_upstream_recorded_requests(
    gateway: tuple[Gateway, str], fake: tuple[FakeUpstream, str]
) -> None:
    _, url = gateway
    httpx.post(f"{url}/v1/chat/completions", json=REQUEST, headers={"X-Receipt-Request": "true"})
    assert fake[0].requests == [REQUEST]


def test_chained_stream_carries_one_receipt_and_signs_the_inner_one(
    gateway_factory: Callable[..., tuple[Gateway, str]],
) -> None:
    _, inner = gateway_factory()
    _, outer = gateway_factory(upstream=inner, issuer="outer.example")
    request = {**REQUEST, "stream": True}
    with httpx.stream("POST", f"{outer}/v1/chat/completions", json=request) as r:
        raw = b"".join(r.iter_bytes())
    assert raw.count(b": llmseal-receipt ") == 1
    saved = read_stream(raw)
    assert saved.receipt is not None
    receipt = saved.receipt.receipt
    assert receipt["issuer"] == "outer.example"
    (parent,) = receipt["parents"]
    for signed, url in ((receipt, outer), (parent, inner)):  # both cover the same chunks
        result = verify_receipt(signed, keyset_of(url), prompt=request, output=list(saved.chunks))
        assert result.status is Status.VALID, result.reasons


def test_declared_parents_are_signed_and_a_bad_declaration_is_a_400(
    gateway: tuple[Gateway, str],
) -> None:
    _, url = gateway
    digest = "cd" * 32
    declared = f"input={digest}, previous={'ef' * 32}"
    answer = httpx.post(f"{url}/v1/chat/completions", json=REQUEST,
                        headers={"x-receipt-parents": declared})  # fmt: skip
    assert answer.status_code == 200
    assert answer.json()["receipt"]["parents"] == [
        {"digest": digest, "relation": "input"}, {"digest": "ef" * 32, "relation": "previous"},
    ]  # fmt: skip
    bad = httpx.post(f"{url}/v1/chat/completions", json=REQUEST,
                     headers={"x-receipt-parents": "sibling=" + digest})  # fmt: skip
    assert bad.status_code == 400 and "x-receipt-parents" in bad.json()["error"]["message"]
