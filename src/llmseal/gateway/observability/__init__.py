"""What the gateway tells its operator: metrics, recent receipts, logs and traces.

Modules: :mod:`.metrics` (Prometheus, summed over workers), :mod:`.recent` (the
dashboard's recent-receipt rings), :mod:`._logging` (JSON lines on stderr) and
:mod:`._otel` (an OpenTelemetry span per sealed answer).
"""

from __future__ import annotations

__all__: list[str] = []
