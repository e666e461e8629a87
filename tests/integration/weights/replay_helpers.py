"""Sealed gateways in front of real models, all claiming the SmolLM2 commitment."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from llmseal.audit.replay.verify import SignedAnswer
from llmseal.core.hashing import strip_gateway_members
from llmseal.core.receipt import Receipt
from llmseal.devserver import ModelServer
from llmseal.gateway.app import Gateway
from llmseal.gateway.config.config import GatewayConfig
from llmseal.gateway.config.datadir import prepare_data_dir
from llmseal.gateway.weights.binding import prepare_weights
from tests.helpers import ThreadedUvicorn

# Traffic, not the enrollment probes: what callers ask day to day.
QUESTIONS = (
    "What is the largest ocean on Earth?",
    "Give me two words that rhyme with cat.",
    "How do I boil an egg?",
    "Name a planet with rings.",
    "What is the opposite of cold?",
    "Write one sentence about autumn.",
    "What colour do you get by mixing blue and yellow?",
    "Who wrote Romeo and Juliet?",
    "What is 7 plus 8?",
    "Name a fruit that is yellow.",
    "What animal says moo?",
    "Suggest a title for a short story about a robot.",
    "What is the capital of Japan?",
    "How many days are in a week?",
    "Name a musical instrument with strings.",
    "What do bees make?",
    "Give one reason to drink water.",
    "What is the freezing point of water in Fahrenheit?",
    "Name a country in South America.",
    "What shape has three sides?",
    "Which season comes after winter?",
    "What is a baby cat called?",
    "Name something you can find at a beach.",
    "What gas do plants absorb from the air?",
)


def question(i: int, *, sampled: bool, max_tokens: int = 24) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "smollm2-135m-instruct",
        "messages": [{"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]}],
        "max_tokens": max_tokens,
    }
    if sampled:
        body.update(temperature=0.8, top_k=40, top_p=0.95, min_p=0.05, repeat_penalty=1.0,
                    seed=1000 + i)  # fmt: skip
    else:
        body["temperature"] = 0
    return body


def ask(url: str, body: dict[str, Any]) -> SignedAnswer:
    response = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=300)
    response.raise_for_status()
    parsed = response.json()
    return SignedAnswer(Receipt.from_dict(parsed["receipt"]), body, strip_gateway_members(parsed))


@contextlib.contextmanager
def gateway_over(upstream: str, tmp: Path, manifest: Path, committed: Path) -> Iterator[str]:
    """``serve --weights MANIFEST`` in front of ``upstream``."""
    config = prepare_data_dir(
        GatewayConfig(upstream=upstream, data_dir=str(tmp / "gw"), weights=str(manifest),
                      weights_file=str(committed)),
        at=datetime.now(UTC),
    )  # fmt: skip
    with ThreadedUvicorn(Gateway(prepare_weights(config))) as gateway:
        yield gateway.url


@contextlib.contextmanager
def sealed(
    tmp: Path, manifest: Path, committed: Path, model: Path, chat_format: str | None = None
) -> Iterator[str]:
    """A gateway with ``--weights`` over ``model`` (served under an alias: the file is hidden)."""
    server = ModelServer(model=model, chat_format=chat_format, log=tmp / "server.log")
    with server, gateway_over(server.url, tmp, manifest, committed) as url:
        yield url


@contextlib.contextmanager
def mixing_router(honest: str, substitute: str, share: float, seed: int) -> Iterator[str]:
    """An upstream that sends ``share`` of the chat requests to ``substitute``."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    rng = random.Random(seed)
    client = httpx.AsyncClient(timeout=600)

    async def chat(request: Request) -> Response:
        target = substitute if rng.random() < share else honest
        answer = await client.post(f"{target}/v1/chat/completions", content=await request.body(),
                                   headers={"content-type": "application/json"})  # fmt: skip
        return Response(answer.content, answer.status_code, media_type="application/json")

    async def models(request: Request) -> Response:
        answer = await client.get(f"{honest}/v1/models")
        return Response(answer.content, answer.status_code, media_type="application/json")

    app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]),
                            Route("/v1/models", models)])  # fmt: skip
    with ThreadedUvicorn(app) as server:
        yield server.url
