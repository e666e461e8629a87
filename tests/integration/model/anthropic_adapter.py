"""The Anthropic Messages protocol in front of the real SmolLM2 server.

llama-cpp-python serves only the OpenAI API; this thin adapter turns a Messages
request into a chat completion and the completion's stream into Anthropic's
named events (message_start ... message_stop), so the ``anthropic`` SDK can talk
to the real model through the gateway. Every word of the answer is the model's.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from llmseal.devserver import MODEL_ALIAS


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


class AnthropicAdapter:
    def __init__(self, model_url: str) -> None:
        self.model_url = model_url
        self.app = Starlette(routes=[Route("/v1/messages", self.messages, methods=["POST"])])

    async def messages(self, request: Request) -> Response:
        body = json.loads(await request.body())
        chat = {
            "model": MODEL_ALIAS, "messages": body["messages"], "max_tokens": body["max_tokens"],
            "temperature": 0, "stream": True,
        }  # fmt: skip
        if not body.get("stream"):
            return JSONResponse({"error": "this adapter streams only"}, 400)
        return StreamingResponse(self._events(chat, body["model"]), media_type="text/event-stream")

    async def _events(self, chat: dict[str, Any], model: str) -> AsyncIterator[bytes]:
        message: dict[str, Any] = {
            "id": "msg_smollm2", "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }  # fmt: skip
        yield _event("message_start", {"type": "message_start", "message": message})
        block = {"type": "content_block_start", "index": 0,
                 "content_block": {"type": "text", "text": ""}}  # fmt: skip
        yield _event("content_block_start", block)
        pieces = 0
        async with (
            httpx.AsyncClient(timeout=300) as client,
            client.stream("POST", f"{self.model_url}/v1/chat/completions", json=chat) as r,
        ):
            async for line in r.aiter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                for choice in json.loads(line[6:]).get("choices", []):
                    text = choice.get("delta", {}).get("content")
                    if text:
                        pieces += 1
                        delta = {"type": "text_delta", "text": text}
                        yield _event(
                            "content_block_delta",
                            {"type": "content_block_delta", "index": 0, "delta": delta},
                        )
        yield _event("content_block_stop", {"type": "content_block_stop", "index": 0})
        delta = {"stop_reason": "end_turn", "stop_sequence": None}
        usage = {"output_tokens": pieces}
        yield _event("message_delta", {"type": "message_delta", "delta": delta, "usage": usage})
        yield _event("message_stop", {"type": "message_stop"})
