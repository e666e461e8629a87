"""An OpenAI-style Starlette app wrapped in ReceiptMiddleware the way vLLM does it
(constructed from the environment), for ``python -m uvicorn`` in a subprocess."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from llmseal.gateway.middleware import ReceiptMiddleware
from tests.integration.gateway.fake_upstream import completion


async def chat(request: Request) -> Response:
    return JSONResponse(completion(await request.json()))


app = Starlette(
    routes=[Route("/v1/chat/completions", chat, methods=["POST"])],
    middleware=[Middleware(ReceiptMiddleware)],
)
