"""The gateway bench's tracing row runs and reports its keys (`llmseal bench` judges speed)."""

from __future__ import annotations

from llmseal.bench._support.otel import tracing_overhead


def test_tracing_overhead_shape() -> None:
    out = tracing_overhead(quick=True)
    assert set(out) == {"sign_us", "span_off_us", "span_on_us", "span_off_over_sign",
                        "span_on_over_sign"}  # fmt: skip
    assert all(value > 0 for value in out.values())
