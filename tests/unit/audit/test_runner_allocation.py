"""The runner gives more turns to a family whose evidence leans to DIFF (runner docstring)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import datetime

import pytest

from llmseal.audit import Outcome, Reference
from llmseal.audit import runner as runner_module
from llmseal.audit.enrollment.enroll import enroll
from llmseal.audit.exchange import ObservedExchange
from llmseal.audit.family import Probe
from llmseal.audit.runner import AuditRun, pick_references, run_audit
from llmseal.audit.stats.verdict import TracePoint, Verdict
from tests.unit.audit.conftest import Exchange
from tests.unit.audit.fakemodel import FakeSource
from tests.unit.audit.test_text_families import OPTIONS, RATES, _families, _sender

SEEDS = range(1, 9)


@pytest.fixture
def reference(t0: datetime) -> Reference:
    sources = [FakeSource("endpoint", kind="endpoint"), FakeSource("n_batch=512"),
               FakeSource("n_batch=1", noisy=True)]  # fmt: skip
    return enroll(sources, _families(), OPTIONS, at=t0)


def _mixed(
    signed_exchange: Exchange, rate: float, seed: int
) -> Callable[[Probe], ObservedExchange]:
    honest, quantized = _sender(signed_exchange), _sender(signed_exchange, shift=0.5)
    rng = random.Random(seed)
    return lambda probe: (quantized if rng.random() < rate else honest)(probe)


def _run(reference: Reference, send: Callable[[Probe], ObservedExchange], seed: int) -> AuditRun:
    refs = pick_references([reference], "smollm2-135m-instruct")
    return run_audit(_families(), refs, send, budget=300, rates=RATES, rng=random.Random(seed))


def _round_robin(names: list[str], verdicts: object) -> list[str]:
    return names  # one turn each, in the families' order, whatever the evidence


def _mix_runs(reference: Reference, signed_exchange: Exchange) -> list[AuditRun]:
    # A 35% quantized mix: only logprob can see it (same text, same usage).
    return [_run(reference, _mixed(signed_exchange, 0.35, s), s) for s in SEEDS]


def test_a_family_that_sees_the_mix_decides_sooner(
    reference: Reference, signed_exchange: Exchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    weighted = _mix_runs(reference, signed_exchange)
    monkeypatch.setattr(runner_module, "_weighted", _round_robin)
    plain = _mix_runs(reference, signed_exchange)
    for runs in (weighted, plain):
        assert all(r.outcome is Outcome.DIFF for r in runs)
        assert all({v.family for v in r.verdicts if v.outcome is Outcome.DIFF} == {"logprob"}
                   for r in runs)  # fmt: skip
    # while kbf and stack are still undecided, logprob gets LEANING_TURNS of the queries
    early = [Counter(e.family for e in r.exchanges[:24]) for r in weighted]
    early_plain = [Counter(e.family for e in r.exchanges[:24]) for r in plain]
    assert sum(c["logprob"] for c in early) > sum(c["logprob"] for c in early_plain)
    assert sum(r.queries for r in weighted) < sum(r.queries for r in plain)


def test_an_honest_endpoint_keeps_round_robin(
    reference: Reference, signed_exchange: Exchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    weighted = [_run(reference, _sender(signed_exchange), s) for s in SEEDS]
    monkeypatch.setattr(runner_module, "_weighted", _round_robin)
    plain = [_run(reference, _sender(signed_exchange), s) for s in SEEDS]
    assert all(r.outcome is Outcome.SAME for r in weighted + plain)
    leaned = [r for r in weighted if any(p.log10_e_diff > 0 for v in r.verdicts for p in v.trace)]
    # where no family ever leaned to DIFF the two runners sent the very same probes
    for w, p in zip(weighted, plain, strict=True):
        if w not in leaned:
            assert [e.probe_id for e in w.exchanges] == [e.probe_id for e in p.exchanges]
    assert len(leaned) < len(SEEDS)


def _leaning(family: str, log10_e: float) -> Verdict:
    point = TracePoint("r", 0.0, 0.0, log10_e > 0, log10_e, 0.0)
    return Verdict(family, Outcome.UNDETERMINED, log10_e, 1.0, 0.0, 1, ("r",), "", trace=(point,))


def test_leaning_families_go_first_strongest_first() -> None:
    names = ["kbf", "logprob", "stack"]
    verdicts = [_leaning("kbf", -0.2), _leaning("logprob", 0.4), _leaning("stack", 1.1)]
    turns = runner_module.LEANING_TURNS
    assert runner_module._weighted(names, verdicts) == (
        ["stack"] * turns + ["logprob"] * turns + ["kbf"]
    )
    # no evidence yet (no trace) or none leaning: one turn each, in the families' order
    assert runner_module._weighted(names, []) == names
    assert runner_module._weighted(names, [_leaning(n, 0.0) for n in names]) == names
