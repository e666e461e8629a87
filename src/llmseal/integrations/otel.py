"""OpenTelemetry: the verifying client's verdict on the inference span.

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
"""

from __future__ import annotations

from collections.abc import Callable

from llmseal.core.receipt import Receipt
from llmseal.errors import ConfigError

__all__ = ["ATTRIBUTES", "span_annotator"]

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
