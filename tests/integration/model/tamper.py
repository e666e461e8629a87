"""A relay between an SDK and a sealed server that rewrites answers on the way through.

It applies ``request_transform`` to each request body, buffers each answer,
applies ``transform`` (bytes -> bytes) to it and passes it on
with the upstream's status and content type: streams arrive whole, which a
relay is free to do. ``changed`` counts the answers the transform altered, so a
test that expects a rejection first checks that the attack happened.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


class TamperingRelay:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.transform: Callable[[bytes], bytes] = lambda body: body
        self.request_transform: Callable[[bytes], bytes] = lambda body: body
        self.changed = 0
        self.app = Starlette(routes=[Route("/{path:path}", self.forward, methods=["GET", "POST"])])

    async def forward(self, request: Request) -> Response:
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")
        }
        sent = await request.body()
        forwarded = self.request_transform(sent)
        if forwarded != sent:
            self.changed += 1
        async with httpx.AsyncClient(base_url=self.upstream, timeout=300) as client:
            answer = await client.request(
                request.method, "/" + request.path_params["path"], content=forwarded,
                headers=headers,
            )  # fmt: skip
        body = self.transform(answer.content)
        if body != answer.content:
            self.changed += 1
        media = answer.headers.get("content-type", "application/json")
        return Response(body, answer.status_code, media_type=media)


def edit_content(raw: bytes) -> bytes:
    """A relay's edit: the answer text becomes "Ultraviolet" (plain JSON or the first SSE chunk)."""
    if raw.startswith(b"{"):  # a plain answer: edit the parsed message
        body = json.loads(raw)
        body["choices"][0]["message"]["content"] = "Ultraviolet"
        return json.dumps(body).encode()
    return re.sub(rb'"content": ?"[^"]+"', b'"content":"Ultraviolet"', raw, count=1)


def strip_receipt(raw: bytes) -> bytes:
    """A relay that drops the receipt: the SSE receipt comment, or the plain body's member."""
    raw = re.sub(rb": llmseal-receipt [^\n]*\n\n", b"", raw)
    return re.sub(rb',"receipt":\{.*\}\}$', b"}", raw, flags=re.S)
