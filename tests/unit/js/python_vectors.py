"""Receipts the Python code signs, as data for the JavaScript verifier's own tests.

``python -m tests.unit.js.python_vectors`` writes ``tests/vectors/llmseal/python-signed.json``
(``node --test`` in ``js/`` reads it); ``test_python_signed.py`` checks that every case
still gets its expected status from the Python verifier. Sealed bodies and streams go
through the gateway's own :class:`~llmseal.gateway.sealing.sealing.Sealer` (the code that
seals real traffic); odd claims go through :func:`~llmseal.core.sign.issue_receipt`.
Keys come from fixed seeds; ECDSA signatures are randomized, so regenerating changes
the P-256 signatures and nothing else of substance.
"""

from __future__ import annotations

import asyncio
import base64
import json
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from llmseal.core.canonical import canonicalize
from llmseal.core.hashing import hash_json
from llmseal.core.keys import P256_ORDER, EcdsaP256Signer, Ed25519Signer, Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.core.sign import issue_receipt
from llmseal.gateway.sealing.sealing import Sealer
from llmseal.store.sqlite import SqliteReceiptStore
from llmseal.store.writer import BatchWriter

__all__ = ["OUT", "T0", "build", "keyset", "signers"]

OUT = Path(__file__).parents[2] / "vectors" / "llmseal" / "python-signed.json"
T0 = datetime(2026, 4, 12, 14, 32, 0, tzinfo=UTC)
REVOKED_AT = datetime(2026, 1, 1, tzinfo=UTC)
HOSTILE = "<img src=x onerror=\"document.title='pwned'\"><script>alert(1)</script>"
TEXT = "Grüße aus Zürich — 世界 🚀 «quotes» & <b>tags</b>\u2028line\u0007bell"


def signers() -> dict[str, Signer]:
    return {
        "py-ed25519": Ed25519Signer(
            "py-ed25519", ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
        ),
        "py-p256": EcdsaP256Signer("py-p256", ec.derive_private_key(0x5EA1 << 200, ec.SECP256R1())),
        "py-2025": Ed25519Signer(
            "py-2025", ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
        ),
    }


def keyset() -> KeySet:
    s = signers()
    created = datetime(2025, 9, 1, tzinfo=UTC)
    return KeySet(
        [
            KeyEntry("py-ed25519", s["py-ed25519"].public_key(), "active", created),
            KeyEntry("py-p256", s["py-p256"].public_key(), "active", created),
            KeyEntry("py-2025", s["py-2025"].public_key(), "revoked", created, REVOKED_AT),
        ]
    )


def _request(stream: bool = False) -> dict[str, Any]:
    return {
        "model": "smollm2-135m-instruct",
        "messages": [{"role": "user", "content": TEXT}],
        "temperature": 0.7,
        "top_p": 0.95,
        "stream": stream,
    }


def _response() -> dict[str, Any]:
    return {
        "id": "chatcmpl-py-1",
        "object": "chat.completion",
        "created": 1795312707,
        "model": "smollm2-135m-instruct",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": f"echo: {TEXT} {HOSTILE}"},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 36, "completion_tokens": 11, "total_tokens": 47},
        "system_fingerprint": None,
        "scores": [1e-7, 1.5e300, -0.0, 0.1, 9007199254740991],
    }


def _chunks() -> list[dict[str, Any]]:
    base = {"id": "chatcmpl-py-2", "object": "chat.completion.chunk", "created": 1795312710}
    texts = [{"role": "assistant"}, {"content": "Grüße"}, {"content": " 🚀"}, {}]
    return [
        {**base, "model": "smollm2-135m-instruct", "choices": [
            {"index": 0, "delta": d, "logprobs": None, "finish_reason": "stop" if not d else None}
        ]}
        for d in texts
    ]  # fmt: skip


