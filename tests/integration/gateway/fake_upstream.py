"""A misbehaving-on-demand OpenAI-compatible upstream (Starlette) for gateway tests.

The behaviour is picked per request with the ``x-fake`` header, which the
test gateways forward (``forward_headers``): ``status:503``, ``invalid-json``,
``html``, ``slow:2.5``, ``cut-stream``, ``array``, ``receipt`` (an answer that
already carries a receipt, as a chained gateway's would), ``hold`` (sets ``arrived``,
then answers only once the test sets ``release``: synchronisation by event, not by
sleeping), ``trickle`` (a stream that only ends when its reader goes away).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route


def completion(request: dict[str, Any]) -> dict[str, Any]:
    last = request.get("messages", [{}])[-1].get("content", "")
    return {
        "id": "chatcmpl-fake-1",
        "object": "chat.completion",
        "created": 1795312707,
        "model": "fake-model",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": f"echo: {last}"},
             "logprobs": None, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
    }  # fmt: skip


def chunk(text: str | None, finish: str | None = None) -> bytes:
    delta = {} if text is None else {"content": text}
    body = {
        "id": "chatcmpl-fake-2", "object": "chat.completion.chunk", "created": 1795312707,
        "model": "fake-model", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }  # fmt: skip
    # Python's default separators, like llama-cpp-python's stream (spacing differs from JCS).
    return b"data: " + json.dumps(body).encode() + b"\n\n"


RESPONSE_FIELDS = {
    "x-request-id": "req-1", "request-id": "req-2", "retry-after": "1", "retry-after-ms": "10",
    "openai-processing-ms": "3", "openai-version": "2020-10-01", "cache-control": "no-store",
    "x-ratelimit-remaining-requests": "99", "anthropic-ratelimit-tokens-limit": "1000",
    "set-cookie": "session=upstream", "x-receipt-id": "forged-by-upstream",
    "content-encoding": "identity", "keep-alive": "timeout=5", "x-upstream-secret": "s3cret",
    "x-powered-by": "llama", "www-authenticate": "Bearer", "link": "</x>; rel=preload",
}  # fmt: skip
"""Response fields of every kind: allowed, allowed by prefix, never, and unlisted."""


class FakeUpstream:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.headers: list[list[tuple[str, str]]] = []  # header fields as received, per request
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/v1/models", self.models, methods=["GET"]),
                Route("/v1/messages", self.messages, methods=["POST"]),
            ]
        )

    async def models(self, request: Request) -> Response:
        headers = RESPONSE_FIELDS if request.headers.get("x-fake") == "headers" else None
        return JSONResponse({"object": "list", "data": [{"id": "fake-model"}]}, headers=headers)

    async def chat(self, request: Request) -> Response:
        raw = await request.body()
        body = json.loads(raw)
        self.requests.append(body)
        self.headers.append(list(request.headers.items()))
        mode = request.headers.get("x-fake", "")
        if mode.startswith("slow:"):
            await asyncio.sleep(float(mode[5:]))
        if mode == "hold":
            self.arrived.set()
            # A hang guard only: the test releases the answer when it is ready for it.
            released = await asyncio.to_thread(self.release.wait, 60)
            assert released, "the test never released the held request"
        if mode.startswith("status:"):
            status = int(mode[7:])
            return JSONResponse({"error": {"message": "upstream says no", "code": status}}, status)
        if mode == "invalid-json":
            return Response(b'{"id": "truncated', media_type="application/json")
        if mode == "html":
            return PlainTextResponse("<html>bad gateway</html>", media_type="text/html")
        if mode == "array":
            return JSONResponse([1, 2, 3])
        if mode == "bigint":  # valid JSON, but RFC 8785 cannot hash it without rounding
            return Response(
                b'{"id": "x", "seed": 18446744073709551615}', media_type="application/json"
            )
        if mode == "hugeint" and not body.get("stream"):  # beyond 64 bits: orjson floats it
            return Response(
                b'{"id": "x", "seed": 18446744073709551617}', media_type="application/json"
            )
        if mode == "headers":  # every kind of response field, for the allow-list test
            if body.get("stream"):
                return StreamingResponse(
                    self._stream(mode), media_type="text/event-stream", headers=RESPONSE_FIELDS
                )
            return JSONResponse(completion(body), headers=RESPONSE_FIELDS)
        if mode == "receipt":
            return JSONResponse({**completion(body), "receipt": {"receipt_id": "parent"}})
        if body.get("stream"):
            return StreamingResponse(self._stream(mode), media_type="text/event-stream")
        return JSONResponse(completion(body))

    async def messages(self, request: Request) -> Response:
        """Anthropic Messages API: JSON, or named SSE events ending with message_stop."""
        body = json.loads(await request.body())
        self.requests.append(body)
        text = "echo: " + str(body["messages"][-1]["content"])
        message = {
            "id": "msg_fake_1", "type": "message", "role": "assistant", "model": "fake-claude",
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "stop_sequence": None, "usage": {"input_tokens": 5, "output_tokens": 3},
        }  # fmt: skip
        if not body.get("stream"):
            return JSONResponse(message)

        def event(name: str, data: dict[str, Any]) -> bytes:
            return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()

        async def events() -> AsyncIterator[bytes]:
            start = {**message, "content": [], "stop_reason": None}
            yield event("message_start", {"type": "message_start", "message": start})
            block = {"type": "text", "text": ""}
            yield event(
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": block},
            )
            yield event("ping", {"type": "ping"})
            for piece in (text[:5], text[5:]):
                delta = {"type": "text_delta", "text": piece}
                yield event(
                    "content_block_delta",
                    {"type": "content_block_delta", "index": 0, "delta": delta},
                )
            yield event("content_block_stop", {"type": "content_block_stop", "index": 0})
            stop = {"stop_reason": "end_turn", "stop_sequence": None}
            yield event(
                "message_delta",
                {"type": "message_delta", "delta": stop, "usage": {"output_tokens": 3}},
            )
            yield event("message_stop", {"type": "message_stop"})

        return StreamingResponse(events(), media_type="text/event-stream")

    async def _stream(self, mode: str) -> AsyncIterator[bytes]:
        yield b": keep-alive comment\n\n"
        if mode == "trickle":
            # One chunk, then comments until whoever reads stops (the gateway, when its
            # client left). It never finishes on its own within a test's lifetime, so a
            # gateway that sealed it anyway would have to wait out the whole minute.
            yield chunk("Hello")
            for _ in range(1200):
                yield b": still generating\n\n"
                await asyncio.sleep(0.05)
        for word in ("Hello", ", ", "world"):
            yield chunk(word)
            await asyncio.sleep(0.01)
        if mode == "cut-stream":
            raise RuntimeError("upstream dies mid-stream")
        if mode == "hugeint":
            yield b'data: {"id": "x", "choices": [], "seed": 18446744073709551617}\n\n'
        yield chunk(None, "stop")
        yield b"data: [DONE]\n\n"
