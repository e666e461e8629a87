"""A malicious relay between the SDK and the gateway, doing what shadow APIs do.

Modes (design.md threat list; llm_sign 0.2.0's measured gaps):
``edit`` the answer, ``swap-model`` in the request, ``strip`` the receipt,
``replay`` an earlier signed answer for a new question, ``resign`` a fabricated
answer with the relay's own key (under its own key id, or ``resign-as-gateway``
under the gateway's), or ``honest``. Around the stream receipt
(docs/spec/stream.md): ``as-legacy-chunk`` turns the receipt comment into a
round-1 receipt chunk that carries content, ``beside-receipt`` adds a content
chunk holding a copy of the receipt, ``after-receipt`` adds content after it.

Every substitution is counted in ``rewrites[mode]``: a test that expects an attack
to be caught first checks the attack happened (a relay that silently forwarded the
honest bytes would otherwise make a rejection test pass for the wrong reason).
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from llmseal.core.hashing import hash_json, hash_response
from llmseal.core.keys import Ed25519Signer
from llmseal.core.sign import issue_receipt


class _Named:
    """The relay's key, signing under another key id when given one."""

    def __init__(self, key: Ed25519Signer, key_id: str | None) -> None:
        self.key_id = key_id or key.key_id
        self.algorithm = key.algorithm
        self.public_key = key.public_key
        self.sign = key.sign


class Relay:
    def __init__(self, gateway: str) -> None:
        self.gateway = gateway
        self.mode = "honest"
        self.saved: bytes | None = None
        self.rewrites: Counter[str] = Counter()
        self.own_key = Ed25519Signer.generate("relay-key-2026")
        self.app = Starlette(routes=[Route("/{path:path}", self.forward, methods=["GET", "POST"])])

    async def forward(self, request: Request) -> Response:
        body = await request.body()
        if self.mode == "swap-model" and body:
            data = json.loads(body)
            data["model"] = "cheap-model-7b"  # charge for the frontier, serve the cheap one
            body = json.dumps(data).encode()
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")
        }
        client = httpx.AsyncClient(base_url=self.gateway, timeout=30)
        upstream = await client.send(
            client.build_request(
                request.method, "/" + request.path_params["path"], content=body, headers=headers
            ),
            stream=True,
        )
        if upstream.headers.get("content-type", "").startswith("text/event-stream"):
            if self.mode == "gzip-smuggle":
                real = await upstream.aread()
                await client.aclose()
                evil = b'data: {"choices":[{"index":0,"delta":{"content":"FORGED BY RELAY"}}]}\n\n'
                # httpx stops after the first gzip member; a verifier reading raw bytes
                # would skip the binary "event" and check the genuine stream behind it.
                body = gzip.compress(evil) + b"\n\n" + real
                self.rewrites[self.mode] += 1
                return Response(
                    body, media_type="text/event-stream", headers={"content-encoding": "gzip"}
                )
            return StreamingResponse(self._stream(upstream, client), media_type="text/event-stream")
        content = await upstream.aread()
        await client.aclose()
        rewritten = self._rewrite(content, json.loads(body) if body else {})
        status = upstream.status_code
        if self.mode == "status-flip" and status != 200:
            status = 200
            self.rewrites[self.mode] += 1
        if self.mode == "swap-model" and body:
            self.rewrites[self.mode] += 1
        return Response(rewritten, status, media_type="application/json")

    def _rewrite(self, content: bytes, request: dict[str, Any]) -> bytes:
        if self.mode in ("honest", "swap-model", "status-flip"):
            return content
        data = json.loads(content)
        if self.mode == "edit":
            data["choices"][0]["message"]["content"] = "The relay decided the answer."
        elif self.mode == "strip":
            if data.pop("receipt", None) is None:
                return content
        elif self.mode == "replay":
            if self.saved is None:
                self.saved = content
                return content
            content = self.saved
            self.rewrites[self.mode] += 1
            return content
        elif self.mode in ("resign", "resign-as-gateway"):
            genuine = data.pop("receipt")
            data["choices"][0]["message"]["content"] = "Fabricated, but signed!"
            key_id = genuine["key_id"] if self.mode == "resign-as-gateway" else None
            data["receipt"] = issue_receipt(
                _Named(self.own_key, key_id), model_id=data["model"],
                prompt_hash=hash_json(request), output_hash=hash_response(data),
                at=datetime.now(UTC), claims={"issuer": "api.test.example"},
            ).to_dict()  # fmt: skip
        self.rewrites[self.mode] += 1
        return json.dumps(data).encode()

    async def _stream(
        self, upstream: httpx.Response, client: httpx.AsyncClient
    ) -> AsyncIterator[bytes]:
        buffer = b""
        async for data in upstream.aiter_bytes():
            buffer += data
            while b"\n\n" in buffer:
                event, buffer = buffer.split(b"\n\n", 1)
                if self.mode == "strip" and b'"receipt"' in event:
                    self.rewrites[self.mode] += 1
                    continue
                original = event
                if self.mode == "edit":
                    event = event.replace(b'"content": "world"', b'"content": "relay"')
                event = self._around_receipt(event)
                if self.mode == "relabel" and b'"text": "echo:' in event:
                    # Anthropic SDKs skip ping events: hide this (hashed) chunk from them.
                    event = event.replace(b"event: content_block_delta", b"event: ping")
                if event != original:
                    self.rewrites[self.mode] += 1
                yield event + b"\n\n"
        await client.aclose()

    def _around_receipt(self, event: bytes) -> bytes:
        comment = b": llmseal-receipt 2 "
        if not event.startswith(comment):
            return event
        body = json.loads(event[len(comment) :])
        content = {"index": 0, "delta": {"content": " INJECTED"}, "finish_reason": None}
        smuggled = b"data: " + json.dumps({"choices": [content], **body}).encode()
        if self.mode == "as-legacy-chunk":
            return smuggled
        if self.mode == "beside-receipt":
            return smuggled + b"\n\n" + event
        if self.mode == "after-receipt":
            return event + b"\n\n" + smuggled
        return event
