"""Issue 16: the real LiteLLM proxy (1.110.2) as a signed hop in front of our gateway, SmolLM2.

client -> LiteLLM proxy (sealed, LLMSEAL_UPSTREAM_KEYS) -> relay -> llmseal gateway -> model.
The proxy verifies the gateway's receipt inside LiteLLM (its upstream http
client) and signs it as the ``upstream`` parent of its own, with the transform
it declared; the bundle of the answer verifies as a chain. The relay (a
TamperingRelay, switched per test) edits the answer, forges its receipt or swaps
in another answer's: the hop never seals a 2xx answer over it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from llmseal.client import verifying_http_client
from llmseal.core.framing import read_stream
from llmseal.core.sse import SseSplitter
from llmseal.gateway.app import Gateway
from llmseal.gateway.config.config import GatewayConfig
from llmseal.gateway.config.datadir import prepare_data_dir
from tests.helpers import ThreadedUvicorn, wait_http
from tests.integration.model.tamper import TamperingRelay

pytestmark = [pytest.mark.slow, pytest.mark.model]
MASTER_KEY = "sk-" + secrets.token_hex(32)
QUESTION: dict[str, Any] = {
    "model": "smollm2",
    "messages": [{"role": "user", "content": "Name one primary colour. One word."}],
    "max_tokens": 12,
    "temperature": 0,
}
HEADERS = {"Authorization": f"Bearer {MASTER_KEY}"}


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ForgingStreamRelay:
    """Passes a stream on event by event, forging the signature of its receipt comment.

    LiteLLM has started its own stream by the time the receipt arrives, so the
    hop learns the upstream receipt is bad after the 200 and the first chunks.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.forged = 0
        self.app = Starlette(routes=[Route("/{path:path}", self.forward, methods=["GET", "POST"])])

    async def forward(self, request: Request) -> StreamingResponse:
        body = await request.body()
        client = httpx.AsyncClient(base_url=self.upstream, timeout=300)
        answer = await client.send(client.build_request(
            request.method, "/" + request.path_params["path"], content=body,
            headers={"content-type": "application/json"}), stream=True)  # fmt: skip

        async def events() -> AsyncIterator[bytes]:
            splitter = SseSplitter()
            try:
                async for data in answer.aiter_raw():
                    for event in splitter.feed(data):
                        if event.startswith(b": llmseal-receipt "):
                            event = re.sub(rb'"signature":"(.)', self._flip, event, count=1)
                            self.forged += 1
                        yield event
            finally:
                await answer.aclose()
                await client.aclose()

        media = answer.headers.get("content-type", "application/json")
        return StreamingResponse(events(), answer.status_code, media_type=media)

    @staticmethod
    def _flip(match: re.Match[bytes]) -> bytes:
        return b'"signature":"' + (b"A" if match.group(1) != b"A" else b"B")


class Chain:
    def __init__(
        self, proxy: str, gateway: str, relay: TamperingRelay, forger: ForgingStreamRelay
    ) -> None:
        self.proxy, self.gateway, self.relay, self.forger = proxy, gateway, relay, forger


@pytest.fixture(scope="module")
def chain(model_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    work = tmp_path_factory.mktemp("litellm-hop")
    config = prepare_data_dir(
        GatewayConfig(upstream=model_server, data_dir=str(work / "gateway"),
                      issuer="upstream.test"),
        at=datetime.now(UTC),
    )  # fmt: skip
    with ThreadedUvicorn(Gateway(config)) as gateway:
        relay, forger = TamperingRelay(gateway.url), ForgingStreamRelay(gateway.url)
        with ThreadedUvicorn(relay.app) as relayed, ThreadedUvicorn(forger.app) as forging:
            (work / "config.yaml").write_text("model_list:\n" + "".join(
                f"  - model_name: {name}\n    litellm_params:\n"
                "      model: openai/smollm2-135m-instruct\n"
                f"      api_base: {url}/v1\n      api_key: sk-none\n"
                for name, url in (("smollm2", relayed.url), ("smollm2-forged", forging.url))
            ))  # fmt: skip
            port = _port()
            env = {**os.environ, "CONFIG_FILE_PATH": str(work / "config.yaml"),
                   "LLMSEAL_DATA_DIR": str(work / "hop"), "LLMSEAL_ISSUER": "hop.test",
                   "LLMSEAL_UPSTREAM_KEYS": f"{gateway.url}/v1/receipts/keys",
                   "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                   "LITELLM_MASTER_KEY": MASTER_KEY}  # fmt: skip
            log = (work / "proxy.log").open("wb")
            proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--factory",
                 "llmseal.integrations.litellm:create_app", "--host", "127.0.0.1",
                 "--port", str(port)],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
            url = f"http://127.0.0.1:{port}"
            try:
                wait_http(f"{url}/health/liveliness", timeout=300, process=proc)
                yield Chain(url, gateway.url, relay, forger)
            finally:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=60)
                log.close()


