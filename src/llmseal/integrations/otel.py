"""OpenTelemetry: the verifying client's verdict, and the gateway's receipt, on inference spans.

    from llmseal.client import verifying_http_client
    from llmseal.integrations.otel import span_annotator

    http = verifying_http_client(keys=..., on_result=span_annotator())

Every receipt the client checks adds, to the span current at that moment (the
``gen_ai`` inference span of an instrumented SDK call, or your own), beside its
``gen_ai.*`` attributes: ``llmseal.receipt.id``, ``llmseal.receipt.key_id``,
``llmseal.verify.status`` (``valid``, ``tampered``, ``stale``, ``policy``...) and
``llmseal.receipt.model_id``. A failed check is set before the error is raised,
so the span that records the exception also records why. Needs only
``opentelemetry-api`` (the ``otel`` extra); without a configured SDK it is a no-op.

The gateway side needs nothing but the package: ``llmseal serve`` and
:class:`~llmseal.gateway.middleware.ReceiptMiddleware` add a GenAI inference span
per sealed answer, with ``llmseal.receipt.id`` and ``llmseal.receipt.key_id``
beside ``gen_ai.*`` (:mod:`llmseal.gateway.observability._otel`), through the global tracer
provider; :func:`trace_sealing` sends them to another provider instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llmseal.core.receipt import Receipt
from llmseal.errors import ConfigError
from llmseal.gateway.app import Gateway
from llmseal.gateway.middleware import ReceiptMiddleware
from llmseal.gateway.observability._otel import inference_spans

__all__ = ["ATTRIBUTES", "span_annotator", "trace_sealing"]

ATTRIBUTES = ("llmseal.receipt.id", "llmseal.receipt.key_id", "llmseal.verify.status",
              "llmseal.receipt.model_id")  # fmt: skip


def span_annotator() -> Callable[[Receipt, str, str], None]:
    """An ``on_result`` callback that writes the verdict onto the current span."""
    try:
        from opentelemetry import trace
    except ImportError as exc:
        raise ConfigError(f"opentelemetry-api is not installed (llmseal[otel]): {exc}") from exc

    def annotate(receipt: Receipt, endpoint: str, status: str) -> None:
        span = trace.get_current_span()
        values = (receipt.receipt_id, receipt.key_id, status, receipt.model_id)
        span.set_attributes(dict(zip(ATTRIBUTES, values, strict=True)))
        span.set_attribute("llmseal.endpoint", endpoint)

    return annotate


def trace_sealing(app: Gateway | ReceiptMiddleware, provider: Any) -> None:
    """Send the inference spans of ``app`` (a gateway or the middleware) to ``provider``,
    a ``TracerProvider``, rather than to the global one."""
    if isinstance(app, ReceiptMiddleware) and app.error is not None:
        raise ConfigError(app.error)  # no sealer to trace
    hook = inference_spans(provider)
    if hook is None:
        raise ConfigError("opentelemetry-api is not installed (llmseal[otel])")
    app.sealer.spans = hook
