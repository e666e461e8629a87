"""kbf, logprob and stack: enrollment measures an envelope, audits decide against it."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from llmseal.audit import EnrollOptions, Outcome, Reference, registry
from llmseal.audit.enrollment.enroll import enroll
from llmseal.audit.enrollment.honest import stable_envelope
from llmseal.audit.exchange import ObservedExchange
from llmseal.audit.families.kbf import answer_number, close
from llmseal.audit.families.logprob import distance
from llmseal.audit.family import Family, Probe
from llmseal.audit.runner import pick_references, recompute, run_audit
from llmseal.audit.stats.sequential import ErrorRates
from llmseal.errors import AuditError
from tests.unit.audit.conftest import Exchange
from tests.unit.audit.fakemodel import FakeSource, answer

OPTIONS = EnrollOptions(model_id="smollm2-135m-instruct", seed=7, probes=30, repeats=2)
RATES = ErrorRates()


def _families() -> list[Family]:
    return registry().resolve(["kbf", "logprob", "stack"])


@pytest.fixture
def reference(t0: datetime) -> Reference:
    sources = [
        FakeSource("endpoint", kind="endpoint"),
        FakeSource("n_batch=512"),
        FakeSource("n_batch=1", noisy=True),
    ]
    return enroll(sources, _families(), OPTIONS, at=t0)


def _sender(signed_exchange: Exchange, **model: Any) -> Callable[[Probe], ObservedExchange]:
    def send(probe: Probe) -> ObservedExchange:
        if probe.body is None:
            return ObservedExchange(probe.id, probe.family, probe.method, probe.endpoint, b"",
                                    200, b'{"data": []}', (), "unsigned")  # fmt: skip
        request = {**probe.body, "model": "smollm2-135m-instruct"}
        ex = signed_exchange(probe.id, probe.family, request, answer(request, **model))
        return dataclasses.replace(ex, variant=probe.variant)

    return send


def _audit(reference: Reference, send: Callable[[Probe], ObservedExchange], budget: int = 300):  # type: ignore[no-untyped-def]
    families = _families()
    refs = pick_references([reference], "smollm2-135m-instruct")
    return run_audit(families, refs, send, budget=budget, rates=RATES, rng=random.Random(3))


def test_number_parsing_and_tolerance() -> None:
    assert answer_number("23 plus 45 equals 68.") == 68.0
    assert answer_number("about 1,234.5 km") == 1234.5
    assert answer_number("no idea") is None
    assert close(100.4, 100.0, 0.005, 0.0) and not close(101.0, 100.0, 0.005, 0.0)
    assert not close(None, 1.0, 0.5, 0.5)


def test_distance_bounds_missing_tokens() -> None:
    ref = {"a": -0.1, "b": -2.0}
    assert distance(ref, ref) == 0.0
    assert distance(ref, {"a": -0.1, "c": -1.0}) == pytest.approx(0.5)  # b at most -1.0
    assert distance(ref, {}) == float("inf")


def test_leave_one_out_counts_what_selection_cannot_see() -> None:
    exceed = {"v1": [False, True, False, False], "v2": [False, False, False, True]}
    stable, envelope, per = stable_envelope(exceed, [True, True, True, True])
    assert stable == [0, 2]
    # v1 held out: probes stable on v2 are 0,1,2 -> v1 breaks 1; symmetric for v2
    assert per == {"v1": [1, 3], "v2": [1, 3]}
    assert envelope is not None and (envelope.exceed, envelope.total) == (2, 6)
    assert stable_envelope({}, [True])[1] is None


def test_enrollment_measures_an_envelope(reference: Reference) -> None:
    assert reference.covers == ("endpoint#1", "endpoint#2", "n_batch=1", "n_batch=512")
    kbf = reference.section("kbf")
    assert kbf is not None and kbf["envelope"]["total"] > 0
    # the noisy variation broke some candidates: they were dropped, and counted
    assert 0 < len(kbf["probes"]) < kbf["candidates"]
    assert kbf["envelope"]["exceed"] > 0
    logprob = reference.section("logprob")
    assert logprob is not None and logprob["envelope"]["total"] > 0
    assert all(p["top"] for p in logprob["probes"])
    stack = reference.section("stack")
    assert stack is not None and stack["usage"][0] == 0 and stack["models"]["ids"]
    assert Reference.from_json(reference.to_json()) == reference


def test_the_honest_model_is_same(reference: Reference, signed_exchange: Exchange) -> None:
    run = _audit(reference, _sender(signed_exchange))
    assert run.outcome is Outcome.SAME, [v.reason for v in run.verdicts]
    assert {v.family for v in run.verdicts} == {"kbf", "logprob", "stack"}


@pytest.mark.parametrize(
    ("model", "catches"),
    [
        ({"salt": "gemma"}, {"kbf", "logprob"}),  # another family of model
        ({"shift": 0.5}, {"logprob"}),  # a quantized copy: same answers, other logprobs
        ({"extra_tokens": 12}, {"stack"}),  # a hidden system prompt
    ],
)
def test_substitutes_are_diff(
    reference: Reference, signed_exchange: Exchange, model: dict[str, Any], catches: set[str]
) -> None:
    run = _audit(reference, _sender(signed_exchange, **model))
    assert run.outcome is Outcome.DIFF
    diff = {v.family for v in run.verdicts if v.outcome is Outcome.DIFF}
    assert diff and diff <= catches
    assert run.queries <= 15
    # pure: the stored exchanges give the same verdicts again
    again = recompute(_families(), pick_references([reference], "smollm2-135m-instruct"),
                      run.exchanges, RATES)  # fmt: skip
    assert all(a.same_decision(b) for a, b in zip(again, run.verdicts, strict=True))


def test_no_logprobs_falls_back_to_first_token_flips(
    reference: Reference, signed_exchange: Exchange
) -> None:
    run = _audit(reference, _sender(signed_exchange, logprobs=False))
    logprob = next(v for v in run.verdicts if v.family == "logprob")
    assert logprob.outcome is not Outcome.DIFF
    assert logprob.details["kinds"] == ["flip"]
    sent = [e for e in run.exchanges if e.family == "logprob"]
    assert sent[0].variant == 0 and all(e.variant == 1 for e in sent[1:])
    assert b"top_logprobs" not in sent[-1].request


def test_failed_exchanges_are_never_samples(
    reference: Reference, signed_exchange: Exchange
) -> None:
    substitute = _sender(signed_exchange, salt="gemma")

    def broken(probe: Probe) -> ObservedExchange:
        ex = substitute(probe)
        return dataclasses.replace(ex, verification="tampered", receipt_id=None)

    run = _audit(reference, broken, budget=40)
    assert run.outcome is Outcome.UNDETERMINED and run.queries == 40
    assert all(v.samples == 0 for v in run.verdicts)


def test_a_single_source_has_no_envelope(t0: datetime, signed_exchange: Exchange) -> None:
    lone = enroll([FakeSource("n_batch=512")], _families(), OPTIONS, at=t0)
    run = _audit(lone, _sender(signed_exchange, salt="gemma"), budget=40)
    assert run.outcome is Outcome.UNDETERMINED
    assert all("envelope" in v.reason for v in run.verdicts)


class _DeadWorker(FakeSource):
    """A weights run whose process has died: every request fails."""

    def ask(self, method: str, endpoint: str, body: Any) -> Any:
        raise AuditError(f"{self.label}: the worker process has exited")


def test_a_source_that_answers_nothing_stops_enrollment(t0: datetime) -> None:
    # One refused request drops one probe; a dead source must not empty the reference.
    sources = [FakeSource("endpoint", kind="endpoint"), _DeadWorker("n_batch=1,process=3")]
    with pytest.raises(AuditError, match=r"n_batch=1,process=3 answered none of the \d+"):
        enroll(sources, _families(), OPTIONS, at=t0)
