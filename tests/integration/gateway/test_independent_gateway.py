"""Real gateway output checked by the independent spec verifier (no llmseal hashing).

The other gateway tests verify with llmseal's own ``hash_json``/``verify_receipt``: a
hashing bug on both sides would pass them. Here the request bytes, the response bytes
and the published key set go through ``tests/spec_verifier.py`` only.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from llmseal.gateway.app import Gateway
from tests.spec_verifier import body_output, spec_verify, stream_output

# Odd spacing, escapes and key order: the hash is over JCS, not these bytes.
RAW_REQUEST = (
    b'{ "messages" : [ {"role":"user", "content":"Bonjour \\u003c\\u00e7a> & \\ud83d\\ude00"} ],'
    b'\n  "model": "fake-model", "temperature": 0.50 }'
)


def _keys(url: str) -> list[dict[str, Any]]:
    keys: list[dict[str, Any]] = json.loads(httpx.get(f"{url}/v1/receipts/keys").content)["keys"]
    return keys


def _post(url: str, path: str, raw: bytes, **headers: str) -> httpx.Response:
    return httpx.post(
        url + path, content=raw, headers={"content-type": "application/json", **headers}
    )


def test_a_plain_answer_verifies_independently(gateway: tuple[Gateway, str]) -> None:
    _, url = gateway
    body = json.loads(_post(url, "/v1/chat/completions", RAW_REQUEST).content)
    receipt, sent = body["receipt"], json.loads(RAW_REQUEST)
    assert spec_verify(receipt, _keys(url), sent, body_output(body)) == "valid"
    edited = body_output(body)
    edited["choices"][0]["message"]["content"] += "."
    assert spec_verify(receipt, _keys(url), sent, edited) == "tampered"
    assert spec_verify(receipt, _keys(url), {**sent, "temperature": 0.6}, None) == "tampered"


def test_a_signed_error_verifies_independently(gateway: tuple[Gateway, str]) -> None:
    _, url = gateway
    response = _post(url, "/v1/chat/completions", RAW_REQUEST, **{"x-fake": "status:503"})
    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["receipt"]["status_code"] == 503
    assert spec_verify(body["receipt"], _keys(url), json.loads(RAW_REQUEST), body_output(body)) == (
        "valid"
    )


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages"])
def test_a_stream_verifies_independently(gateway: tuple[Gateway, str], path: str) -> None:
    _, url = gateway
    sent = {**json.loads(RAW_REQUEST), "stream": True, "max_tokens": 16}
    raw_request = json.dumps(sent, indent=2).encode()
    with httpx.stream(
        "POST", url + path, content=raw_request, headers={"content-type": "application/json"}
    ) as response:
        assert response.status_code == 200
        raw = b"".join(response.iter_bytes())
    chunks, receipt = stream_output(raw)
    assert len(chunks) == receipt["stream"]["chunks"] and len(chunks) >= 4
    assert spec_verify(receipt, _keys(url), sent, chunks) == "valid"
    assert spec_verify(receipt, _keys(url), sent, chunks[:-1]) == "tampered"
    assert spec_verify(receipt, _keys(url), sent, chunks[1:] + chunks[:1]) == "tampered"
