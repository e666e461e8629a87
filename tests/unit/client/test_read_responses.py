"""Issue 9, defect 10: a stream the inner transport already read is verified, not skipped."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest

from llmseal.client.build import build_verifier
from llmseal.client.transport import AsyncVerifyingTransport, VerifyingTransport
from llmseal.core.framing import receipt_comment
from llmseal.core.hashing import StreamHasher, hash_json
from llmseal.core.sign import issue_receipt
from llmseal.errors import BindingError, ReceiptRequiredError
from tests.unit.client.conftest import ENDPOINT, Issuer

URL = "http://gateway.test/v1/chat/completions"
REQUEST = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}


def _sealed_stream(issuer: Issuer, words: list[str]) -> bytes:
    hasher = StreamHasher()
    out = b""
    for word in words:
        chunk = {"id": "s", "choices": [{"index": 0, "delta": {"content": word}}]}
        hasher.add(chunk)
        out += b"data: " + orjson.dumps(chunk) + b"\n\n"
    receipt = issue_receipt(
        issuer.signer, model_id="m", at=datetime.now(UTC), prompt_hash=hash_json(REQUEST),
        output_hash=hasher.hexdigest(), claims={"endpoint": ENDPOINT, "status_code": 200},
    )  # fmt: skip
    return out + receipt_comment(orjson.dumps(receipt.to_dict())) + b"data: [DONE]\n\n"


def _already_read(body: bytes) -> httpx.MockTransport:
    # httpx reads content= at once: the response arrives with its content in place.
    headers = {"content-type": "text/event-stream"}
    return httpx.MockTransport(lambda request: httpx.Response(200, content=body, headers=headers))


def _text(issuer: Issuer, body: bytes) -> str:
    transport = VerifyingTransport(build_verifier(keys=issuer.keyset), _already_read(body))
    with (
        httpx.Client(transport=transport) as client,
        client.stream("POST", URL, json=REQUEST) as response,
    ):
        return b"".join(response.iter_bytes()).decode()


async def _atext(issuer: Issuer, body: bytes) -> str:
    transport = AsyncVerifyingTransport(build_verifier(keys=issuer.keyset), _already_read(body))
    async with httpx.AsyncClient(transport=transport) as client:
        response = await client.post(URL, json=REQUEST)
        return response.text


def _tampered(body: bytes) -> bytes:
    return body.replace(b'"world"', b'"FORGED"', 1)


@pytest.mark.parametrize(
    "read", [_text, lambda i, b: asyncio.run(_atext(i, b))], ids=["sync", "async"]
)
def test_an_already_read_stream_is_verified(issuer: Issuer, read: Any) -> None:
    honest = _sealed_stream(issuer, ["hello ", "world"])
    assert '"llmseal":{"status":"valid"' in read(issuer, honest).replace(" ", "")
    with pytest.raises(BindingError):
        read(issuer, _tampered(honest))
    unsigned = honest.split(b": llmseal-receipt")[0] + b"data: [DONE]\n\n"
    with pytest.raises(ReceiptRequiredError):
        read(issuer, unsigned)


def test_a_consumed_stream_is_refused(issuer: Issuer) -> None:
    class Consuming(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = httpx.Response(
                200, headers={"content-type": "text/event-stream"},
                stream=httpx.ByteStream(_sealed_stream(issuer, ["x"])),
            )  # fmt: skip
            for _ in response.iter_raw():
                pass  # read and thrown away: there is no content left to check
            return response

    transport = VerifyingTransport(build_verifier(keys=issuer.keyset), Consuming())
    with httpx.Client(transport=transport) as client, pytest.raises(BindingError, match="consumed"):
        client.post(URL, json=REQUEST)
