"""The sequential-testing contract every Bernoulli verifier family shares.

A family turns each signed exchange into one *exceedance*: did this answer fall
outside the honest envelope (a KBF answer off the reference's, a logprob
distance above the envelope's bound)? Under the null "this is the reference
model, deployed within the variations the reference covers" an exchange exceeds
with probability at most ``p0``, the *null rate*: the Clopper–Pearson upper
bound (confidence 0.99 by default) of the exceedance rate measured over honest
variation at enrollment, never below a floor (:class:`Envelope`).

The runner asks one probe at a time and stops as soon as the test decides. To
make that stopping legal the test is built from *test martingales* (Ville's
inequality: a nonnegative supermartingale starting at 1 exceeds ``1/a`` with
probability at most ``a``, at any stopping time):

* **DIFF** when ``e_diff >= 1/alpha``. ``e_diff`` is the average, over a fixed
  grid of alternatives ``q > p0``, of the likelihood ratios ``Π (q/p0)^x
  ((1-q)/(1-p0))^(1-x)``; under the null each is a supermartingale, so
  ``P(DIFF | honest) <= alpha`` however long the audit runs.
* **SAME** when ``e_same >= 1/beta``, the mirror test of "the exceedance rate is at
  least ``p1``" (``p1 = p0 + min_effect``) against a grid of rates below it:
  ``P(SAME | a substitute exceeding at rate >= p1) <= beta``.
* **UNDETERMINED** when the budget runs out first, or without an envelope.

``p_value = min(1, 1/max_t e_diff_t)`` is anytime-valid; ``statistic`` is
``log10 e_diff`` at the decision. The grids are half uniform in ``q`` (fast on
large effects: a family swap) and half log-uniform in the lift ``q/p0`` (less
waste on small ones: 20% mixed routing), each point weighted equally; any fixed
weighting keeps the guarantee. The overall false-DIFF budget is split evenly over
the families of an audit (:meth:`ErrorRates.split`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import NamedTuple

from llmseal.audit.stats.verdict import Outcome
from llmseal.errors import InputError

__all__ = [
    "BernoulliTest",
    "Envelope",
    "ErrorRates",
    "clopper_pearson_upper",
]

_GRID = 24
_LOG10 = math.log(10.0)


@dataclass(frozen=True, slots=True)
class ErrorRates:
    """The error rates an audit is configured for."""

    alpha: float = 0.01
    """Bound on P(DIFF) for an honest deployment inside the envelope."""
    beta: float = 0.01
    """Bound on P(SAME) for a substitute at least ``min_effect`` away."""
    min_effect: float = 0.1
    """The smallest exceedance-rate increase a SAME must rule out (``p1 - p0``): 0.1 so
    that a 20% mix with a substitute breaking half the probes is not called SAME."""

    def __post_init__(self) -> None:
        for name in ("alpha", "beta", "min_effect"):
            value = getattr(self, name)
            if not 0.0 < value < 1.0:
                raise InputError(f"{name} must be in (0, 1), not {value}")

    def split(self, families: int) -> ErrorRates:
        """Each family's share: ``alpha / families`` (any DIFF decides the audit).

        ``beta`` is not split: the audit says SAME only if every family does, so a
        substitute one family can see gets SAME with probability at most ``beta``.
        """
        return ErrorRates(self.alpha / max(1, families), self.beta, self.min_effect)


@dataclass(frozen=True, slots=True)
class Envelope:
    """Honest variation for one family, as counted at enrollment."""

    exceed: int
    """Honest observations outside the bound..."""
    total: int
    """...out of this many (every covered variation, every probe)."""
    confidence: float = 0.99
    floor: float = 0.01
    """Never assume honest deployments are cleaner than this (un-enrolled noise)."""

    def __post_init__(self) -> None:
        if not 0 <= self.exceed <= self.total:
            raise InputError(f"envelope counts {self.exceed}/{self.total} are impossible")
        if not 0.5 <= self.confidence < 1.0 or not 0.0 < self.floor < 0.5:
            raise InputError("envelope confidence must be in [0.5, 1) and floor in (0, 0.5)")

    @property
    def null_rate(self) -> float:
        """``p0``: the rate an honest deployment exceeds at, at most."""
        if self.total == 0:
            return 1.0
        return max(self.floor, clopper_pearson_upper(self.exceed, self.total, self.confidence))

    def to_dict(self) -> dict[str, float | int]:
        return {"exceed": self.exceed, "total": self.total,
                "confidence": self.confidence, "floor": self.floor}  # fmt: skip

    @classmethod
    def from_dict(cls, data: object) -> Envelope:
        if not isinstance(data, dict):
            raise InputError("an envelope must be an object")
        try:
            return cls(
                int(data["exceed"]), int(data["total"]),
                float(data.get("confidence", 0.99)), float(data.get("floor", 0.01)),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"not an envelope: {exc}") from exc


class BernoulliTest:
    """The mixture sequential test of one family's exceedances (see module docstring)."""

    def __init__(self, null_rate: float, rates: ErrorRates) -> None:
        if not 0.0 < null_rate < 1.0:
            raise InputError(f"the null rate must be in (0, 1), not {null_rate}")
        self.p0 = null_rate
        self.p1 = min(1.0 - 1e-6, null_rate + rates.min_effect)
        self.rates = rates
        self._diff = _grid(self.p0, 1.0)
        self._same = _grid(0.0, self.p1)
        self.n = 0
        self.k = 0
        self._bits = 0  # the exceedances so far, one bit each, newest lowest
        zeros = (0.0,) * len(self._diff)
        self._state = _State(zeros, zeros, 0.0, 0.0, 0.0)

    def update(self, exceeds: bool) -> Outcome | None:
        """Add one observation; the decision if there now is one."""
        self.n += 1
        self.k += int(exceeds)
        self._bits = (self._bits << 1) | int(exceeds)
        # The state is a function of (p0, p1) and the exceedance sequence: a verdict is
        # recomputed from the start after every query (and by `report verify`), so the
        # same prefixes recur; the memo returns the very floats the step would compute.
        key = (self.p0, self.p1, self.n, self._bits)
        state = _STATES.get(key)
        if state is None:
            state = self._state.step(self._diff, self._same, self.p0, self.p1, exceeds)
            if len(_STATES) >= _MEMO:
                _STATES.clear()
            _STATES[key] = state
        self._state = state
        return self.decision()

    def decision(self) -> Outcome | None:
        if self._state.max_log_e >= -math.log(self.rates.alpha):
            return Outcome.DIFF
        if self._state.mean_same >= -math.log(self.rates.beta):
            return Outcome.SAME
        return None

    @property
    def log10_e_diff(self) -> float:
        return self._state.mean_diff / _LOG10

    @property
    def log10_e_same(self) -> float:
        return self._state.mean_same / _LOG10

    @property
    def p_value(self) -> float:
        """Anytime-valid: ``1 / max e_diff`` so far."""
        return min(1.0, math.exp(-self._state.max_log_e))

    @property
    def effect_size(self) -> float:
        """Observed exceedance rate minus ``p0``."""
        return (self.k / self.n - self.p0) if self.n else 0.0


