"""The few distributions the replay tests need, exact where it is cheap.

* binomial upper tail (greedy: how surprising are M hard mismatches in N positions
  when honest serving produces them at rate ``p0``);
* the Clopper–Pearson upper bound (``p0`` from an enrollment that saw k of n);
* the normal lower tail (sampled: the standardized log-likelihood score).
"""

from __future__ import annotations

import math

__all__ = ["binomial_sf", "clopper_pearson_upper", "normal_cdf"]


def _log_pmf(i: int, n: int, p: float) -> float:
    return (
        math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
        + i * math.log(p) + (n - i) * math.log1p(-p)
    )  # fmt: skip


def binomial_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    if k <= 0:
        return 1.0
    if k > n or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    terms = [_log_pmf(i, n, p) for i in range(k, n + 1)]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def clopper_pearson_upper(k: int, n: int, confidence: float) -> float:
    """The one-sided upper confidence bound on a rate after k events in n trials."""
    if n <= 0:
        return 1.0
    if k >= n:
        return 1.0
    alpha = 1.0 - confidence
    lo, hi = k / n, 1.0
    for _ in range(100):  # P(X <= k | p) falls as p grows: bisect for alpha
        mid = (lo + hi) / 2
        if 1.0 - binomial_sf(k + 1, n, mid) > alpha:
            lo = mid
        else:
            hi = mid
    return hi


def normal_cdf(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2.0))