def _anthropic_events() -> list[dict[str, Any]]:
    message: dict[str, Any] = {
        "id": "msg_py",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": 9, "output_tokens": 1},
    }
    return [
        {"type": "message_start", "message": message},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": TEXT}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
         "usage": {"output_tokens": 7}},
        {"type": "message_stop"},
    ]  # fmt: skip


def _sse(chunks: list[dict[str, Any]], anthropic: bool = False) -> bytes:
    # Python's default separators, as llama-cpp-python streams (spacing differs from JCS).
    out = b""
    for chunk in chunks:
        if anthropic:
            out += f"event: {chunk['type']}\n".encode()
        out += b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\n\n"
    return out if anthropic else out + b": keep-alive comment\n\n" + b"data: [DONE]\n\n"


class _Gateway:
    """The gateway's sealing code over a throwaway SQLite store."""

    def __init__(self, signer: Signer, directory: Path, at: datetime) -> None:
        path = directory / f"{signer.key_id}-{at:%s}.db"
        store = SqliteReceiptStore(path, checkpoint_interval=None)
        self.sealer = Sealer(signer, BatchWriter(store), clock=lambda: at, issuer="api.example.com")

    async def body(self, request: dict[str, Any], response: dict[str, Any]) -> str:
        body = json.dumps(request).encode()
        info = self.sealer.inspect_request("/v1/chat/completions", body, time.perf_counter())
        raw = json.dumps(response, ensure_ascii=False, indent=1).encode()
        delivered, _ = await self.sealer.seal_body(info, 200, raw, 0.001)
        return delivered.decode()

    async def stream(self, endpoint: str, request: dict[str, Any], sse: bytes) -> str:
        info = self.sealer.inspect_request(
            endpoint, json.dumps(request).encode(), time.perf_counter()
        )
        seal = self.sealer.open_stream(info)
        out = b"".join(seal.feed(sse[i : i + 7]) for i in range(0, len(sse), 7))
        tail, _ = await seal.finish(200, 0.002)
        return (out + tail).decode()


def _case(
    name: str, input_: Any, expected: str, checked: list[str], **options: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "input": input_,
        "options": options,
        "expected": expected,
        "content_checked": checked,
    }