@functools.lru_cache(maxsize=4096)
def clopper_pearson_upper(k: int, n: int, confidence: float) -> float:
    """The exact one-sided upper confidence bound for a binomial rate (k of n)."""
    if n <= 0:
        return 1.0
    if k >= n:
        return 1.0
    tail = 1.0 - confidence
    lo, hi = k / n, 1.0
    for _ in range(200):  # bisection: P(X <= k | p) is decreasing in p
        mid = (lo + hi) / 2
        if _binom_cdf(k, n, mid) > tail:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12:
            break
    return hi


def _binom_cdf(k: int, n: int, p: float) -> float:
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0 if k < n else 1.0
    lp, lq = math.log(p), math.log1p(-p)
    terms = [
        math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * lp + (n - i) * lq
        for i in range(k + 1)
    ]
    top = max(terms)
    return math.exp(top) * sum(math.exp(t - top) for t in terms)


class _State(NamedTuple):
    """The test after some observations: per-alternative log likelihood ratios, and the
    log mixtures (``mean_*``) with the running maximum of the DIFF one."""

    log_diff: tuple[float, ...]
    log_same: tuple[float, ...]
    max_log_e: float
    mean_diff: float
    mean_same: float

    def step(
        self, diff: tuple[float, ...], same: tuple[float, ...], p0: float, p1: float,
        exceeds: bool,
    ) -> _State:  # fmt: skip
        log_diff = _step(self.log_diff, diff, p0, exceeds)
        log_same = _step(self.log_same, same, p1, exceeds)
        mean_diff = _mean_log(log_diff)
        return _State(log_diff, log_same, max(self.max_log_e, mean_diff), mean_diff,
                      _mean_log(log_same))  # fmt: skip


_MEMO = 20_000
_STATES: dict[tuple[float, float, int, int], _State] = {}


@functools.lru_cache(maxsize=256)
def _grid(lo: float, hi: float) -> tuple[float, ...]:
    """Alternatives strictly inside (lo, hi): half uniform, half log-uniform in rate."""
    uniform = [lo + (hi - lo) * (i + 0.5) / _GRID for i in range(_GRID)]
    if lo <= 0.0:  # the SAME grid: log-uniform towards zero
        base = hi * 1e-3
        ratio = (hi / base) ** (1.0 / _GRID)
        geometric = [base * ratio ** (i + 0.5) for i in range(_GRID)]
    else:
        ratio = (hi / lo) ** (1.0 / _GRID)
        geometric = [lo * ratio ** (i + 0.5) for i in range(_GRID)]
    return tuple(min(q, 1.0 - 1e-9) for q in uniform + geometric)


def _step(
    logs: tuple[float, ...], alternatives: tuple[float, ...], p: float, exceeds: bool
) -> tuple[float, ...]:
    if exceeds:
        base = math.log(p)
        return tuple(x + (math.log(q) - base) for x, q in zip(logs, alternatives, strict=True))
    base = math.log1p(-p)
    return tuple(x + (math.log1p(-q) - base) for x, q in zip(logs, alternatives, strict=True))


def _mean_log(logs: tuple[float, ...]) -> float:
    top = max(logs)
    return top + math.log(sum(math.exp(x - top) for x in logs) / len(logs))
