"""The verdict of a model-identity audit: ``SAME``, ``DIFF`` or ``UNDETERMINED``.

A verdict is a statement about signed evidence, so it always carries what it
rests on (issue 12, "Verifier interface"):

* ``statistic`` — the family's test statistic at the decision: ``log10`` of the
  e-value against "this is the reference model" (see :mod:`llmseal.audit.stats.sequential`);
* ``p_value`` — an anytime-valid p-value for the same null, ``min(1, 1/max e)``:
  valid whenever the runner stopped, which is what sequential testing needs;
* ``effect_size`` — how far the observations are from honest variation (for the
  Bernoulli families: observed exceedance rate minus the honest rate bound);
* ``queries`` — how many exchanges of this family were spent up to the decision,
  failed ones included;
* ``receipt_ids`` — the signed exchanges the statistic was computed from, in order.

``DIFF`` is only ever claimed against a *measured* envelope of honest variation
(a reference that has none gives ``UNDETERMINED``); ``SAME`` means "within what
this family can tell apart at the configured error rates", never a proof.

Exit codes (``llmseal audit run``): SAME 0, DIFF 1, UNDETERMINED 3.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from llmseal.errors import InputError

__all__ = ["Outcome", "TracePoint", "Verdict", "combine"]


class Outcome(StrEnum):
    """The three verdicts (AntSeed's frozen codes: SAME=1, DIFF=2, UNDETERMINED=3)."""

    SAME = "SAME"
    DIFF = "DIFF"
    UNDETERMINED = "UNDETERMINED"

    @property
    def exit_code(self) -> int:
        return {"SAME": 0, "DIFF": 1, "UNDETERMINED": 3}[self.value]


@dataclass(frozen=True, slots=True)
class TracePoint:
    """One usable observation on the way to a verdict (what the report plots)."""

    receipt_id: str
    value: float
    """The family's per-exchange score (mismatch 0/1, mean |Δ logprob|, ...)."""
    threshold: float
    """The honest envelope's bound for ``value``: above it the exchange "exceeds"."""
    exceeds: bool
    log10_e_diff: float
    log10_e_same: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "receipt_id": self.receipt_id, "value": _finite(self.value),
            "threshold": _finite(self.threshold), "exceeds": self.exceeds,
            "log10_e_diff": _finite(self.log10_e_diff), "log10_e_same": _finite(self.log10_e_same),
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TracePoint:
        try:
            return cls(
                str(data["receipt_id"]), float(data["value"]), float(data["threshold"]),
                bool(data["exceeds"]), float(data["log10_e_diff"]), float(data["log10_e_same"]),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"not an audit trace point: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Verdict:
    """One family's verdict over a sequence of observed exchanges."""

    family: str
    outcome: Outcome
    statistic: float
    p_value: float
    effect_size: float
    queries: int
    receipt_ids: tuple[str, ...]
    reason: str
    samples: int = 0
    """Usable observations (signed and scorable) up to the decision."""
    failed: int = 0
    """Exchanges without a valid receipt: counted as queries, never as samples."""
    null_rate: float | None = None
    """The honest exceedance-rate bound the test ran against (None: no envelope)."""
    trace: tuple[TracePoint, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "family": self.family, "verdict": self.outcome.value,
            "statistic": _finite(self.statistic), "p_value": _finite(self.p_value),
            "effect_size": _finite(self.effect_size), "queries": self.queries,
            "receipt_ids": list(self.receipt_ids), "reason": self.reason,
            "samples": self.samples, "failed": self.failed,
            "null_rate": None if self.null_rate is None else _finite(self.null_rate),
            "trace": [p.to_dict() for p in self.trace], "details": dict(self.details),
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        try:
            null = data.get("null_rate")
            return cls(
                family=str(data["family"]), outcome=Outcome(data["verdict"]),
                statistic=float(data["statistic"]), p_value=float(data["p_value"]),
                effect_size=float(data["effect_size"]), queries=int(data["queries"]),
                receipt_ids=tuple(str(r) for r in data["receipt_ids"]),
                reason=str(data["reason"]), samples=int(data.get("samples", 0)),
                failed=int(data.get("failed", 0)),
                null_rate=None if null is None else float(null),
                trace=tuple(TracePoint.from_dict(p) for p in data.get("trace", ())),
                details=dict(data.get("details", {})),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"not an audit verdict: {exc}") from exc

    def same_decision(self, other: Verdict) -> bool:
        """Whether ``other`` states the same decision on the same evidence.

        Floats are compared with a relative tolerance: a recomputation on another
        machine may differ in the last bits of a logarithm, never in the decision.
        """
        return (
            self.family == other.family
            and self.outcome is other.outcome
            and self.queries == other.queries
            and self.receipt_ids == other.receipt_ids
            and math.isclose(self.statistic, other.statistic, rel_tol=1e-9, abs_tol=1e-9)
            and math.isclose(self.p_value, other.p_value, rel_tol=1e-9, abs_tol=1e-12)
        )


def combine(verdicts: Iterable[Verdict]) -> Outcome:
    """The audit's overall verdict: DIFF if any family says DIFF, SAME if all say SAME.

    Each family runs at its share of the false-DIFF budget (the runner splits
    ``alpha`` evenly, Bonferroni), so "any DIFF" keeps the overall rate.
    """
    outcomes = [v.outcome for v in verdicts]
    if Outcome.DIFF in outcomes:
        return Outcome.DIFF
    if outcomes and all(o is Outcome.SAME for o in outcomes):
        return Outcome.SAME
    return Outcome.UNDETERMINED


def _finite(x: float) -> float:
    """JSON (and RFC 8785) has no infinities: clamp them to a large finite value."""
    if math.isnan(x):
        return 0.0
    return max(-1e300, min(1e300, x))
