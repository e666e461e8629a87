"""The NDJSON checker (Ollama's native API): verdict on the done part, fail closed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
import pytest

from llmseal.bench._support.payload import REQUEST
from llmseal.client.verifier import ResponseVerifier
from llmseal.core.hashing import hash_json, hash_stream
from llmseal.core.keys import Ed25519Signer
from llmseal.core.ndjson import receipt_line
from llmseal.core.sign import issue_receipt
from llmseal.errors import BindingError, ReceiptRequiredError
from tests.unit.client.conftest import REQUEST_BYTES

CHAT = "/api/chat"
CALL = {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}
PARTS: list[dict[str, Any]] = [
    {"model": "m", "message": {"role": "assistant", "content": "", "tool_calls": [CALL]},
     "done": False},
    {"model": "m", "message": {"role": "assistant", "content": ""}, "done": True,
     "done_reason": "stop"},
]  # fmt: skip


@pytest.fixture
def lines(signer: Ed25519Signer, t0: datetime) -> Callable[..., list[bytes]]:
    def make(parts: list[dict[str, Any]]) -> list[bytes]:
        receipt = issue_receipt(
            signer, model_id="m", prompt_hash=hash_json(REQUEST), output_hash=hash_stream(parts),
            at=t0, claims={"endpoint": CHAT},
        )  # fmt: skip
        body = [orjson.dumps(p) + b"\n" for p in parts]
        return [*body, receipt_line(orjson.dumps(receipt.to_dict()))]

    return make


def _run(verifier: ResponseVerifier, data: list[bytes]) -> list[Any]:
    checker = verifier.stream(CHAT, REQUEST_BYTES)
    out = b"".join(checker.feed(d) for d in data) + checker.finish()
    return [orjson.loads(line) for line in out.splitlines()]


def test_an_honest_stream_is_released_with_the_verdict_on_the_done_part(
    verifier: Callable[..., ResponseVerifier], lines: Callable[..., list[bytes]]
) -> None:
    data = b"".join(lines(PARTS))
    seen = _run(verifier(), [data[i : i + 7] for i in range(0, len(data), 7)])  # any cut
    assert len(seen) == 2 and seen[0] == PARTS[0]  # no receipt line reaches the client
    assert seen[1]["done"] is True and seen[1]["llmseal"]["status"] == "valid"
    assert seen[1]["receipt"]["model_id"] == "m"


def test_an_edited_tool_call_fails(
    verifier: Callable[..., ResponseVerifier], lines: Callable[..., list[bytes]]
) -> None:
    data = lines(PARTS)
    edited = [data[0].replace(b"Paris", b"Oslo"), *data[1:]]
    with pytest.raises(BindingError, match="altered in transit"):
        _run(verifier(), edited)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d[:-1],  # receipt stripped
        lambda d: [*d[:-1], d[-1].replace(b'"content":""', b'"content":"x"')],
        lambda d: [*d, b'{"model":"m","message":{"role":"assistant","content":"late"}}\n'],
        lambda d: [*d, d[-1]],
        lambda d: [d[0], b"data: {}\n", *d[1:]],
    ],
    ids=["stripped", "content-in-receipt-line", "after-receipt", "two-receipts", "not-json"],
)
def test_a_stream_no_gateway_sent_fails_closed(
    verifier: Callable[..., ResponseVerifier],
    lines: Callable[..., list[bytes]],
    tamper: Callable[[list[bytes]], list[bytes]],
) -> None:
    with pytest.raises((BindingError, ReceiptRequiredError)):
        _run(verifier(), tamper(lines(PARTS)))


def test_without_require_receipt_an_unsealed_stream_passes_unchanged(
    verifier: Callable[..., ResponseVerifier],
) -> None:
    bare = [orjson.dumps(p) + b"\n" for p in PARTS]
    assert _run(verifier(require_receipt=False), bare) == PARTS
