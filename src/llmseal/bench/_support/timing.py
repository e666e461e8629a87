"""Timing loops: best-of-rounds operations per second on one thread."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["ops_per_second"]


def ops_per_second(fn: Callable[[], object], *, seconds: float, rounds: int = 3) -> float:
    """Run ``fn`` for about ``seconds`` per round; return the best round's rate.

    Best-of-rounds, not mean: on a shared machine the noise only ever slows a
    round down, so the fastest round is the closest to the code's real cost.
    """
    batch = _calibrate(fn)
    best = 0.0
    for _ in range(rounds):
        done = 0
        start = time.perf_counter()
        deadline = start + seconds
        while True:
            for _ in range(batch):
                fn()
            done += batch
            now = time.perf_counter()
            if now >= deadline:
                break
        best = max(best, done / (now - start))
    return best


def _calibrate(fn: Callable[[], object]) -> int:
    start = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - start
    return max(1, min(1000, int(0.01 / max(elapsed, 1e-7))))
