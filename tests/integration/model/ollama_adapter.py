"""Ollama's native API (``/api/chat``, ``/api/generate``) in front of the real SmolLM2 server.

Ollama itself is not packaged for Debian or PyPI, so this adapter speaks its
wire format — NDJSON streams, ``"done": true`` on the last line, streaming
unless ``"stream": false`` — around llama-cpp-python's chat completions. Every
word is the model's. SmolLM2-135M has no tool calling: when a chat request
offers ``tools``, the adapter answers with a call of the first tool whose
``text`` argument is the model's answer, so tool calls travel in real answers.
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

CREATED_AT = "2026-12-02T06:00:00.000000Z"


def _flatten(message: dict[str, Any]) -> dict[str, str]:
    """A chat message llama-cpp-python accepts (tool calls and results as text)."""
    content = message.get("content") or ""
    if message.get("tool_calls"):
        content += " " + json.dumps(message["tool_calls"])
    role = message.get("role", "user")
    return {"role": "user" if role == "tool" else role, "content": content}


class OllamaAdapter:
    def __init__(self, model_url: str) -> None:
        self.model_url = model_url
        self.app = Starlette(routes=[
            Route("/api/chat", self.chat, methods=["POST"]),
            Route("/api/generate", self.generate, methods=["POST"]),
        ])  # fmt: skip

    async def chat(self, request: Request) -> Response:
        body = json.loads(await request.body())
        messages = [_flatten(m) for m in body.get("messages", [])]
        return await self._answer(body, messages, chat=True)

    async def generate(self, request: Request) -> Response:
        body = json.loads(await request.body())
        return await self._answer(body, [{"role": "user", "content": body["prompt"]}], chat=False)

    async def _answer(
        self, body: dict[str, Any], messages: list[dict[str, str]], *, chat: bool
    ) -> Response:
        options = body.get("options") or {}
        request = {"model": MODEL_ALIAS, "messages": messages, "stream": True,
                   "temperature": options.get("temperature", 0),
                   "max_tokens": options.get("num_predict", 16),
                   "stream_options": {"include_usage": True}}  # fmt: skip
        tool = (body.get("tools") or [{}])[0].get("function", {}).get("name") if chat else None
        lines = self._lines(body.get("model", MODEL_ALIAS), request, chat=chat, tool=tool)
        if body.get("stream", True) is not False:
            return StreamingResponse(lines, media_type="application/x-ndjson")
        parts = [json.loads(line) async for line in lines]
        final = parts[-1]
        text = "".join(p["message"]["content"] if chat else p["response"] for p in parts)
        if chat:
            final["message"] = {**final["message"], "content": text}
            calls = [c for p in parts for c in p["message"].get("tool_calls", [])]
            if calls:
                final["message"]["tool_calls"] = calls
        else:
            final["response"] = text
        return JSONResponse(final)

    async def _lines(
        self, model: str, request: dict[str, Any], *, chat: bool, tool: str | None
    ) -> AsyncIterator[bytes]:
        def line(text: str, **members: Any) -> bytes:
            part: dict[str, Any] = {"model": model, "created_at": CREATED_AT}
            if chat:
                part["message"] = {"role": "assistant", "content": text}
            else:
                part["response"] = text
            return json.dumps({**part, **members}).encode() + b"\n"

        usage: dict[str, Any] = {}
        answer = ""
        async with (
            httpx.AsyncClient(timeout=300) as client,
            client.stream("POST", f"{self.model_url}/v1/chat/completions", json=request) as r,
        ):
            async for raw in r.aiter_lines():
                if not raw.startswith("data: ") or raw == "data: [DONE]":
                    continue
                chunk = json.loads(raw[6:])
                usage = chunk.get("usage") or usage
                for choice in chunk.get("choices", []):
                    text = choice.get("delta", {}).get("content")
                    if text:
                        answer += text
                        if tool is None:
                            yield line(text, done=False)
        if tool is not None:
            call = {"function": {"name": tool, "arguments": {"text": answer.strip()}}}
            part = json.loads(line(""))
            part["message"]["tool_calls"] = [call]
            yield json.dumps({**part, "done": False}).encode() + b"\n"
        yield line("", done=True, done_reason="stop", total_duration=0, load_duration=0,
                   prompt_eval_count=usage.get("prompt_tokens", 0), prompt_eval_duration=0,
                   eval_count=usage.get("completion_tokens", 0), eval_duration=0)  # fmt: skip
