"""A deterministic upstream serving several models behind one URL (vLLM/Ollama/LiteLLM-like).

Each answer names the model it came from: the requested one, unless the request
carries ``x-serve-as: NAME`` (the upstream answers as another model than asked,
as a router or alias would) or ``x-serve-as: FIRST,LATER`` (a stream whose later
events name another model). Chat completions (JSON and SSE, ``model`` in every
chunk), Anthropic messages (SSE: the model only in ``message_start``) and Ollama
``/api/chat`` (NDJSON, ``model`` in every line).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

__all__ = ["TwoModels"]


class TwoModels:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/v1/messages", self.messages, methods=["POST"]),
                Route("/api/chat", self.ollama, methods=["POST"]),
            ]
        )

    async def _read(self, request: Request) -> tuple[dict[str, Any], str, str]:
        body = json.loads(await request.body())
        self.requests.append(body)
        first, _, later = request.headers.get("x-serve-as", body.get("model", "")).partition(",")
        return body, first, later or first

    async def chat(self, request: Request) -> Response:
        body, served, later = await self._read(request)
        text = f"{served} says hi"
        if not body.get("stream"):
            return JSONResponse({
                "id": "chatcmpl-2m", "object": "chat.completion", "created": 1795312707,
                "model": served, "choices": [{"index": 0, "finish_reason": "stop",
                "message": {"role": "assistant", "content": text}}],
            })  # fmt: skip

        async def events() -> AsyncIterator[bytes]:
            for i, (model, piece) in enumerate(((served, text[:4]), (later, text[4:]))):
                chunk = {
                    "id": "chatcmpl-2m", "object": "chat.completion.chunk", "model": model,
                    "choices": [{"index": 0, "delta": {"content": piece},
                                 "finish_reason": "stop" if i else None}],
                }  # fmt: skip
                yield b"data: " + json.dumps(chunk).encode() + b"\n\n"
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    async def messages(self, request: Request) -> Response:
        body, served, _ = await self._read(request)
        message = {
            "id": "msg_2m", "type": "message", "role": "assistant", "model": served,
            "content": [{"type": "text", "text": f"{served} says hi"}],
            "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 3, "output_tokens": 3},
        }  # fmt: skip
        if not body.get("stream"):
            return JSONResponse(message)

        def event(name: str, data: dict[str, Any]) -> bytes:
            return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n".encode()

        async def events() -> AsyncIterator[bytes]:
            yield event("message_start", {"message": {**message, "content": []}})
            delta = {"type": "text_delta", "text": f"{served} says hi"}
            yield event("content_block_delta", {"index": 0, "delta": delta})
            yield event("message_delta", {"delta": {"stop_reason": "end_turn"}})
            yield event("message_stop", {})

        return StreamingResponse(events(), media_type="text/event-stream")

    async def ollama(self, request: Request) -> Response:
        _, served, later = await self._read(request)

        async def lines() -> AsyncIterator[bytes]:
            yield json.dumps(
                {"model": served, "message": {"content": "hi"}, "done": False}
            ).encode()
            yield b"\n" + json.dumps({"model": later, "done": True, "eval_count": 1}).encode()
            yield b"\n"

        return StreamingResponse(lines(), media_type="application/x-ndjson")
