"""ReceiptMiddleware inside plain Starlette and FastAPI apps (how vLLM would host it)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route

from llmseal.core.framing import read_stream
from llmseal.core.keyset import KeySet
from llmseal.core.verify import Status, verify_receipt
from llmseal.gateway.middleware import ReceiptMiddleware
from tests.helpers import ThreadedUvicorn
from tests.integration.gateway.fake_upstream import FakeUpstream, chunk, completion

REQUEST = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


async def _chat(request: Request) -> Any:
    body = await request.json()
    if body.get("stream"):

        async def events() -> AsyncIterator[bytes]:
            yield chunk("a")
            yield chunk("b", "stop")
            if request.headers.get("x-cut") != "1":
                yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")
    if request.headers.get("x-text") == "1":
        return PlainTextResponse("not json")
    return JSONResponse(completion(body))


def _keys(directory: Path) -> KeySet:
    return KeySet.from_json((directory / "keys" / "keys.json").read_bytes())


@pytest.fixture(params=["starlette", "fastapi"])
def app_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    # Configured from the environment, as `vllm serve --middleware ...` would construct it.
    monkeypatch.setenv("LLMSEAL_DATA_DIR", str(tmp_path / "signer"))
    monkeypatch.setenv("LLMSEAL_ISSUER", "inproc.example")
    if request.param == "starlette":
        app: Any = Starlette(routes=[Route("/v1/chat/completions", _chat, methods=["POST"])],
                             middleware=[Middleware(ReceiptMiddleware)])  # fmt: skip
    else:
        app = FastAPI()
        app.add_api_route("/v1/chat/completions", _chat, methods=["POST"])
        app.add_middleware(ReceiptMiddleware)
    with ThreadedUvicorn(app) as server:
        yield server.url


def test_json_response_is_sealed(app_url: str, tmp_path: Path) -> None:
    response = httpx.post(f"{app_url}/v1/chat/completions", json=REQUEST)
    body = response.json()
    assert int(response.headers["content-length"]) == len(response.content)
    result = verify_receipt(
        body["receipt"], _keys(tmp_path / "signer"), prompt=REQUEST, output=body
    )
    assert result.status is Status.VALID and body["receipt"]["issuer"] == "inproc.example"


def test_stream_is_sealed(app_url: str, tmp_path: Path) -> None:
    with httpx.stream(
        "POST", f"{app_url}/v1/chat/completions", json={**REQUEST, "stream": True}
    ) as r:
        raw = b"".join(r.iter_bytes())
    assert raw.endswith(b"}\n\ndata: [DONE]\n\n")
    saved = read_stream(raw)
    assert saved.receipt is not None and saved.receipt.framing == 2
    result = verify_receipt(
        saved.receipt.receipt, _keys(tmp_path / "signer"), prompt={**REQUEST, "stream": True},
        output=list(saved.chunks),
    )  # fmt: skip
    assert result.status is Status.VALID


def test_stream_without_done_is_not_sealed(app_url: str) -> None:
    with httpx.stream(
        "POST",
        f"{app_url}/v1/chat/completions",
        json={**REQUEST, "stream": True},
        headers={"x-cut": "1"},
    ) as r:
        raw = b"".join(r.iter_bytes())
    assert b'"receipt"' not in raw and b"data: [DONE]" not in raw and b'"error"' in raw


def test_non_json_answer_passes_unsigned(app_url: str) -> None:
    response = httpx.post(f"{app_url}/v1/chat/completions", json=REQUEST, headers={"x-text": "1"})
    assert response.text == "not json"


def test_bad_request_json_is_400(app_url: str) -> None:
    response = httpx.post(f"{app_url}/v1/chat/completions", content=b"{")
    assert response.status_code == 400 and "receipt" not in response.json()


def test_middleware_also_wraps_the_fake_upstream(tmp_path: Path) -> None:
    upstream = FakeUpstream()
    wrapped = ReceiptMiddleware(upstream.app, data_dir=tmp_path / "d", model_id="lab/model")
    with ThreadedUvicorn(wrapped) as server:
        body = httpx.post(f"{server.url}/v1/chat/completions", json=REQUEST).json()
    assert body["receipt"]["model_id"] == "lab/model"
    assert verify_receipt(body["receipt"], _keys(tmp_path / "d"), output=body)
