"""Margin-screened probes, the first-number rule, stealth phrasing and cover traffic."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from llmseal.audit import EnrollOptions, Outcome, Reference, registry
from llmseal.audit.enrollment.enroll import enroll
from llmseal.audit.enrollment.honest import PRIMARY, margin, stable_envelope, token_margins
from llmseal.audit.exchange import ObservedExchange
from llmseal.audit.families.kbf import answer_number
from llmseal.audit.family import Probe, SourceAnswer
from llmseal.audit.probes.stealth import COVER_FAMILY, MAX_TOKENS, cover_probes
from llmseal.audit.runner import pick_references, run_audit
from llmseal.audit.stats.sequential import ErrorRates
from llmseal.errors import AuditError
from tests.unit.audit.conftest import Exchange
from tests.unit.audit.fakemodel import FakeSource, answer

CLAIM = "smollm2-135m-instruct"


def _sources() -> list[FakeSource]:
    return [FakeSource("a"), FakeSource("b"), FakeSource("c", noisy=True)]


def _lp(*pairs: tuple[str, float, float]) -> dict[str, Any]:
    content = [{"token": t, "logprob": a, "top_logprobs": [{"token": t, "logprob": a},
                                                           {"token": "?", "logprob": b}]}
               for t, a, b in pairs]  # fmt: skip
    return {"choices": [{"message": {"content": "".join(t for t, _, _ in pairs)},
                         "logprobs": {"content": content}}]}  # fmt: skip


def test_margins_are_top1_minus_top2_up_to_a_character() -> None:
    body = _lp(("It", -0.1, -3.1), (" is", -0.2, -0.7), (" 8", -0.1, -5.0))
    margins = token_margins(body)
    assert margins is not None
    assert [token for token, _ in margins] == ["It", " is", " 8"]
    assert [m for _, m in margins] == pytest.approx([3.0, 0.5, 4.9])
    answer_ = SourceAnswer(200, body)
    assert margin(answer_, 0) == pytest.approx(3.0)  # the first token only
    assert margin(answer_) == pytest.approx(0.5)
    assert margin(SourceAnswer(200, {"choices": [{"message": {"content": "8"}}]})) is None


def test_the_first_number_is_the_answer() -> None:
    assert answer_number("8. Spiders have 2 body parts.", "first-number") == 8.0
    assert answer_number("8. Spiders have 2 body parts.") == 2.0  # old references


def test_a_held_out_variation_does_not_screen_its_own_probes() -> None:
    exceed = {"v1": [False, False], "v2": [False, True]}

    def screen(labels: Any) -> list[bool]:
        # v2 alone finds probe 1 too close to call: selecting with v2 drops it
        return [True, "v2" not in labels]

    stable, envelope, per = stable_envelope(exceed, [True, True], screen=screen)
    assert stable == [0]
    assert per["v2"] == [1, 2]  # v2 held out: probe 1 is still chosen, and v2 breaks it
    assert per["v1"] == [0, 1]
    assert envelope is not None and (envelope.exceed, envelope.total) == (1, 3)
    assert PRIMARY == ""


def test_enrollment_drops_narrow_margins(t0: datetime) -> None:
    options = EnrollOptions(model_id=CLAIM, seed=7, probes=40)
    screened = enroll(_sources(), registry().resolve(["kbf"]), options, at=t0)
    loose = enroll(_sources(), registry().resolve(["kbf"]),
                   dataclasses.replace(options, margin=0.0), at=t0)  # fmt: skip
    kept, all_ = (len((r.section("kbf") or {})["probes"]) for r in (screened, loose))
    assert 0 < kept < all_
    assert all(p["margin"] >= 0.3 for p in (screened.section("kbf") or {})["probes"])
    assert (screened.section("kbf") or {})["rule"]["parse"] == "first-number"


def test_a_bad_style_is_refused() -> None:
    with pytest.raises(AuditError):
        EnrollOptions(model_id=CLAIM, style="sneaky")


@pytest.fixture
def stealthy(t0: datetime) -> Reference:
    options = EnrollOptions(model_id=CLAIM, seed=7, probes=30, style="stealth")
    return enroll(_sources(), registry().resolve(["kbf", "logprob", "stack"]), options, at=t0)


def _sender(signed_exchange: Exchange, **model: Any) -> Callable[[Probe], ObservedExchange]:
    def send(probe: Probe) -> ObservedExchange:
        if probe.body is None:
            return ObservedExchange(probe.id, probe.family, probe.method, probe.endpoint, b"",
                                    200, b'{"data": []}', (), "unsigned")  # fmt: skip
        request = {**probe.body, "model": CLAIM}
        return signed_exchange(probe.id, probe.family, request, answer(request, **model))

    return send


def _run(reference: Reference, send: Callable[[Probe], ObservedExchange], cover: float):  # type: ignore[no-untyped-def]
    families = registry().resolve(["kbf", "logprob", "stack"])
    refs = pick_references([reference], CLAIM)
    return run_audit(families, refs, send, budget=400, rates=ErrorRates(),
                     rng=random.Random(5), cover=cover)  # fmt: skip


def test_stealth_probes_look_like_ordinary_requests(stealthy: Reference) -> None:
    for name in ("kbf", "logprob"):
        section = stealthy.section(name) or {}
        assert section["style"] == "stealth" and section["probes"]
        for item in section["probes"]:
            assert item["send"]["max_tokens"] in MAX_TOKENS
            assert item["send"]["temperature"] == 0
    kbf = (stealthy.section("kbf") or {})["probes"]
    assert len({p["messages"][0]["content"].split()[0] for p in kbf}) > 2  # varied openings


def test_cover_traffic_hides_the_probes(stealthy: Reference, signed_exchange: Exchange) -> None:
    honest = _run(stealthy, _sender(signed_exchange), cover=1.0)
    assert honest.outcome is Outcome.SAME, [v.reason for v in honest.verdicts]
    cover = [e for e in honest.exchanges if e.family == COVER_FAMILY]
    probes = [e for e in honest.exchanges if e.family != COVER_FAMILY and e.signed]
    assert len(cover) > len(probes) / 3  # about one per probe (geometric, mean 1)
    # cover requests use the probes' settings: nothing in the parameters tells them apart
    shapes = {(e.request_json()["max_tokens"], e.request_json()["temperature"])
              for e in honest.exchanges if e.signed}  # fmt: skip
    assert {m for m, _ in shapes} <= set(MAX_TOKENS) and {t for _, t in shapes} == {0}
    swapped = _run(stealthy, _sender(signed_exchange, salt="gemma"), cover=1.0)
    assert swapped.outcome is Outcome.DIFF


def test_cover_probes_are_endless_and_ordinary() -> None:
    rng = random.Random(1)
    drawn = [p for p, _ in zip(cover_probes(rng), range(50), strict=False)]
    assert len({p.id for p in drawn}) == 50 and all(p.family == COVER_FAMILY for p in drawn)
    assert any(p.body and p.body.get("logprobs") for p in drawn)
    with pytest.raises(AuditError):
        run_audit([], {}, lambda p: None, budget=5, rates=ErrorRates(),  # type: ignore[arg-type, return-value]
                  rng=random.Random(0), cover=-1)  # fmt: skip
