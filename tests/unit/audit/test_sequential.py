"""The sequential test keeps its error rates at any stopping time, and decides fast."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from llmseal.audit.stats import sequential
from llmseal.audit.stats.sequential import (
    BernoulliTest,
    Envelope,
    ErrorRates,
    _binom_cdf,
    clopper_pearson_upper,
)
from llmseal.audit.stats.verdict import Outcome
from llmseal.errors import InputError


def _run(
    rate: float, p0: float, rates: ErrorRates, budget: int, rng: random.Random
) -> tuple[Outcome | None, int]:
    test = BernoulliTest(p0, rates)
    for n in range(1, budget + 1):
        decided = test.update(rng.random() < rate)
        if decided is not None:
            return decided, n
    return None, budget


def test_clopper_pearson_matches_closed_forms() -> None:
    # k = 0 has the closed form 1 - (1 - c)^(1/n).
    assert clopper_pearson_upper(0, 10, 0.95) == pytest.approx(1 - 0.05 ** (1 / 10), abs=1e-9)
    assert clopper_pearson_upper(0, 100, 0.99) == pytest.approx(1 - 0.01 ** (1 / 100), abs=1e-9)
    assert clopper_pearson_upper(5, 5, 0.99) == 1.0
    assert clopper_pearson_upper(0, 0, 0.99) == 1.0


@settings(deadline=None, max_examples=60)
@given(n=st.integers(1, 400), frac=st.floats(0, 0.99), conf=st.sampled_from([0.9, 0.95, 0.99]))
def test_clopper_pearson_is_the_exact_tail_bound(n: int, frac: float, conf: float) -> None:
    k = min(n - 1, int(frac * n))
    upper = clopper_pearson_upper(k, n, conf)
    event(f"k={'0' if k == 0 else '>0'}")
    assert k / n < upper < 1.0
    assert _binom_cdf(k, n, upper) == pytest.approx(1 - conf, abs=1e-6)


def test_honest_endpoints_get_diff_at_most_alpha_whenever_they_stop() -> None:
    # A null at its worst (true rate == p0) over long audits: Ville's inequality.
    rng = random.Random(1)
    rates = ErrorRates(alpha=0.05, beta=0.05)
    outcomes = [_run(0.05, 0.05, rates, 200, rng)[0] for _ in range(300)]
    false_diff = outcomes.count(Outcome.DIFF)
    assert false_diff <= 15  # 5% of 300; the mixture is conservative, typically far fewer
    assert outcomes.count(Outcome.SAME) > 200  # and honest audits do conclude SAME


def test_substitutes_at_the_minimum_effect_get_same_at_most_beta() -> None:
    rng = random.Random(2)
    rates = ErrorRates(alpha=0.05, beta=0.05, min_effect=0.15)
    outcomes = [_run(0.20, 0.05, rates, 400, rng)[0] for _ in range(200)]
    assert outcomes.count(Outcome.SAME) <= 10
    assert outcomes.count(Outcome.DIFF) > 150


def test_a_family_swap_is_decided_in_two_or_three_queries() -> None:
    rates = ErrorRates().split(3)  # alpha 0.01 over three families
    test = BernoulliTest(0.02, rates)
    assert test.update(True) is None
    assert test.update(True) is Outcome.DIFF
    assert test.p_value <= rates.alpha
    assert test.effect_size == pytest.approx(1 - 0.02)
    assert test.log10_e_diff >= -math.log10(rates.alpha)


def test_p_value_is_anytime_the_best_evidence_so_far() -> None:
    test = BernoulliTest(0.1, ErrorRates(alpha=1e-9, beta=1e-9))
    test.update(True)
    best = test.p_value
    for _ in range(5):
        test.update(False)
    assert test.p_value == best  # misses lower e, never raise the p-value back


def test_envelope_null_rate_is_cp_upper_with_a_floor() -> None:
    assert Envelope(0, 1000).null_rate == pytest.approx(max(0.01, 1 - 0.01 ** (1 / 1000)))
    assert Envelope(0, 1000).null_rate == 0.01
    assert Envelope(30, 100).null_rate == pytest.approx(clopper_pearson_upper(30, 100, 0.99))
    assert Envelope(0, 0).null_rate == 1.0
    assert Envelope.from_dict(Envelope(3, 40).to_dict()) == Envelope(3, 40)


@pytest.mark.parametrize(
    "bad",
    [lambda: Envelope(5, 4), lambda: ErrorRates(alpha=0), lambda: BernoulliTest(1.0, ErrorRates())],
)
def test_impossible_parameters_are_input_errors(bad: object) -> None:
    with pytest.raises(InputError):
        bad()  # type: ignore[operator]


def _walk(p0: float, bits: list[bool]) -> list[tuple[float, float, float, Outcome | None]]:
    test = BernoulliTest(p0, ErrorRates())
    out = []
    for exceeds in bits:
        decided = test.update(exceeds)
        out.append((test.log10_e_diff, test.log10_e_same, test.p_value, decided))
    return out


@settings(max_examples=200, deadline=None)
@given(
    p0=st.floats(0.01, 0.4),
    bits=st.lists(st.booleans(), min_size=1, max_size=60),
    share=st.floats(0.0, 1.0),
)
def test_the_state_memo_returns_exactly_what_the_steps_compute(
    p0: float, bits: list[bool], share: float
) -> None:
    """A remembered prefix gives the very floats a fresh walk gives, bit for bit, whether
    the memo holds none of the walk, part of it (a shared prefix) or all of it."""
    sequential._STATES.clear()
    fresh = _walk(p0, bits)
    cut = int(share * len(bits))
    sequential._STATES.clear()
    _walk(p0, bits[:cut])  # a shorter walk leaves its prefix in the memo
    event("prefix remembered" if 0 < cut < len(bits) else "no shared prefix")
    assert _walk(p0, bits) == fresh
    assert _walk(p0, bits) == fresh  # every state now comes from the memo
    flipped = [not b for b in bits]
    assert _walk(p0, flipped)[0] != fresh[0]  # the key tells the sequences apart
