"""ReceiptMiddleware inside plain Starlette and FastAPI apps (how vLLM would host it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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


def test_receipt_api_is_served(app_url: str, tmp_path: Path) -> None:
    body = httpx.post(f"{app_url}/v1/chat/completions", json=REQUEST).json()
    receipt = body["receipt"]
    published = KeySet.from_json(httpx.get(f"{app_url}/v1/receipts/keys").content)
    assert published.resolve(receipt["key_id"]) is not None
    assert published.to_dict() == _keys(tmp_path / "signer").to_dict()
    stored = httpx.get(f"{app_url}/v1/receipts/{receipt['receipt_id']}").json()
    assert stored == receipt
    checked = httpx.get(f"{app_url}/v1/receipts/{receipt['receipt_id']}/verify").json()
    assert checked["status"] == "valid"
    posted = httpx.post(
        f"{app_url}/v1/receipts/verify", json={"receipt": receipt, "output": json.dumps(body)}
    ).json()
    assert posted["status"] == "valid"
    body["choices"][0]["message"]["content"] = "edited"
    edited = {"receipt": receipt, "output": json.dumps(body)}
    assert httpx.post(f"{app_url}/v1/receipts/verify", json=edited).json()["status"] == "tampered"


def _uvicorn(port: int, *options: str, env: dict[str, str]) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "uvicorn", "tests.integration.gateway.middleware_app:app",
               "--host", "127.0.0.1", "--port", str(port), *options]  # fmt: skip
    return subprocess.Popen(
        command, env=env, cwd=Path(__file__).parents[3], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("setting", "message"),
    [({}, "set LLMSEAL_DATA_DIR"), ({"LLMSEAL_RECEIPTS": "sometimes"}, "LLMSEAL_RECEIPTS must")],
)
def test_without_its_settings_the_server_refuses_to_start(
    setting: dict[str, str], message: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMSEAL_")}
    if setting:
        env |= {"LLMSEAL_DATA_DIR": str(tmp_path / "d"), **setting}
    proc = _uvicorn(0, env=env)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0, out
    lines = [line for line in out.splitlines() if "llmseal ReceiptMiddleware:" in line]
    assert len(lines) == 1 and message in lines[0], out
    assert "Traceback" not in out


def test_without_lifespan_every_request_is_refused(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMSEAL_")}
    proc = _uvicorn(0, "--lifespan", "off", env=env)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # until uvicorn says where it listens
            if "Uvicorn running on http://127.0.0.1:" in line:
                port = int(line.split("127.0.0.1:")[1].split()[0])
                break
        else:
            raise AssertionError("uvicorn exited before it listened")
        response = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", json=REQUEST)
        assert response.status_code == 500 and "receipt" not in response.json()
        assert "set LLMSEAL_DATA_DIR" in response.json()["error"]["message"]
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