def _variant(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


async def _sealed_cases(directory: Path) -> list[dict[str, Any]]:
    s = signers()
    ed, p256 = _Gateway(s["py-ed25519"], directory, T0), _Gateway(s["py-p256"], directory, T0)
    request = json.dumps(_request(), ensure_ascii=False)
    body = await ed.body(_request(), _response())
    p256_body = await p256.body(_request(), _response())
    chat = await ed.stream("/v1/chat/completions", _request(True), _sse(_chunks()))
    anthropic = await p256.stream("/v1/messages", _request(True), _sse(_anthropic_events(), True))
    before = await _Gateway(s["py-2025"], directory, REVOKED_AT - timedelta(seconds=1)).body(
        _request(), _response()
    )
    after = await _Gateway(s["py-2025"], directory, REVOKED_AT).body(_request(), _response())
    return [
        _case("sealed response, Ed25519, non-ASCII and HTML in content", body, "valid", ["output"]),
        _case(
            "sealed response with its request", body, "valid", ["prompt", "output"], prompt=request
        ),
        _case(
            "sealed response, one character changed",
            _variant(body, "Zürich", "Zurich"),
            "tampered",
            ["output"],
        ),
        _case(
            "sealed response, answered to another request",
            body,
            "tampered",
            ["prompt", "output"],
            prompt=_variant(request, "0.7", "0.8"),
        ),
        _case(
            "sealed response, usage claim inflated",
            _variant(body, '"total_tokens":47}', '"total_tokens":4700}'),
            "tampered",
            ["output"],
        ),
        _case("sealed response, ECDSA P-256", p256_body, "valid", ["output"]),
        _case("OpenAI stream (SSE), Ed25519", chat, "valid", ["output"]),
        _case(
            "OpenAI stream, a chunk changed",
            _variant(chat, "Grüße", "Grusse"),
            "tampered",
            ["output"],
        ),
        _case("OpenAI stream, a chunk dropped", _drop_event(chat, 2), "tampered", ["output"]),
        _case("Anthropic stream (SSE), ECDSA P-256", anthropic, "valid", ["output"]),
        _case("receipt issued a second before its key's revocation", before, "valid", ["output"]),
        _case("receipt issued at its key's revocation", after, "revoked", ["output"]),
    ]


def _drop_event(sse: str, index: int) -> str:
    events = sse.split("\n\n")
    return "\n\n".join(events[:index] + events[index + 1 :])


def _claims_cases() -> list[dict[str, Any]]:
    s = signers()
    request, response = _request(), _response()
    claims = {
        "issuer": "api.example.com",
        "note": HOSTILE,
        "__proto__": {"polluted": True},
        "usage": {"prompt_tokens": 36, "completion_tokens": 11, "total_tokens": 47},
        "timing": {"upstream_us": 1234, "gateway_us": 56},
        "weights": [0.1, 1e21, 5e-324, -1.0],
        "ünïcödé-claim": "値",
    }

    def issue(key: str, **extra: Any) -> dict[str, Any]:
        receipt = issue_receipt(
            s[key], model_id="lab/model-ü", prompt_hash=hash_json(request),
            output_hash=hash_json(response), at=T0, claims=claims,
            weight_hash="ab" * 32, **extra,
        )  # fmt: skip
        return receipt.to_dict()

    ed = issue("py-ed25519")
    p256 = issue("py-p256")
    content = {"prompt": json.dumps(request, indent=2), "output": json.dumps(response)}
    url_safe = base64.urlsafe_b64encode(base64.b64decode(ed["signature"])).decode().rstrip("=")
    return [
        _case(
            "bare receipt, extension claims, weight_hash, a __proto__ claim",
            ed,
            "valid",
            ["prompt", "output"],
            **content,
        ),
        _case("bare receipt, ECDSA P-256", p256, "valid", ["prompt", "output"], **content),
        _case(
            "ECDSA P-256, the high-s twin of the signature",
            {**p256, "signature": _high_s(p256["signature"])},
            "tampered",
            [],
        ),
        _case(
            "signature in the v0.1 spelling (unpadded base64url)",
            {**ed, "signature": url_safe},
            "valid",
            [],
        ),
        _case(
            "signature with a trailing newline",
            {**ed, "signature": ed["signature"] + "\n"},
            "tampered",
            [],
        ),
        _case("claim removed", {k: v for k, v in ed.items() if k != "note"}, "tampered", []),
        _case("unknown key", {**ed, "key_id": "py-unlisted"}, "unknown_key", []),
        _case(
            "not a receipt: nonce of 15 bytes", {**ed, "nonce": "AAAAAAAAAAAAAAAAAAAA"}, "error", []
        ),
        _case(
            "not a receipt: issued_at with a fraction",
            {**ed, "issued_at": "2026-04-12T14:32:00.5Z"},
            "error",
            [],
        ),
        _case(
            "content with an integer beyond 2^53", ed, "error", [], output='{"n": 9007199254740993}'
        ),
    ]


def _high_s(signature: str) -> str:
    raw = base64.b64decode(signature)
    s = int.from_bytes(raw[32:], "big")
    return base64.b64encode(raw[:32] + (P256_ORDER - s).to_bytes(32, "big")).decode()


def build() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        sealed = asyncio.run(_sealed_cases(Path(tmp)))
    return {
        "note": "Signed by llmseal's Python code (tests/unit/js/python_vectors.py); "
        "verify each input against keyset with the options; the status must equal expected.",
        "keyset": keyset().to_dict(),
        "cases": sealed + _claims_cases(),
    }


def main(write: Callable[[str], object] = OUT.write_text) -> None:
    data = build()
    canonicalize(data["keyset"])  # the key set itself is plain JSON
    write(json.dumps(data, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()
