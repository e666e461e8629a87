"""The audit test bed: our gateway claims smollm2-135m-instruct in front of real models.

Model servers and gateways are shared by the whole session (each starts once); the
reference is enrolled once from the honest gateway and the SmolLM2 weights (four
local engine settings) and cached on disk beside the requantized models, keyed by
the probe-bank version, so a rerun skips the minutes enrollment takes here.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmseal.audit.enrollment.enroll import EndpointSource, enroll, weight_sources
from llmseal.audit.enrollment.reference import Reference
from llmseal.audit.family import EnrollOptions, Source, registry
from llmseal.devmodels import cache_dir, gemma_path, requantized, smollm2_path
from llmseal.devserver import MODEL_ALIAS, ModelServer
from llmseal.errors import Error
from llmseal.gateway.app import Gateway
from llmseal.gateway.config.config import GatewayConfig
from llmseal.gateway.config.datadir import prepare_data_dir
from tests.helpers import ThreadedUvicorn

# llama.cpp's OpenMP workers spin while they wait; on an oversubscribed machine that made a
# 2-thread request ~6x slower than a 1-thread one. Passive waiting (set before libgomp loads,
# and inherited by the model servers) removes that.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

CLAIM = MODEL_ALIAS
FAMILIES = ("kbf", "logprob", "stack")
OPTIONS = EnrollOptions(model_id=CLAIM, seed=11, probes=12, repeats=2)
BANK = "v3"  # bump when the probe banks or the families' enrollment change
STEALTH = EnrollOptions(model_id=CLAIM, seed=13, probes=12, repeats=2, style="stealth")
STEALTH_SETTINGS = ({"n_batch": 512, "n_threads": 1}, {"n_batch": 8, "n_threads": 1})
HIDDEN = "You are Mira, a cheerful assistant for a travel company. Keep answers short."


@contextlib.contextmanager
def gateway(upstream: str, tmp: Path) -> Iterator[str]:
    """A sealing gateway claiming ``CLAIM`` in front of ``upstream``; yields its base URL."""
    config = prepare_data_dir(
        GatewayConfig(upstream=upstream, data_dir=str(tmp), model_id=CLAIM), at=datetime.now(UTC)
    )
    with ThreadedUvicorn(Gateway(config)) as server:
        yield server.url


@contextlib.contextmanager
def hidden_prompt(upstream: str) -> Iterator[str]:
    """An upstream that puts a hidden system prompt in front of every chat request."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    client = httpx.AsyncClient(timeout=600)

    async def chat(request: Request) -> Response:
        body: dict[str, Any] = await request.json()
        body["messages"] = [{"role": "system", "content": HIDDEN}, *body.get("messages", [])]
        answer = await client.post(f"{upstream}/v1/chat/completions", json=body)
        return Response(answer.content, answer.status_code, media_type="application/json")

    async def models(request: Request) -> Response:
        answer = await client.get(f"{upstream}/v1/models")
        return Response(answer.content, answer.status_code, media_type="application/json")

    app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]),
                            Route("/v1/models", models)])  # fmt: skip
    with ThreadedUvicorn(app) as server:
        yield server.url


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One llama.cpp server per model, every one serving under the claimed alias."""
    logs = tmp_path_factory.mktemp("audit-servers")
    models: dict[str, tuple[Path, str | None]] = {
        "honest": (smollm2_path(), None), "q4_0": (requantized("Q4_0"), None),
        "q2_k": (requantized("Q2_K"), None), "gemma": (gemma_path(), "gemma"),
    }  # fmt: skip
    with contextlib.ExitStack() as stack:
        urls = {}
        for name, (path, fmt) in models.items():
            server = ModelServer(model=path, chat_format=fmt, threads=1, log=logs / f"{name}.log")
            urls[name] = stack.enter_context(server).url
        yield urls


@pytest.fixture(scope="session")
def honest_gateway(
    servers: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with gateway(servers["honest"], tmp_path_factory.mktemp("gw-honest")) as url:
        yield url


def _cache_key(options: EnrollOptions) -> str:
    weights = hashlib.sha256(smollm2_path().read_bytes()).hexdigest()[:16]
    return (f"audit-ref-{BANK}-{options.style}-{options.seed}-{options.probes}-"
            f"{options.repeats}-{weights}.json")  # fmt: skip


def _enrolled(options: EnrollOptions, make: Callable[[], list[Source]]) -> Reference:
    path = cache_dir() / _cache_key(options)
    if path.is_file():
        with contextlib.suppress(OSError, Error):
            return Reference.from_json(path.read_bytes())
    sources = make()
    try:
        ref = enroll(sources, registry().resolve(FAMILIES), options, at=datetime.now(UTC))
    finally:
        for source in sources:
            source.close()  # type: ignore[attr-defined]
    path.write_bytes(ref.to_json())
    return ref


@pytest.fixture(scope="session")
def reference(honest_gateway: str) -> Reference:
    """Enrolled from the honest gateway (two passes) and the weights under the five engine
    settings of ``VARIATIONS`` (n_batch 512/8/1, threads 2/1, prompt cache on, a second
    process), each in a process of its own."""
    return _enrolled(OPTIONS, lambda: [
        EndpointSource(f"{honest_gateway}/v1"),
        *weight_sources(smollm2_path(), processes=True),
    ])  # fmt: skip


@pytest.fixture(scope="session")
def stealth_reference(honest_gateway: str) -> Reference:
    """A stealth bank (ordinary phrasing and settings), from the honest gateway (two passes)
    and two in-process engine settings: enough variations for an envelope, kept cheap."""
    return _enrolled(STEALTH, lambda: [
        EndpointSource(f"{honest_gateway}/v1"),
        *weight_sources(smollm2_path(), STEALTH_SETTINGS),
    ])  # fmt: skip