@pytest.fixture
def honest(chain: Chain) -> Iterator[Chain]:
    chain.relay.transform = lambda body: body
    chain.relay.changed = 0
    yield chain
    chain.relay.transform = lambda body: body


def _save(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value))
    return path


def _keys(url: str) -> list[Any]:
    return list(httpx.get(f"{url}/v1/receipts/keys").json()["keys"])


def test_plain_and_streamed_answers_name_the_verified_upstream_receipt(
    honest: Chain, tmp_path: Path
) -> None:
    http = verifying_http_client(keys=f"{honest.proxy}/v1/receipts/keys", data_dir=tmp_path)
    client = openai.OpenAI(base_url=f"{honest.proxy}/v1", api_key=MASTER_KEY, http_client=http,
                           max_retries=0)  # fmt: skip
    answer = client.chat.completions.create(**QUESTION)
    receipt = (answer.model_extra or {})["receipt"]
    (link,) = receipt["parents"]
    assert receipt["issuer"] == "hop.test" and link["relation"] == "upstream"
    assert link["receipt"]["issuer"] == "upstream.test"
    assert link["receipt"]["model_id"] == "smollm2-135m-instruct"  # what LiteLLM asked for
    assert "/messages" in link["transform"]["request"]["preserves"]
    assert "/choices/0/message/content" in link["transform"]["response"]["preserves"]
    chunks = list(client.chat.completions.create(**QUESTION, stream=True))
    verdict = (chunks[-1].model_extra or {})["llmseal"]
    assert verdict["status"] == "valid"
    (streamed,) = (chunks[-1].model_extra or {})["receipt"]["parents"]
    assert streamed["receipt"]["issuer"] == "upstream.test"
    # The upstream's own receipt and verdict do not ride along in LiteLLM's chunks.
    assert all("llmseal" not in (c.model_extra or {}) for c in chunks[:-1])
    http.close()


def test_the_answer_and_its_upstream_verify_as_a_chain(
    honest: Chain, cli: Callable[..., Any], tmp_path: Path
) -> None:
    answer = httpx.post(f"{honest.proxy}/v1/chat/completions", json=QUESTION, headers=HEADERS,
                        timeout=300).json()  # fmt: skip
    out = tmp_path / "hop.bundle.json"
    made = cli("bundle", "create", _save(tmp_path / "a.json", answer), "--request",
               _save(tmp_path / "q.json", QUESTION), "--out", out)  # fmt: skip
    assert made.status == 0, made.stderr
    both = _save(tmp_path / "both.json", {"keys": _keys(honest.proxy) + _keys(honest.gateway)})
    ok = cli("bundle", "verify", out, "--keys", both, "--json")
    assert ok.status == 0, ok.stdout
    (link,) = ok.json()["links"]
    assert (link["relation"], link["ops"]) == ("upstream", ["reserialize", "reserialize"])
    assert link["failures"] == []
    # Without the upstream's key the chain does not hold.
    alone = _save(tmp_path / "hop.json", {"keys": _keys(honest.proxy)})
    partial = cli("bundle", "verify", out, "--keys", alone, "--json")
    assert partial.status == 1 and any("unknown_key" in f for f in partial.json()["failures"])


def _edit(raw: bytes) -> bytes:
    if raw.startswith(b"{"):
        body = json.loads(raw)
        body["choices"][0]["message"]["content"] = "Ultraviolet"
        return json.dumps(body).encode()
    return re.sub(rb'"content": ?"[^"]+"', b'"content":"Ultraviolet"', raw, count=1)


