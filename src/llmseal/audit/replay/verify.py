"""The replay verdict: per delivered token, "would honest serving of the committed
weights produce this?", fed to the audit layer's anytime-valid Bernoulli test.

Each signed answer is re-scored under the committed weights (``scoring``) and every
delivered token becomes one observation: an *exceedance* when it is outside what
honest kernels produce (``envelope.exceedances``). Under the null — these weights,
served within the enrolled variations — a token exceeds with probability at most
``p0``, the Clopper–Pearson bound of the enrolled rate; honest exceedances are
near-tie accidents, so they are taken as independent given the prefix, which is
what the test martingale needs. Tokens, not answers, are the unit because one
substitute answer already carries dozens of them: a family swap decides in one or
two answers, a 20% mix in a few dozen.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmseal.audit.exchange import ObservedExchange
from llmseal.audit.replay.envelope import GAP, TAU, exceedances
from llmseal.audit.replay.exchange import parse_exchange
from llmseal.audit.replay.scoring import Scorer
from llmseal.audit.stats.sequential import BernoulliTest, Envelope, ErrorRates
from llmseal.audit.stats.verdict import Outcome, TracePoint, Verdict
from llmseal.core.receipt import Receipt
from llmseal.errors import Error

__all__ = [
    "FAMILY_NAME",
    "SignedAnswer",
    "from_exchange",
    "null_rate",
    "replay_verdict",
    "sequential_tokens",
]

FAMILY_NAME = "replay"


@dataclass(frozen=True, slots=True)
class SignedAnswer:
    """A verified exchange: the receipt, the request as sent, the content as delivered
    (a completion object, or the list of stream chunks)."""

    receipt: Receipt
    request: Any
    response: Any


def from_exchange(exchange: ObservedExchange) -> SignedAnswer | None:
    """The answer of a signed audit exchange; None for a failed one."""
    receipt = exchange.receipt() if exchange.signed else None
    if receipt is None:
        return None
    return SignedAnswer(receipt, exchange.request_json(), exchange.content())


def null_rate(
    section: Mapping[str, Any], kinds: Iterable[str] = ("greedy", "sampled")
) -> float | None:
    """``p0`` over ``kinds`` of answer, from the reference (None: no envelope for them).

    Greedy and sampled answers have their own envelopes; a verdict over answers of
    one kind runs at that kind's rate, a mix at the larger one.
    """
    rates = []
    for kind in kinds:
        raw = section.get(kind)
        if isinstance(raw, dict):
            envelope = Envelope.from_dict(raw)
            if envelope.total:
                rates.append(envelope.null_rate)
    return max(rates) if rates else None


def _undetermined(reason: str, queries: int = 0, failed: int = 0) -> Verdict:
    return Verdict(FAMILY_NAME, Outcome.UNDETERMINED, 0.0, 1.0, 0.0, queries, (), reason,
                   failed=failed)  # fmt: skip


def replay_verdict(
    section: Mapping[str, Any] | None,
    answers: Sequence[SignedAnswer | None],
    rates: ErrorRates,
    scorer: Scorer | None,
) -> Verdict:
    """The verdict at the first decision over ``exchanges`` (pure given the weights)."""
    if section is None:
        return _undetermined("the reference has no replay section")
    p0 = null_rate(section, _kinds(answers))
    if p0 is None:
        return _undetermined("no measured envelope of honest kernel variation")
    if scorer is None:
        return _undetermined("the committed weights are not available to replay with")
    weight_hash = section.get("weight_hash")
    counts = {"failed": 0, "unusable": 0, "foreign": 0}
    thresholds = {"gap": float(section.get("gap", GAP)), "tau": float(section.get("tau", TAU))}
    scored = _scored(answers, weight_hash, scorer, counts, thresholds)
    test, trace, queries = sequential_tokens(scored, p0, rates)
    outcome = test.decision()
    failed, unusable, foreign = counts["failed"], counts["unusable"], counts["foreign"]
    tokens = test.n
    final = outcome or Outcome.UNDETERMINED
    return Verdict(
        family=FAMILY_NAME, outcome=final, statistic=test.log10_e_diff, p_value=test.p_value,
        effect_size=test.effect_size, queries=queries,
        receipt_ids=tuple(p.receipt_id for p in trace),
        reason=_reason(final, test, len(trace), failed, unusable, foreign),
        samples=len(trace), failed=failed, null_rate=test.p0, trace=tuple(trace),
        details={"tokens": tokens, "exceeded_tokens": test.k, "unusable": unusable,
                 "other_weights": foreign, "same_below": test.p1,
                 "weight_hash": weight_hash},
    )  # fmt: skip


def _kinds(answers: Sequence[SignedAnswer | None]) -> set[str]:
    """Which kinds (greedy, sampled) of answers are among ``answers``."""
    kinds: set[str] = set()
    for answer in answers:
        if answer is None:
            continue
        try:
            item = parse_exchange(answer.request, answer.response, answer.receipt.claims)
        except Error:
            continue
        kinds.add("greedy" if item.params.greedy else "sampled")
    return kinds or {"greedy", "sampled"}


def _scored(
    answers: Sequence[SignedAnswer | None],
    weight_hash: Any,
    scorer: Scorer,
    counts: dict[str, int],
    thresholds: Mapping[str, float],
) -> Iterator[tuple[str | None, list[bool]]]:
    """(receipt id, per-token exceedances) per answer; None id for one that says nothing."""
    for answer in answers:
        if answer is None:  # failed exchanges count as queries, never as samples
            counts["failed"] += 1
            yield None, []
            continue
        receipt = answer.receipt
        if receipt.weight_hash != weight_hash:
            counts["foreign"] += 1  # not a claim about these weights: nothing to test
            yield None, []
            continue
        try:
            item = parse_exchange(answer.request, answer.response, receipt.claims)
            flags = exceedances(scorer.score(item), item.params, **thresholds)
        except Error:
            counts["unusable"] += 1
            yield None, []
            continue
        yield receipt.receipt_id, flags


def sequential_tokens(
    scored: Iterable[tuple[str | None, list[bool]]], p0: float, rates: ErrorRates
) -> tuple[BernoulliTest, list[TracePoint], int]:
    """Feed per-token exceedances to the test, answer by answer, up to the first decision.

    Lazy: answers after the decision are never scored. Returns the test, one trace
    point per answer that was scored, and the answers consumed (queries).
    """
    test = BernoulliTest(p0, rates)
    trace: list[TracePoint] = []
    queries = 0
    for receipt_id, flags in scored:
        queries += 1
        if receipt_id is None:
            continue
        outcome = None
        for flag in flags:
            outcome = test.update(flag)
            if outcome is not None:
                break
        trace.append(TracePoint(receipt_id, float(sum(flags)), 0.0, any(flags),
                                test.log10_e_diff, test.log10_e_same))  # fmt: skip
        if outcome is not None:
            break
    return test, trace, queries


def _reason(
    outcome: Outcome, test: BernoulliTest, answers: int, failed: int, unusable: int, foreign: int
) -> str:
    seen = (
        f"{test.k} of {test.n} delivered tokens in {answers} answers outside honest "
        f"serving of the committed weights (honest rate <= {test.p0:.3g})"
    )
    counts = (
        (failed, "failed exchanges"),
        (unusable, "unusable answers"),
        (foreign, "answers claiming other weights"),
    )
    extra = "".join(f"; {n} {what}" for n, what in counts if n)
    if outcome is Outcome.DIFF:
        return f"{seen}: not these weights at p <= {test.p_value:.2g}{extra}"
    if outcome is Outcome.SAME:
        return f"{seen}: consistent with the committed weights (rate < {test.p1:.3g}){extra}"
    return f"{seen}: not decided by the evidence at hand{extra}"
