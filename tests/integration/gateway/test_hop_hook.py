"""The Sealer's ``hop`` hook (the LiteLLM hop): its parents are signed, its refusal holds."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from llmseal.core.framing import read_stream
from llmseal.gateway.middleware import ReceiptMiddleware
from llmseal.gateway.sealing._protocol import UpstreamProtocolError
from llmseal.gateway.sealing.sealing import RequestInfo
from tests.integration.gateway.fake_upstream import chunk, completion

REQUEST = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
LINK = {"digest": "ab" * 32, "relation": "upstream", "transform": {}}


async def _chat(request: Request) -> Any:
    body = await request.json()
    if body.get("stream"):
        events = (chunk("a"), chunk("b", "stop"), b"data: [DONE]\n\n")
        return StreamingResponse(iter(events), media_type="text/event-stream")
    return JSONResponse(completion(body), status_code=int(request.headers.get("x-status", "200")))


def _post(app: ReceiptMiddleware, body: dict[str, Any], **headers: str) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            return await client.post("/v1/chat/completions", json=body, headers=headers)

    return asyncio.run(call())


def _sealed(tmp_path: Path, hop: Any) -> ReceiptMiddleware:
    app = Starlette(routes=[Route("/v1/chat/completions", _chat, methods=["POST"])])
    sealed = ReceiptMiddleware(app, data_dir=tmp_path / "signer", issuer="hop.example")
    sealed.sealer.hop = hop
    return sealed


def test_the_hop_parents_are_signed_plain_and_streamed(tmp_path: Path) -> None:
    seen: list[tuple[str, int]] = []

    def hop(info: RequestInfo, status: int) -> list[dict[str, Any]]:
        seen.append((info.endpoint, status))
        return [LINK] if status == 200 else []

    sealed = _sealed(tmp_path, hop)
    plain = _post(sealed, REQUEST).json()
    assert plain["receipt"]["parents"] == [LINK]
    streamed = read_stream(_post(sealed, {**REQUEST, "stream": True}).content)
    assert streamed.receipt is not None and streamed.receipt.receipt["parents"] == [LINK]
    error = _post(sealed, REQUEST, **{"x-status": "429"}).json()  # nothing to build on
    assert "parents" not in error["receipt"] and error["receipt"]["status_code"] == 429
    assert seen == [("/v1/chat/completions", 200)] * 2 + [("/v1/chat/completions", 429)]
    sealed.close()


def test_a_hop_that_refuses_leaves_the_answer_unsealed(tmp_path: Path) -> None:
    def refuse(info: RequestInfo, status: int) -> list[dict[str, Any]]:
        raise UpstreamProtocolError("the upstream receipt failed verification: test")

    sealed = _sealed(tmp_path, refuse)
    plain = _post(sealed, REQUEST)
    assert plain.status_code == 200 and "receipt" not in plain.json()
    assert "x-receipt-id" not in plain.headers
    raw = _post(sealed, {**REQUEST, "stream": True}).content
    assert read_stream(raw).receipt is None
    assert b"stream not sealed: the upstream receipt failed verification: test" in raw
    sealed.close()
