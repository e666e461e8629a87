"""From scored exchanges to a verdict: the loop every Bernoulli family shares.

A family supplies a *scorer*: for one signed exchange, the per-exchange value,
the envelope's bound for it, and whether it exceeds the bound — or ``None`` when
the exchange says nothing (an answer with no number in it, a probe the reference
does not know). :func:`sequential_verdict` walks the exchanges in order, feeds the
exceedances to :class:`~llmseal.audit.stats.sequential.BernoulliTest` and stops at the
first decision, so the same list always gives the same verdict (the runner
stops there too, and ``audit report verify`` recomputes it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmseal.audit.exchange import ObservedExchange
from llmseal.audit.stats.sequential import BernoulliTest, Envelope, ErrorRates
from llmseal.audit.stats.verdict import Outcome, TracePoint, Verdict

__all__ = ["Score", "sequential_verdict"]


@dataclass(frozen=True, slots=True)
class Score:
    """One exchange, scored against the envelope."""

    value: float
    threshold: float
    exceeds: bool


Scorer = Callable[[ObservedExchange], Score | None]


def sequential_verdict(
    family: str,
    exchanges: Sequence[ObservedExchange],
    scorer: Scorer,
    envelope: Envelope | None,
    rates: ErrorRates,
    *,
    details: Mapping[str, Any] | None = None,
) -> Verdict:
    """The verdict at the first decision over ``exchanges`` (see the module docstring)."""
    if envelope is None or envelope.total == 0:
        return Verdict(
            family, Outcome.UNDETERMINED, 0.0, 1.0, 0.0, 0, (),
            "the reference has no measured envelope of honest variation for this family",
            details=dict(details or {}),
        )  # fmt: skip
    test = BernoulliTest(envelope.null_rate, rates)
    trace: list[TracePoint] = []
    queries = failed = unusable = 0
    outcome: Outcome | None = None
    for exchange in exchanges:
        queries += 1
        if not exchange.signed:
            failed += 1
            continue
        score = scorer(exchange)
        if score is None:
            unusable += 1
            continue
        outcome = test.update(score.exceeds)
        assert exchange.receipt_id is not None  # signed implies a receipt id
        point = TracePoint(
            exchange.receipt_id, score.value, score.threshold, score.exceeds,
            test.log10_e_diff, test.log10_e_same,
        )  # fmt: skip
        trace.append(point)
        if outcome is not None:
            break
    final = outcome or Outcome.UNDETERMINED
    return Verdict(
        family=family, outcome=final, statistic=test.log10_e_diff, p_value=test.p_value,
        effect_size=test.effect_size, queries=queries,
        receipt_ids=tuple(p.receipt_id for p in trace),
        reason=_reason(final, test, failed, unusable), samples=test.n, failed=failed,
        null_rate=test.p0, trace=tuple(trace),
        details={"exceeded": test.k, "unusable": unusable, "same_below": test.p1,
                 **(details or {})},
    )  # fmt: skip


def _reason(outcome: Outcome, test: BernoulliTest, failed: int, unusable: int) -> str:
    seen = (
        f"{test.k} of {test.n} answers outside the honest envelope (honest rate <= {test.p0:.3g})"
    )
    counts = ((failed, "failed exchanges"), (unusable, "unusable answers"))
    extra = "".join(f"; {n} {what}" for n, what in counts if n)
    if outcome is Outcome.DIFF:
        return f"{seen}: not the reference model at p <= {test.p_value:.2g}{extra}"
    if outcome is Outcome.SAME:
        return f"{seen}: consistent with the reference (rate < {test.p1:.3g}){extra}"
    return f"{seen}: not decided within the budget{extra}"
