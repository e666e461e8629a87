"""The OpenAI Responses API in front of the real SmolLM2 server.

llama-cpp-python's server (0.3.36) has no ``/v1/responses``; this thin adapter
turns a Responses request into a chat completion and the completion's stream
into the Responses API's typed events (``response.created`` ...
``response.completed``), so ``client.responses.create`` of the official ``openai``
SDK can talk to the real model. Every word of the answer is the model's; the
ids are counters, so two identical runs produce identical events.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from llmseal.devserver import MODEL_ALIAS

CREATED_AT = 1795312707


def _messages(body: dict[str, Any]) -> list[dict[str, str]]:
    messages = []
    if isinstance(body.get("instructions"), str):
        messages.append({"role": "system", "content": body["instructions"]})
    given = body.get("input", "")
    if isinstance(given, str):
        return [*messages, {"role": "user", "content": given}]
    for item in given:
        content = item.get("content", "")
        if isinstance(content, list):  # [{"type": "input_text", "text": ...}]
            content = "".join(part.get("text", "") for part in content)
        messages.append({"role": item.get("role", "user"), "content": content})
    return messages


class ResponsesAdapter:
    def __init__(self, model_url: str) -> None:
        self.model_url = model_url
        self._ids = itertools.count(1)
        self.app = Starlette(routes=[Route("/v1/responses", self.responses, methods=["POST"])])

    def _response(self, body: dict[str, Any], number: int, status: str) -> dict[str, Any]:
        return {
            "id": f"resp_{number:04d}", "object": "response", "created_at": CREATED_AT,
            "status": status, "model": body.get("model", MODEL_ALIAS), "output": [],
            "instructions": body.get("instructions"), "error": None, "incomplete_details": None,
            "max_output_tokens": body.get("max_output_tokens"), "parallel_tool_calls": True,
            "previous_response_id": None, "temperature": body.get("temperature", 1.0),
            "tool_choice": "auto", "tools": [], "top_p": 1.0, "truncation": "disabled",
            "metadata": {}, "text": {"format": {"type": "text"}}, "usage": None,
        }  # fmt: skip

    @staticmethod
    def _message(number: int, text: str, status: str) -> dict[str, Any]:
        content = [{"type": "output_text", "text": text, "annotations": []}] if text else []
        return {"type": "message", "id": f"msg_{number:04d}", "status": status,
                "role": "assistant", "content": content}  # fmt: skip

    def _chat(self, body: dict[str, Any], *, stream: bool) -> dict[str, Any]:
        chat = {"model": MODEL_ALIAS, "messages": _messages(body), "stream": stream,
                "temperature": body.get("temperature", 0)}  # fmt: skip
        if body.get("max_output_tokens") is not None:
            chat["max_tokens"] = body["max_output_tokens"]
        if stream:
            chat["stream_options"] = {"include_usage": True}
        return chat

    async def responses(self, request: Request) -> Response:
        body = json.loads(await request.body())
        number = next(self._ids)
        if body.get("stream"):
            events = self._events(body, number)
            return StreamingResponse(events, media_type="text/event-stream")
        async with httpx.AsyncClient(timeout=300) as client:
            answer = (
                await client.post(
                    f"{self.model_url}/v1/chat/completions", json=self._chat(body, stream=False)
                )
            ).json()
        text = answer["choices"][0]["message"]["content"] or ""
        usage = answer.get("usage", {})
        done = self._response(body, number, "completed")
        done["output"] = [self._message(number, text, "completed")]
        done["usage"] = _usage(usage)
        return JSONResponse(done)

    async def _events(self, body: dict[str, Any], number: int) -> AsyncIterator[bytes]:
        sequence = itertools.count()
        item_id = f"msg_{number:04d}"

        def event(kind: str, **members: Any) -> bytes:
            data = {"type": kind, "sequence_number": next(sequence), **members}
            return f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode()

        yield event("response.created", response=self._response(body, number, "in_progress"))
        yield event("response.in_progress", response=self._response(body, number, "in_progress"))
        yield event("response.output_item.added", output_index=0,
                    item=self._message(number, "", "in_progress"))  # fmt: skip
        part = {"type": "output_text", "text": "", "annotations": []}
        where = {"item_id": item_id, "output_index": 0, "content_index": 0}
        yield event("response.content_part.added", **where, part=part)
        text, usage = "", dict[str, Any]()
        async with (
            httpx.AsyncClient(timeout=300) as client,
            client.stream(
                "POST", f"{self.model_url}/v1/chat/completions", json=self._chat(body, stream=True)
            ) as r,
        ):
            async for line in r.aiter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line[6:])
                usage = chunk.get("usage") or usage
                for choice in chunk.get("choices", []):
                    delta = choice.get("delta", {}).get("content")
                    if delta:
                        text += delta
                        yield event("response.output_text.delta", **where, delta=delta,
                                    logprobs=[])  # fmt: skip
        yield event("response.output_text.done", **where, text=text, logprobs=[])
        yield event("response.content_part.done", **where, part={**part, "text": text})
        item = self._message(number, text, "completed")
        yield event("response.output_item.done", output_index=0, item=item)
        done = self._response(body, number, "completed")
        done["output"], done["usage"] = [item], _usage(usage)
        yield event("response.completed", response=done)


def _usage(chat: dict[str, Any]) -> dict[str, Any]:
    return {
        "input_tokens": chat.get("prompt_tokens", 0),
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": chat.get("completion_tokens", 0),
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": chat.get("total_tokens", 0),
    }
