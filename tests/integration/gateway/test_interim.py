"""Issue 9, defect 1: an interim (1xx) upstream response must never become another
caller's sealed answer.

The upstream is real uvicorn (what llama-cpp-python's server and vLLM run on).
``100 Continue`` is what uvicorn itself writes when a request carries
``Expect: 100-continue``; ``103 Early Hints`` is written by the app (uvicorn's
HTTP/1.1 protocols have no early-hint message, so the app sends the 103 head and
then the final response's bytes). The first caller's answer is held back until
the upstream has seen the second caller's request: with a gateway that took the
interim response for the final one, the held answer lands on the second caller's
request and is sealed with its ``prompt_hash``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from llmseal.client import verifying_http_client
from llmseal.gateway.app import Gateway
from tests.helpers import ThreadedUvicorn
from tests.integration.gateway.conftest import keyset_of
from tests.integration.gateway.fake_upstream import completion

HOLD_GUARD = 10.0  # hang guard only: the held answer normally goes as soon as B arrives


class InterimUpstream:
    """An OpenAI-ish ASGI app that can send 103 and hold its answer."""

    def __init__(self) -> None:
        self.first_arrived = threading.Event()
        self.seen_headers: list[dict[str, str]] = []
        self._second: asyncio.Event | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if self._second is None:
            self._second = asyncio.Event()
        body = b""
        while True:  # uvicorn writes "100 Continue" here when the request expects it
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.seen_headers.append(headers)
        request = json.loads(body)
        prompt = request["messages"][-1]["content"]
        answer = json.dumps(completion(request)).encode()
        if not prompt.startswith("held"):
            self._second.set()
            await _send_json(send, answer)
            return
        final = (
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            b"content-length: " + str(len(answer)).encode() + b"\r\n\r\n" + answer
        )
        if "hints" in prompt:
            # The 103 head now, the final response later, as one "body" for uvicorn.
            await send({"type": "http.response.start", "status": 103, "headers": [
                (b"link", b"</style.css>; rel=preload; as=style"),
                (b"content-length", str(len(final)).encode()),
            ]})  # fmt: skip
        self.first_arrived.set()
        # Past the guard the gateway has queued B behind A on A's connection: answer anyway.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._second.wait(), HOLD_GUARD)
        if "hints" in prompt:
            await send({"type": "http.response.body", "body": final})
        else:
            await _send_json(send, answer)


async def _send_json(send: Any, body: bytes) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
    ]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
def interim() -> Iterator[tuple[InterimUpstream, str]]:
    upstream = InterimUpstream()
    with ThreadedUvicorn(upstream) as server:
        yield upstream, server.url


def _ask(url: str, prompt: str, headers: dict[str, str] | None = None) -> httpx.Response:
    request = {"model": "m", "messages": [{"role": "user", "content": prompt}]}
    return httpx.post(f"{url}/v1/chat/completions", json=request, headers=headers, timeout=30)


def _two_callers(
    url: str, first: str, first_headers: dict[str, str], upstream: InterimUpstream
) -> tuple[httpx.Response, dict[str, Any]]:
    """A asks (held upstream); then B asks with a verifying client. Returns A's answer, B's."""
    keys = keyset_of(url)
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(_ask, url, first, first_headers)
        assert upstream.first_arrived.wait(HOLD_GUARD), "the upstream never saw A"
        with verifying_http_client(keys=keys, base_url=url) as client:
            request = {"model": "m", "messages": [{"role": "user", "content": "question B"}]}
            answer_b = client.post("/v1/chat/completions", json=request).json()
        return held.result(timeout=30), answer_b


def _content(body: dict[str, Any]) -> str:
    return str(body["choices"][0]["message"]["content"])


@pytest.mark.parametrize(
    ("prompt", "headers"),
    [
        ("held: question A", {"expect": "100-continue"}),  # uvicorn's own 100 Continue
        ("held hints: question A", {}),  # 103 Early Hints before the final answer
    ],
    ids=["100-continue", "103-early-hints"],
)
def test_interim_response_never_seals_another_callers_answer(
    gateway_factory: Callable[..., tuple[Gateway, str]],
    interim: tuple[InterimUpstream, str],
    prompt: str,
    headers: dict[str, str],
) -> None:
    upstream, upstream_url = interim
    _, url = gateway_factory(upstream=upstream_url)
    answer_a, answer_b = _two_callers(url, prompt, headers, upstream)
    # B's verifying client accepted the answer it got: it must be B's, not A's.
    assert _content(answer_b) == "echo: question B"
    assert answer_a.status_code == 200, answer_a.text
    assert _content(answer_a.json()) == f"echo: {prompt}"
    assert "receipt" in answer_a.json()
    assert all("expect" not in seen for seen in upstream.seen_headers)