def _forge(raw: bytes) -> bytes:  # a receipt whose signature is not the issuer's
    body = json.loads(raw)
    signature = body["receipt"]["signature"]
    body["receipt"]["signature"] = ("A" if signature[0] != "A" else "B") + signature[1:]
    return json.dumps(body).encode()


def _swap(saved: dict[str, Any]) -> Callable[[bytes], bytes]:
    def swap(raw: bytes) -> bytes:  # a genuine receipt, of another answer
        body = json.loads(raw)
        body["receipt"] = saved
        return json.dumps(body).encode()

    return swap


def _plain(chain: Chain) -> httpx.Response:
    return httpx.post(f"{chain.proxy}/v1/chat/completions", json=QUESTION, headers=HEADERS,
                      timeout=300)  # fmt: skip


@pytest.mark.parametrize("attack", ["edited", "forged", "swapped"])
def test_a_plain_answer_over_a_bad_upstream_receipt_is_not_sealed(
    honest: Chain, attack: str
) -> None:
    other = {**QUESTION, "messages": [{"role": "user", "content": "Say hello."}]}
    earlier = httpx.post(f"{honest.gateway}/v1/chat/completions",
                         json={**other, "model": "smollm2-135m-instruct"}, timeout=300)  # fmt: skip
    transform = {"edited": _edit, "forged": _forge, "swapped": _swap(earlier.json()["receipt"])}
    honest.relay.transform = transform[attack]
    answer = _plain(honest)
    assert honest.relay.changed >= 1
    assert answer.status_code >= 400  # LiteLLM's call failed inside the verifying client
    sealed = answer.json().get("receipt")
    assert sealed is None or "parents" not in sealed  # an error, never vouching for upstream


def test_a_stream_over_an_edited_upstream_is_not_sealed(honest: Chain, tmp_path: Path) -> None:
    honest.relay.transform = _edit  # the relay buffers: LiteLLM fails before its stream starts
    with httpx.stream("POST", f"{honest.proxy}/v1/chat/completions", headers=HEADERS,
                      json={**QUESTION, "stream": True}, timeout=300) as response:  # fmt: skip
        raw = b"".join(response.iter_bytes())
    assert honest.relay.changed >= 1 and response.status_code == 500
    assert "altered in transit" in json.loads(raw)["error"]["message"]
    assert "parents" not in json.loads(raw)["receipt"]  # LiteLLM's error, sealed as such
    http = verifying_http_client(keys=f"{honest.proxy}/v1/receipts/keys", data_dir=tmp_path)
    client = openai.OpenAI(base_url=f"{honest.proxy}/v1", api_key=MASTER_KEY, http_client=http,
                           max_retries=0)  # fmt: skip
    with pytest.raises(openai.InternalServerError, match="altered in transit"):
        list(client.chat.completions.create(**QUESTION, stream=True))
    http.close()


def test_a_stream_whose_upstream_receipt_fails_at_its_end_gets_no_receipt(
    honest: Chain,
) -> None:
    before = honest.forger.forged
    with httpx.stream("POST", f"{honest.proxy}/v1/chat/completions", headers=HEADERS,
                      json={**QUESTION, "model": "smollm2-forged", "stream": True},
                      timeout=300) as response:  # fmt: skip
        raw = b"".join(response.iter_bytes())
    assert honest.forger.forged > before
    assert response.status_code == 200  # LiteLLM had started streaming the provisional chunks
    assert raw.count(b"data: {") >= 2
    assert read_stream(raw).receipt is None and b"llmseal-receipt" not in raw
    # LiteLLM's error event, then [DONE], on which the hop refuses the seal: an error event.
    last = raw.rstrip(b"\n").rsplit(b"\n\n", 1)[-1]
    assert json.loads(last.removeprefix(b"data: "))["error"]["message"].startswith(
        "stream not sealed: the upstream receipt failed verification: receipt "
    ) and last.endswith(b'has an invalid signature","type":"llmseal_gateway_error",'
                        b'"code":"upstream_stream"}}')  # fmt: skip
