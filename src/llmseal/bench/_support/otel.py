"""What the gateway's inference span costs per sealed answer, against signing it.

In-process, one thread, same run: the span hook (:mod:`llmseal.gateway.observability._otel`)
with tracing off (opentelemetry-api installed, no SDK provider: a non-recording
span) and on (an SDK provider whose processor drops the span), each as a ratio
to ``issue_receipt`` (the Ed25519 signature every sealed answer pays anyway).
Without opentelemetry the gateway holds no hook: nothing to measure.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from llmseal.bench._support.timing import ops_per_second
from llmseal.core.keys import Ed25519Signer
from llmseal.core.sign import issue_receipt
from llmseal.gateway.observability._otel import inference_spans

__all__ = ["tracing_overhead"]


def tracing_overhead(*, quick: bool) -> dict[str, Any]:
    off = inference_spans()
    if off is None:
        return {"error": "opentelemetry is not installed: the gateway holds no span hook"}
    try:
        from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
    except ImportError:
        return {"error": "opentelemetry-sdk is not installed (the dev extra)"}
    provider = TracerProvider()
    provider.add_span_processor(SpanProcessor())  # the base class: drops every span
    on = inference_spans(provider)
    assert on is not None
    signer = Ed25519Signer.generate("bench-otel")
    at = datetime.now(UTC)
    receipt = issue_receipt(signer, model_id="m", prompt_hash="0" * 64, output_hash="1" * 64, at=at)
    usage = {"prompt_tokens": 5, "completion_tokens": 3}
    started = time.perf_counter()
    seconds = 0.3 if quick else 1.0

    def sign() -> None:
        issue_receipt(signer, model_id="m", prompt_hash="0" * 64, output_hash="1" * 64, at=at,
                      claims={"endpoint": "/v1/chat/completions", "usage": usage})  # fmt: skip

    def span(hook: Any) -> Any:
        return lambda: hook("/v1/chat/completions", started, "m", "m", receipt, usage, 200)

    sign_us = 1e6 / ops_per_second(sign, seconds=seconds)
    off_us = 1e6 / ops_per_second(span(off), seconds=seconds)
    on_us = 1e6 / ops_per_second(span(on), seconds=seconds)
    provider.shutdown()
    return {
        "sign_us": round(sign_us, 2),
        "span_off_us": round(off_us, 2),
        "span_on_us": round(on_us, 2),
        "span_off_over_sign": round(off_us / sign_us, 4),
        "span_on_over_sign": round(on_us / sign_us, 4),
    }
