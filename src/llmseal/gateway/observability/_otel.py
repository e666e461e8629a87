"""OpenTelemetry on the gateway: one GenAI inference span per sealed answer.

When ``opentelemetry-api`` is installed (the ``otel`` extra), every answer the
gateway or the middleware seals gets a CLIENT span named ``{operation} {model}``
(the GenAI semantic conventions' inference span, "Development" status) with
``gen_ai.operation.name``, ``gen_ai.request.model``, ``gen_ai.response.model``
and ``gen_ai.usage.input_tokens`` / ``output_tokens`` when the answer reported
usage, and beside them ``llmseal.receipt.id``, ``llmseal.receipt.key_id`` and
``llmseal.receipt.model_id``: a trace shows which receipt vouches for which
model call. It runs from the request's arrival to the receipt's commit, under
whatever span is current (an instrumented ASGI server's), through the global
tracer provider, so ``opentelemetry-instrument llmseal serve ...`` or a provider
set at start-up is all it takes.

Without opentelemetry the gateway holds no hook at all (one ``is None`` test per
receipt); with the API but no SDK the span is a non-recording one and no
attribute is built.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable, Mapping
from typing import Any

from llmseal.core.receipt import Receipt

__all__ = ["OPERATIONS", "SpanHook", "inference_spans"]

# gen_ai.operation.name of each sealed route (the conventions' well-known values).
OPERATIONS: Mapping[str, str] = {
    "/v1/chat/completions": "chat",
    "/v1/messages": "chat",
    "/v1/responses": "chat",
    "/api/chat": "chat",
    "/v1/completions": "text_completion",
    "/api/generate": "text_completion",
    "/v1/embeddings": "embeddings",
}
# Token counts as each API names them: OpenAI chat, Anthropic and Responses, Ollama.
_INPUT = ("prompt_tokens", "input_tokens", "prompt_eval_count")
_OUTPUT = ("completion_tokens", "output_tokens", "eval_count")

SpanHook = Callable[[str, float, str | None, Any, Receipt, Any, int], None]
"""``(endpoint, started, request_model, served_model, receipt, usage, status)``;
``started`` is ``time.perf_counter()`` at the request's arrival."""


def inference_spans(provider: Any = None) -> SpanHook | None:
    """The span hook, or None when opentelemetry is not installed.

    ``provider``: a ``TracerProvider``; default the global one (a provider set
    after the gateway started is used: the API's proxy tracer defers to it).
    """
    if importlib.util.find_spec("opentelemetry") is None:
        return None
    from opentelemetry import trace

    # Made once: get_tracer costs more than the span (2 us for the proxy, 16 with the SDK).
    tracer = (provider or trace).get_tracer("llmseal.gateway")

    def record(
        endpoint: str, started: float, requested: str | None, served: Any,
        receipt: Receipt, usage: Any, status: int,
    ) -> None:  # fmt: skip
        operation = OPERATIONS.get(endpoint, "chat")
        now = time.time_ns()
        begun = now - int((time.perf_counter() - started) * 1e9)
        span = tracer.start_span(
            f"{operation} {requested}" if requested else operation,
            kind=trace.SpanKind.CLIENT, start_time=begun,
        )  # fmt: skip
        if span.is_recording():
            span.set_attributes(_attributes(operation, requested, served, receipt, usage, status))
        span.end(end_time=now)

    return record


def _attributes(
    operation: str, requested: str | None, served: Any, receipt: Receipt, usage: Any, status: int
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "gen_ai.operation.name": operation,
        "llmseal.receipt.id": receipt.receipt_id,
        "llmseal.receipt.key_id": receipt.key_id,
        "llmseal.receipt.model_id": receipt.model_id,
    }
    if requested:
        values["gen_ai.request.model"] = requested
    if isinstance(served, str) and served:
        values["gen_ai.response.model"] = served
    if isinstance(usage, Mapping):
        for name, keys in (("input_tokens", _INPUT), ("output_tokens", _OUTPUT)):
            count = next((usage[k] for k in keys if type(usage.get(k)) is int), None)
            if count is not None:
                values[f"gen_ai.usage.{name}"] = count
    if not 200 <= status < 300:
        values["error.type"] = str(status)  # a sealed error answer (semconv: the status code)
    return values
