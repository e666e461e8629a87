"""Routing standing from evidence: DIFF excludes, failures degrade, SAME promotes, age decays."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from llmseal.audit.routing.ledger import Evidence, Ledger, RoutingPolicy, Tier
from llmseal.audit.routing.router import Endpoint, Router
from llmseal.errors import AuditError, InputError, StoreError

M = "smollm2-135m-instruct"
DAY = timedelta(days=1)


def _ledger(t0: datetime, *facts: tuple[str, str, float]) -> Ledger:
    """(issuer, kind, days before t0) facts."""
    ledger = Ledger()
    for issuer, kind, days in facts:
        ledger.record(issuer, M, kind, at=t0 - days * DAY, source=f"{kind}-{issuer}-{days}")
    return ledger


def test_no_evidence_is_unaudited_at_one_half(t0: datetime) -> None:
    standing = Ledger().standing("a", M, at=t0)
    assert standing.tier is Tier.UNAUDITED and standing.score == 0.5


def test_a_diff_excludes_and_a_later_same_does_not_clear_it(t0: datetime) -> None:
    ledger = _ledger(t0, ("a", "DIFF", 10), ("a", "SAME", 1), *[("a", "ok", 0.5)] * 20)
    standing = ledger.standing("a", M, at=t0)
    assert standing.tier is Tier.EXCLUDED and "DIFF" in standing.reasons[0]
    assert standing.last_diff == t0 - 10 * DAY
    # the exclusion is per model: the same issuer selling another model is not touched
    assert ledger.standing("a", "gemma-3-270m", at=t0).tier is Tier.UNAUDITED


def test_a_diff_ages_out_or_is_retracted(t0: datetime) -> None:
    ledger = _ledger(t0, ("a", "DIFF", 100))
    assert ledger.standing("a", M, at=t0).tier is Tier.UNAUDITED
    assert ledger.standing("a", M, at=t0 - 20 * DAY).tier is Tier.EXCLUDED
    fresh = _ledger(t0, ("a", "DIFF", 1))
    fresh.record("a", M, "retract", at=t0, source="DIFF-a-1")
    assert fresh.standing("a", M, at=t0).tier is Tier.UNAUDITED
    # a retraction of another report's verdict changes nothing
    fresh.record("a", M, "DIFF", at=t0, source="report-2")
    fresh.record("a", M, "retract", at=t0, source="report-3")
    assert fresh.standing("a", M, at=t0).tier is Tier.EXCLUDED


def test_evidence_after_at_is_not_seen(t0: datetime) -> None:
    ledger = _ledger(t0, ("a", "DIFF", -1))  # tomorrow
    assert ledger.standing("a", M, at=t0).tier is Tier.UNAUDITED
    assert ledger.standing("a", M, at=t0 + 2 * DAY).tier is Tier.EXCLUDED


def test_repeated_failures_degrade_and_decay_away(t0: datetime) -> None:
    ledger = _ledger(t0, *[("a", "failure", 0.1)] * 4, *[("a", "ok", 0.1)] * 10)
    standing = ledger.standing("a", M, at=t0)
    assert standing.tier is Tier.DEGRADED and "verification failures" in standing.reasons[0]
    assert standing.score == pytest.approx((standing.ok + 1) / (standing.ok + standing.failed + 2))
    # two failures are not enough, nor is a low failure rate
    assert _ledger(t0, *[("a", "failure", 0)] * 2).standing("a", M, at=t0).tier is Tier.UNAUDITED
    rare = _ledger(t0, *[("a", "failure", 0)] * 3, *[("a", "ok", 0)] * 100)
    assert rare.standing("a", M, at=t0).tier is Tier.UNAUDITED
    # a month later the same failures weigh 1/16 each
    assert ledger.standing("a", M, at=t0 + 28 * DAY).tier is Tier.UNAUDITED


def test_a_recent_same_promotes_and_undetermined_asks_for_more(t0: datetime) -> None:
    ledger = _ledger(t0, ("a", "SAME", 2), ("b", "UNDETERMINED", 1))
    assert ledger.standing("a", M, at=t0).tier is Tier.AUDITED
    assert ledger.standing("a", M, at=t0 + 40 * DAY).tier is Tier.UNAUDITED
    b = ledger.standing("b", M, at=t0)
    assert b.tier is Tier.UNAUDITED and "audit again" in b.reasons[0]


def test_router_orders_by_tier_then_score(t0: datetime) -> None:
    ledger = _ledger(
        t0, ("diff", "DIFF", 1), ("same", "SAME", 1), *[("flaky", "failure", 0)] * 5,
        *[("good", "ok", 0)] * 30,
    )  # fmt: skip
    endpoints = [Endpoint(n, f"http://{n}.test/v1") for n in ("diff", "flaky", "new", "good")]
    endpoints.append(Endpoint("same", "http://same.test/v1"))
    endpoints.append(Endpoint("other", "http://other.test/v1", models=("gemma-3-270m",)))
    router = Router(endpoints, ledger, rng=random.Random(1))
    ranked = [e.issuer for e, _ in router.ranked(M, at=t0)]
    assert ranked == ["same", "good", "new", "flaky", "diff"]
    for seed in range(20):  # never the excluded one, never the degraded one before others
        order = Router(endpoints, ledger, rng=random.Random(seed)).order(M, at=t0)
        issuers = [e.issuer for e in order]
        assert issuers[0] == "same" and "diff" not in issuers
        assert order[-1].issuer == "flaky"


def test_within_a_tier_the_better_score_wins_more_often(t0: datetime) -> None:
    ledger = _ledger(t0, *[("good", "ok", 0)] * 30, ("meh", "failure", 0), ("meh", "ok", 0))
    endpoints = [Endpoint("good", "http://g/v1"), Endpoint("meh", "http://m/v1")]
    router = Router(endpoints, ledger, rng=random.Random(7))
    picks = [router.pick(M, at=t0).issuer for _ in range(400)]
    share = picks.count("good") / len(picks)
    assert 0.55 < share < 0.85  # ~0.97 vs 0.5 weights: 0.66 expected; both get traffic


def test_every_endpoint_excluded_is_an_error(t0: datetime) -> None:
    router = Router([Endpoint("a", "http://a/v1")], _ledger(t0, ("a", "DIFF", 0)))
    with pytest.raises(AuditError, match="without adverse evidence"):
        router.pick(M, at=t0)
    with pytest.raises(AuditError, match="without adverse evidence"):
        Router([], Ledger()).pick(M, at=t0)


def test_ledger_persists_and_survives_a_torn_last_line(t0: datetime, tmp_path: Path) -> None:
    path = tmp_path / "routing" / "evidence.jsonl"
    ledger = Ledger(path)
    ledger.record("a", M, "DIFF", at=t0, source="report-1")
    ledger.record("a", M, "ok", at=t0, source="r-1")
    with path.open("ab") as handle:
        handle.write(b'{"issuer": "a", "model"')  # a crash in the middle of a line
    again = Ledger(path)
    assert [e.kind for e in again] == ["DIFF", "ok"]
    assert again.standing("a", M, at=t0).tier is Tier.EXCLUDED
    path.write_bytes(b'{"bad": 1}\n{"issuer": "a", "model": "m", "kind": "ok", "at": "x"}\n')
    with pytest.raises(StoreError, match=":1 is not routing evidence"):
        Ledger(path)


def test_unknown_evidence_kinds_are_refused(t0: datetime) -> None:
    with pytest.raises(InputError, match="unknown routing evidence kind"):
        Evidence("a", M, "maybe", t0)
    assert Evidence.from_dict(Evidence("a", M, "SAME", t0, "x").to_dict()).source == "x"


def test_policy_thresholds_are_the_callers(t0: datetime) -> None:
    ledger = _ledger(t0, ("a", "failure", 0))
    strict = RoutingPolicy(degrade_failures=1.0, degrade_rate=0.0)
    assert ledger.standing("a", M, at=t0, policy=strict).tier is Tier.DEGRADED
    assert ledger.standing("a", M, at=t0).tier is Tier.UNAUDITED
