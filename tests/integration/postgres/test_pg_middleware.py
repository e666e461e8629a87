"""ReceiptMiddleware (in-process signing, as inside vLLM) with LLMSEAL_STORE=postgresql://…"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from llmseal.gateway.middleware import ReceiptMiddleware
from llmseal.store.postgres import PostgresReceiptStore
from tests.helpers import ThreadedUvicorn
from tests.integration.gateway.fake_upstream import completion

REQUEST = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


async def _chat(request: Request) -> Any:
    return JSONResponse(completion(await request.json()))


def test_two_processes_worth_of_middleware_share_the_store(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMSEAL_DATA_DIR", str(tmp_path / "signer"))
    monkeypatch.setenv("LLMSEAL_STORE", pg_url)
    routes = [Route("/v1/chat/completions", _chat, methods=["POST"])]
    apps = [Starlette(routes=routes, middleware=[Middleware(ReceiptMiddleware)]) for _ in "ab"]
    with ThreadedUvicorn(apps[0]) as one, ThreadedUvicorn(apps[1]) as two:
        body = httpx.post(f"{one.url}/v1/chat/completions", json=REQUEST).json()
        receipt_id = body["receipt"]["receipt_id"]
        got = httpx.get(f"{two.url}/v1/receipts/{receipt_id}")
        assert got.status_code == 200 and got.json()["receipt_id"] == receipt_id
    store = PostgresReceiptStore(pg_url)
    try:
        assert receipt_id in store.ids()
    finally:
        store.close()
