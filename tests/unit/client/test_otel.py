"""The verdict on the inference span (issue 16, OpenTelemetry), in-memory exporter."""

from __future__ import annotations

from collections.abc import Callable

import orjson
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmseal.client.verifier import ResponseVerifier
from llmseal.errors import BindingError
from llmseal.integrations.otel import span_annotator
from tests.unit.client.conftest import REQUEST_BYTES

CHAT = "/v1/chat/completions"


@pytest.fixture
def spans() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def _call(provider: TracerProvider, verifier: ResponseVerifier, body: bytes) -> None:
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("chat lab/model-1") as span:
        span.set_attributes({"gen_ai.operation.name": "chat",
                             "gen_ai.request.model": "lab/model-1"})  # fmt: skip
        verifier.check_body(CHAT, REQUEST_BYTES, body, 200)


def test_a_valid_answer_marks_the_span(
    spans: tuple[TracerProvider, InMemorySpanExporter],
    sealed: Callable[..., bytes],
    verifier: Callable[..., ResponseVerifier],
) -> None:
    provider, exporter = spans
    body = sealed()
    _call(provider, verifier(on_result=span_annotator()), body)
    (span,) = exporter.get_finished_spans()
    receipt = orjson.loads(body)["receipt"]
    assert span.attributes is not None
    assert span.attributes["gen_ai.operation.name"] == "chat"  # beside the GenAI attributes
    assert span.attributes["llmseal.receipt.id"] == receipt["receipt_id"]
    assert span.attributes["llmseal.receipt.key_id"] == receipt["key_id"]
    assert span.attributes["llmseal.verify.status"] == "valid"


def test_a_tampered_answer_marks_the_span_before_raising(
    spans: tuple[TracerProvider, InMemorySpanExporter],
    sealed: Callable[..., bytes],
    verifier: Callable[..., ResponseVerifier],
) -> None:
    provider, exporter = spans
    body = orjson.loads(sealed())
    body["choices"][0]["message"]["content"] = "edited by a relay"
    with pytest.raises(BindingError):
        _call(provider, verifier(on_result=span_annotator()), orjson.dumps(body))
    (span,) = exporter.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["llmseal.verify.status"] == "tampered"
    assert span.status.status_code.name == "ERROR"  # the exception is on the same span
