"""Issue 16, OpenTelemetry: the gateway's inference span names the receipt (in-memory exporter)."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from llmseal.core.framing import read_stream
from llmseal.gateway.app import Gateway
from llmseal.gateway.middleware import ReceiptMiddleware
from llmseal.gateway.observability import _otel
from llmseal.integrations.otel import trace_sealing
from tests.integration.gateway.fake_upstream import completion

REQUEST = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def traced() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


@pytest.fixture
def gateway(
    gateway_factory: Callable[..., tuple[Gateway, str]],
    traced: tuple[TracerProvider, InMemorySpanExporter],
) -> str:
    app, url = gateway_factory()
    assert app.sealer.spans is not None  # opentelemetry is installed: the hook is on
    app.sealer.spans = _otel.inference_spans(traced[0])  # this test's provider, not the global
    return url


def _only(exporter: InMemorySpanExporter) -> ReadableSpan:
    (span,) = exporter.get_finished_spans()
    assert span.attributes is not None
    return span


def test_a_plain_answer_gets_an_inference_span_naming_its_receipt(
    gateway: str, traced: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    answer = httpx.post(f"{gateway}/v1/chat/completions", json=REQUEST).json()
    span = _only(traced[1])
    assert span.name == "chat m" and span.kind is SpanKind.CLIENT
    assert dict(span.attributes or {}) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "m",
        "gen_ai.response.model": "fake-model",
        "gen_ai.usage.input_tokens": 5,
        "gen_ai.usage.output_tokens": 3,
        "llmseal.receipt.id": answer["receipt"]["receipt_id"],
        "llmseal.receipt.key_id": answer["receipt"]["key_id"],
        "llmseal.receipt.model_id": "fake-model",
    }
    assert span.start_time is not None and span.end_time is not None
    assert span.start_time < span.end_time


def test_a_stream_and_an_anthropic_answer(
    gateway: str, traced: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    with httpx.stream("POST", f"{gateway}/v1/chat/completions",
                      json={**REQUEST, "stream": True}) as response:  # fmt: skip
        saved = read_stream(b"".join(response.iter_bytes()))
    assert saved.receipt is not None
    span = _only(traced[1])
    assert span.attributes is not None
    assert span.attributes["llmseal.receipt.id"] == saved.receipt.receipt["receipt_id"]
    traced[1].clear()
    messages = {**REQUEST, "max_tokens": 8}
    answer = httpx.post(f"{gateway}/v1/messages", json=messages).json()
    span = _only(traced[1])
    assert span.attributes is not None
    assert span.attributes["llmseal.receipt.id"] == answer["receipt"]["receipt_id"]
    assert span.attributes["gen_ai.usage.input_tokens"] == 5  # Anthropic's name for it


def test_a_sealed_error_answer_carries_its_status(
    gateway: str, traced: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    answer = httpx.post(f"{gateway}/v1/chat/completions", json=REQUEST,
                        headers={"x-fake": "status:429"})  # fmt: skip
    assert answer.status_code == 429 and "receipt" in answer.json()
    span = _only(traced[1])
    assert span.attributes is not None and span.attributes["error.type"] == "429"


def test_an_unsealed_answer_gets_no_span(
    gateway: str, traced: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    answer = httpx.post(f"{gateway}/v1/chat/completions", json=REQUEST, headers={"x-fake": "html"})
    assert answer.status_code == 502
    assert traced[1].get_finished_spans() == ()


async def _chat(request: Request) -> Any:
    return JSONResponse(completion(await request.json()))


def test_the_middleware_span_is_a_child_of_the_current_span(
    tmp_path: Path, traced: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    app = Starlette(routes=[Route("/v1/chat/completions", _chat, methods=["POST"])])
    sealed = ReceiptMiddleware(app, data_dir=tmp_path / "signer", issuer="inproc.example")
    trace_sealing(sealed, traced[0])

    async def call() -> Any:
        transport = httpx.ASGITransport(app=sealed)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            return (await client.post("/v1/chat/completions", json=REQUEST)).json()

    with traced[0].get_tracer("test").start_as_current_span("POST /v1/chat/completions") as outer:
        answer = asyncio.run(call())
    sealed.close()
    inner, server = traced[1].get_finished_spans()
    assert server.name == "POST /v1/chat/completions"
    assert inner.parent is not None and inner.parent.span_id == outer.get_span_context().span_id
    assert inner.attributes is not None
    assert inner.attributes["llmseal.receipt.id"] == answer["receipt"]["receipt_id"]


def test_without_opentelemetry_there_is_no_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def absent(name: str, *args: Any) -> Any:
        return None if name == "opentelemetry" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", absent)
    assert _otel.inference_spans() is None
