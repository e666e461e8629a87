"""Prometheus metrics shared by all gateway workers.

Each worker process counts into its own small file-backed array under
``DATA_DIR/metrics/<pid>.bin`` (a few hundred doubles, updated in place), and
``GET /metrics`` from any worker sums every file. So the numbers are for the
whole gateway, not for whichever worker happened to answer the scrape.
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path

__all__ = ["Metrics"]

_ROUTES = ("signed", "passthrough", "receipts_api", "other")
_CLASSES = ("2xx", "3xx", "4xx", "5xx")
_UPSTREAM_ERRORS = ("unreachable", "timeout", "invalid_response", "stream_cut", "unmapped_model")
_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1)
# Whole sealed exchanges, upstream included (a model answers in 0.1-60 s).
_REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

_SLOTS: list[str] = (
    [f"req:{r}:{c}" for r in _ROUTES for c in _CLASSES]
    + [f"uperr:{e}" for e in _UPSTREAM_ERRORS]
    + ["receipts", "store_errors", "sign_sum", "sign_count"]
    + [f"sign_bucket:{b}" for b in _BUCKETS]
    + ["sign_bucket:+Inf"]
    + ["sealed_sum", "sealed_count"]
    + [f"sealed_bucket:{b}" for b in _REQUEST_BUCKETS]
    + ["sealed_bucket:+Inf"]
)
_INDEX = {name: i for i, name in enumerate(_SLOTS)}
_SIZE = len(_SLOTS) * 8
_RECEIPTS, _SIGN_SUM, _SIGN_COUNT = _INDEX["receipts"], _INDEX["sign_sum"], _INDEX["sign_count"]
_BUCKET_SLOTS = tuple((bound, _INDEX[f"sign_bucket:{bound}"]) for bound in _BUCKETS)
_INF_SLOT = _INDEX["sign_bucket:+Inf"]
_SEALED_SLOTS = tuple((bound, _INDEX[f"sealed_bucket:{bound}"]) for bound in _REQUEST_BUCKETS)
_REQUEST_SLOTS = {
    (route, status_class): _INDEX[f"req:{route}:{status_class}xx"]
    for route in _ROUTES
    for status_class in range(2, 6)
}


class Metrics:
    """Counters and a signing-latency histogram for one worker process."""

    def __init__(self, directory: Path | None, *, writer: bool = True) -> None:
        """``writer=False``: only read the workers' files (a dashboard in another process)."""
        self._directory = directory
        self._map: mmap.mmap | None = None
        if directory is None or not writer:
            self._values = memoryview(bytearray(_SIZE)).cast("d")
            return
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{os.getpid()}.bin"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.ftruncate(fd, _SIZE)
            self._map = mmap.mmap(fd, _SIZE)
        finally:
            os.close(fd)
        self._values = memoryview(self._map).cast("d")

    def request(self, route: str, status: int) -> None:
        self._values[_REQUEST_SLOTS[route, min(max(status // 100, 2), 5)]] += 1

    def upstream_error(self, kind: str) -> None:
        self._values[_INDEX[f"uperr:{kind}"]] += 1

    def store_error(self) -> None:
        self._values[_INDEX["store_errors"]] += 1

    def signed(self, seconds: float) -> None:
        values = self._values
        values[_RECEIPTS] += 1
        values[_SIGN_SUM] += seconds
        values[_SIGN_COUNT] += 1
        for bound, slot in _BUCKET_SLOTS:  # cumulative buckets, as Prometheus wants
            if seconds <= bound:
                values[slot] += 1
        values[_INF_SLOT] += 1

    def sealed(self, seconds: float) -> None:
        """One sealed exchange took ``seconds``, from request to last byte (upstream included)."""
        values = self._values
        values[_INDEX["sealed_sum"]] += seconds
        values[_INDEX["sealed_count"]] += 1
        for bound, slot in _SEALED_SLOTS:
            if seconds <= bound:
                values[slot] += 1
        values[_INDEX["sealed_bucket:+Inf"]] += 1

    def snapshot(self) -> list[float]:
        """The sums over every worker's file (or this process only, without a directory)."""
        if self._directory is None:
            return list(self._values)
        totals = [0.0] * len(_SLOTS)
        for path in self._directory.glob("*.bin"):
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if len(data) != _SIZE:
                continue
            for i, value in enumerate(memoryview(data).cast("d")):
                totals[i] += value
        return totals

    def render(self) -> bytes:
        """Prometheus text exposition format 0.0.4."""
        v = self.snapshot()
        lines = [
            "# HELP llmseal_requests_total HTTP requests answered, by route and status class.",
            "# TYPE llmseal_requests_total counter",
        ]
        for r in _ROUTES:
            for c in _CLASSES:
                value = v[_INDEX[f"req:{r}:{c}"]]
                lines.append(f'llmseal_requests_total{{route="{r}",status="{c}"}} {value:.0f}')
        lines += [
            "# HELP llmseal_upstream_errors_total Upstream failures, by kind.",
            "# TYPE llmseal_upstream_errors_total counter",
        ]
        for e in _UPSTREAM_ERRORS:
            lines.append(
                f'llmseal_upstream_errors_total{{kind="{e}"}} {v[_INDEX[f"uperr:{e}"]]:.0f}'
            )
        lines += [
            "# HELP llmseal_receipts_total Receipts issued (signed and committed).",
            "# TYPE llmseal_receipts_total counter",
            f"llmseal_receipts_total {v[_INDEX['receipts']]:.0f}",
            "# HELP llmseal_store_errors_total Receipt store commits that failed.",
            "# TYPE llmseal_store_errors_total counter",
            f"llmseal_store_errors_total {v[_INDEX['store_errors']]:.0f}",
        ]
        lines += _histogram(
            v, "llmseal_signing_seconds", "Time to hash, build and sign one receipt.",
            "sign", _BUCKETS,
        )  # fmt: skip
        lines += _histogram(
            v, "llmseal_sealed_request_seconds", "Sealed exchanges, request to last byte.",
            "sealed", _REQUEST_BUCKETS,
        )  # fmt: skip
        return ("\n".join(lines) + "\n").encode()

    def close(self) -> None:
        if self._map is not None:
            self._values.release()
            self._map.close()
            self._map = None


def _histogram(
    v: list[float], name: str, text: str, slot: str, bounds: tuple[float, ...]
) -> list[str]:
    """One Prometheus histogram: cumulative buckets, +Inf, sum and count."""
    lines = [f"# HELP {name} {text}", f"# TYPE {name} histogram"]
    for bound in (*bounds, "+Inf"):
        lines.append(f'{name}_bucket{{le="{bound}"}} {v[_INDEX[f"{slot}_bucket:{bound}"]]:.0f}')
    lines.append(f"{name}_sum {v[_INDEX[f'{slot}_sum']]:.6f}")
    lines.append(f"{name}_count {v[_INDEX[f'{slot}_count']]:.0f}")
    return lines
