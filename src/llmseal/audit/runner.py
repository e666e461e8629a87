"""The audit runner: interleave the families' probes, stop at the first decision.

The runner never talks HTTP itself: it is given a :data:`Sender` that sends one
:class:`~llmseal.audit.family.Probe` through the caller's verifying client and
returns the :class:`~llmseal.audit.exchange.ObservedExchange` (an answer whose
receipt did not verify comes back as a failed exchange, never as a sample). The
command line builds that sender from ``--keys`` (``llmseal audit run``).

The loop, one probe at a time:

* families take turns (round robin), each drawing from its own probe iterator in
  a private order (``rng``), so probes of different families are interleaved; an
  undecided family whose evidence leans to DIFF (its e-value for DIFF above 1) goes
  first in the round, the strongest first, and gets ``LEANING_TURNS`` probes per
  round instead of one, so a family that sees the
  substitute is not held back by those that cannot (a quantized copy mixed into
  20% of the traffic is invisible to ``kbf`` and ``stack``). Each family's test is
  an e-process over its own exchanges, valid whichever family the data made us
  sample next, so the error rates are unchanged;
* after every exchange each family's ``verify`` is recomputed over the whole
  history (pure, so the report verifier gets the same verdicts); a family that
  decided stops sending, unless every undecided family is out of probes — then
  decided families keep sending, since ``stack`` reads every exchange;
* the audit stops at the first DIFF (any DIFF decides it), when every family has
  decided, when every family is out of probes, or at ``budget`` queries;
* with ``cover`` > 0, cover requests (:func:`~llmseal.audit.probes.stealth.cover_probes`)
  are interleaved at random, ``cover`` of them per probe on average (a geometric
  number before each probe): signed and stored like probes, counted in ``budget``,
  scored by no family. With a stealth reference, probes and cover requests then
  share their phrasing style and settings.

Each family runs at its share of the false-DIFF budget
(:meth:`~llmseal.audit.stats.sequential.ErrorRates.split`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from llmseal.audit.enrollment.reference import Reference
from llmseal.audit.exchange import ObservedExchange
from llmseal.audit.family import Family, Probe
from llmseal.audit.probes.stealth import cover_probes
from llmseal.audit.stats.sequential import ErrorRates
from llmseal.audit.stats.verdict import Outcome, Verdict, combine
from llmseal.errors import AuditError

__all__ = ["LEANING_TURNS", "AuditRun", "Sender", "pick_references", "recompute", "run_audit"]

Sender = Callable[[Probe], ObservedExchange]
LEANING_TURNS = 3
"""Probes per round for an undecided family whose evidence leans to DIFF."""


@dataclass(frozen=True, slots=True)
class AuditRun:
    """What an audit found: the verdicts and every exchange they rest on."""

    outcome: Outcome
    verdicts: tuple[Verdict, ...]
    exchanges: tuple[ObservedExchange, ...]
    references: Mapping[str, str]
    """Family name → the reference id its verdict is computed against."""
    rates: ErrorRates
    budget: int

    @property
    def queries(self) -> int:
        return len(self.exchanges)


def pick_references(
    references: Sequence[Reference], model_id: str, families: Sequence[str] = ()
) -> dict[str, Reference]:
    """For each family, the newest reference naming ``model_id`` that has a section for it.

    ``families`` empty: every family some such reference has (except ``replay``,
    which needs the weights and runs with ``llmseal audit replay``).
    """
    matching = sorted((r for r in references if r.names(model_id)),
                      key=lambda r: r.created_at, reverse=True)  # fmt: skip
    if not matching:
        raise AuditError(f"no reference in the pack is for model {model_id!r}")
    wanted = list(families) or sorted({f for r in matching for f in r.families} - {"replay"})
    picked: dict[str, Reference] = {}
    for name in wanted:
        for reference in matching:
            if reference.section(name) is not None:
                picked[name] = reference
                break
    if not picked:
        raise AuditError(f"the references for {model_id!r} have none of {', '.join(wanted)}")
    return picked


def recompute(
    families: Sequence[Family],
    references: Mapping[str, Reference],
    exchanges: Sequence[ObservedExchange],
    rates: ErrorRates,
) -> tuple[Verdict, ...]:
    """Every family's verdict over ``exchanges`` (what ``report verify`` recomputes)."""
    share = rates.split(len(families))
    return tuple(f.verify(references[f.name], exchanges, share) for f in families)


def run_audit(
    families: Sequence[Family],
    references: Mapping[str, Reference],
    send: Sender,
    *,
    budget: int,
    rates: ErrorRates,
    rng: random.Random,
    cover: float = 0.0,
) -> AuditRun:
    """Probe until decided or out of budget (see the module docstring)."""
    if budget < 1:
        raise AuditError("the query budget must be at least 1")
    if not 0.0 <= cover <= 100.0:
        raise AuditError(f"the cover ratio must be in [0, 100], not {cover}")
    missing = [f.name for f in families if f.name not in references]
    if missing:
        raise AuditError(f"no reference for families {', '.join(missing)}")
    history: list[ObservedExchange] = []
    queues: dict[str, Iterator[Probe]] = {
        f.name: f.probes(references[f.name], rng=random.Random(rng.random()), history=history)  # noqa: S311 - a seeded, reproducible order
        for f in families
    }
    decoys = cover_probes(random.Random(rng.random())) if cover else None  # noqa: S311 - a seeded, reproducible order
    keep = cover / (1.0 + cover)  # P(another cover request before the next probe)
    verdicts = recompute(families, references, history, rates)
    live = [f.name for f in families]  # families that still have probes to send
    while len(history) < budget and live:
        undecided = {v.family for v in verdicts if v.outcome is Outcome.UNDETERMINED}
        if not undecided or any(v.outcome is Outcome.DIFF for v in verdicts):
            break
        # Undecided families first; once they are out of probes, decided families' probes
        # still feed those that read every exchange (stack). A decided verdict is fixed:
        # it stops at its first decision, so later exchanges do not change it.
        turn = _weighted([n for n in live if n in undecided] or list(live), verdicts)
        for name in turn:
            if name not in live:
                continue  # it ran out of probes earlier in this round
            if len(history) >= budget:
                break
            probe = next(queues[name], None)
            if probe is None:
                live.remove(name)
                continue
            while decoys is not None and len(history) < budget - 1 and rng.random() < keep:
                history.append(send(next(decoys)))
            history.append(send(probe))
            verdicts = recompute(families, references, history, rates)
            if any(v.outcome is Outcome.DIFF for v in verdicts):
                break
    return AuditRun(
        outcome=combine(verdicts), verdicts=verdicts, exchanges=tuple(history),
        references={n: r.reference_id for n, r in references.items()}, rates=rates,
        budget=budget,
    )  # fmt: skip


def _weighted(names: list[str], verdicts: Sequence[Verdict]) -> list[str]:
    """One round's turns: the families leaning to DIFF first, strongest first,
    ``LEANING_TURNS`` each; then the others, one each, in their own order."""
    evidence = {v.family: v.trace[-1].log10_e_diff for v in verdicts if v.trace}
    leaning = sorted((n for n in names if evidence.get(n, 0.0) > 0.0),
                     key=lambda n: -evidence[n])  # fmt: skip
    rest = [n for n in names if n not in leaning]
    return [n for n in leaning for _ in range(LEANING_TURNS)] + rest
