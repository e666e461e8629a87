"""Bad input and upstream faults: clear JSON errors, no receipt for anything not delivered."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import openai
import pytest

from llmseal.gateway.app import Gateway
from tests.helpers import eventually, refused_port
from tests.integration.gateway.fake_upstream import FakeUpstream

REQUEST = {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]}


def _error(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}  # an error, and no receipt beside it
    assert isinstance(body["error"]["message"], str) and len(body["error"]["message"]) > 10
    error: dict[str, str] = body["error"]
    return error


@pytest.mark.parametrize(
    "payload",
    [b"{not json", b"[1, 2]", b"", b'{"a": NaN}', b'{"seed": 9007199254740993}',
     b'{"seed": 18446744073709551616}', b'{"seed": -9223372036854775809}'],
)  # fmt: skip
def test_malformed_request_is_400_without_upstream_call(
    gateway: tuple[Gateway, str], fake: tuple[FakeUpstream, str], payload: bytes
) -> None:
    _, url = gateway
    response = httpx.post(
        f"{url}/v1/chat/completions", content=payload, headers={"content-type": "application/json"}
    )
    assert _error(response, 400)["code"] == "invalid_request"
    assert fake[0].requests == []


def test_body_over_the_limit_is_413(
    gateway_factory: Callable[..., tuple[Gateway, str]], fake: tuple[FakeUpstream, str]
) -> None:
    _, url = gateway_factory(max_request_bytes=1000)
    big = {**REQUEST, "messages": [{"role": "user", "content": "x" * 2000}]}
    assert _error(httpx.post(f"{url}/v1/chat/completions", json=big), 413)["code"] == "too_large"

    def chunked() -> Iterator[bytes]:  # no content-length: counted while reading
        yield b'{"model": "m", "messages": [{"role": "user", "content": "'
        yield b"y" * 5000
        yield b'"}]}'

    response = httpx.post(f"{url}/v1/chat/completions", content=chunked())
    assert _error(response, 413)["code"] == "too_large"
    assert fake[0].requests == []


def test_upstream_unreachable_is_502(gateway_factory: Callable[..., tuple[Gateway, str]]) -> None:
    with refused_port() as port:  # held for the whole test: nobody else can listen there
        _, url = gateway_factory(upstream=f"http://127.0.0.1:{port}")
        assert (
            _error(httpx.post(f"{url}/v1/chat/completions", json=REQUEST), 502)["code"]
            == "upstream_unreachable"
        )
        stream = {**REQUEST, "stream": True}
        with httpx.stream("POST", f"{url}/v1/chat/completions", json=stream) as r:
            assert r.status_code == 502


def test_upstream_timeout_is_504(gateway_factory: Callable[..., tuple[Gateway, str]]) -> None:
    _, url = gateway_factory(upstream_timeout=0.3)
    response = httpx.post(
        f"{url}/v1/chat/completions", json=REQUEST, headers={"x-fake": "slow:2"}, timeout=10
    )
    assert _error(response, 504)["code"] == "upstream_timeout"


@pytest.mark.parametrize("mode", ["invalid-json", "html", "array"])
def test_upstream_invalid_json_is_502(gateway: tuple[Gateway, str], mode: str) -> None:
    _, url = gateway
    response = httpx.post(f"{url}/v1/chat/completions", json=REQUEST, headers={"x-fake": mode})
    assert _error(response, 502)["code"] == "upstream_invalid_response"


def test_cut_stream_ends_in_an_error_and_no_receipt(gateway: tuple[Gateway, str]) -> None:
    app, url = gateway
    before = app.writer.committed
    with httpx.stream(
        "POST",
        f"{url}/v1/chat/completions",
        json={**REQUEST, "stream": True},
        headers={"x-fake": "cut-stream"},
    ) as r:
        raw = b"".join(r.iter_bytes())
    assert b'"receipt"' not in raw
    assert b"data: [DONE]" not in raw
    assert raw.rstrip().endswith(b"}}")
    assert b'"error"' in raw.split(b"\n\n")[-2]
    assert app.writer.committed == before
    client = openai.OpenAI(
        base_url=f"{url}/v1", api_key="sk", default_headers={"x-fake": "cut-stream"}
    )
    with pytest.raises(openai.APIError, match="no receipt"):
        list(client.chat.completions.create(**REQUEST, stream=True))  # type: ignore[call-overload]


def test_store_failure_delivers_no_receipt(
    gateway: tuple[Gateway, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmseal.errors import StoreError

    app, url = gateway

    def broken(records: object) -> None:
        raise StoreError("disk full")

    monkeypatch.setattr(app.store, "put_many", broken)
    assert (
        _error(httpx.post(f"{url}/v1/chat/completions", json=REQUEST), 503)["code"]
        == "store_unavailable"
    )
    with httpx.stream("POST", f"{url}/v1/chat/completions", json={**REQUEST, "stream": True}) as r:
        raw = b"".join(r.iter_bytes())
    assert b'"receipt"' not in raw and b"data: [DONE]" not in raw and b"could not be stored" in raw


@pytest.mark.parametrize("mode", ["bigint", "hugeint"])
def test_upstream_json_that_cannot_be_hashed_is_502(
    gateway: tuple[Gateway, str], mode: str
) -> None:
    _, url = gateway
    response = httpx.post(f"{url}/v1/chat/completions", json=REQUEST, headers={"x-fake": mode})
    assert _error(response, 502)["code"] == "upstream_invalid_response"


def test_a_stream_chunk_beyond_64_bits_is_never_sealed(gateway: tuple[Gateway, str]) -> None:
    _, url = gateway
    body = {**REQUEST, "stream": True}
    response = httpx.post(f"{url}/v1/chat/completions", json=body, headers={"x-fake": "hugeint"})
    assert response.status_code == 200
    assert b'"receipt"' not in response.content
    assert b"upstream_stream" in response.content  # the error event, in place of a receipt


def _signed_requests(url: str) -> dict[str, float]:
    """Sealed-route requests the gateway has finished, by status class (from /metrics)."""
    prefix = 'llmseal_requests_total{route="signed",status="'
    rows = [r for r in httpx.get(f"{url}/metrics").text.splitlines() if r.startswith(prefix)]
    return {row[len(prefix) : len(prefix) + 3]: float(row.rsplit(" ", 1)[1]) for row in rows}


def test_client_gone_mid_stream_is_never_sealed(gateway: tuple[Gateway, str]) -> None:
    app, url = gateway
    before, counts = app.writer.committed, _signed_requests(url)
    with httpx.stream(
        "POST", f"{url}/v1/chat/completions", json={**REQUEST, "stream": True},
        headers={"x-fake": "trickle"},
    ) as r:  # fmt: skip
        next(r.iter_bytes())  # the first event arrives, then the client leaves
    # Wait for the gateway to finish the request (it counts it), not for time to pass.
    finished = sum(counts.values()) + 1
    assert eventually(lambda: sum(_signed_requests(url).values()) == finished, timeout=60)
    assert app.writer.committed == before
    assert _signed_requests(url)["4xx"] == counts["4xx"] + 1  # 499: the client went away
