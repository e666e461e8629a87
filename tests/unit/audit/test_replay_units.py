"""The replay family's pieces without a model: sampler replica, statistics, parsing,
verdict paths (no envelope, no weights, other weights, failed exchanges)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from llmseal.audit.replay.exchange import SamplingParams, parse_exchange
from llmseal.audit.replay.sampler import log_distribution, penalized
from llmseal.audit.replay.verify import SignedAnswer, replay_verdict, sequential_tokens
from llmseal.audit.stats.sequential import ErrorRates
from llmseal.audit.stats.verdict import Outcome
from llmseal.core.keys import Ed25519Signer
from llmseal.core.sign import issue_receipt
from llmseal.errors import ContentError

P = SamplingParams(0.8, 3, 0.95, 0.05, 1.0, 0.0, 0.0)
WH = "ab" * 32


def test_sampler_keeps_what_llama_cpp_keeps() -> None:
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.04, 0.01]))
    lq = log_distribution(logits, [], P)
    q = np.exp(lq)
    assert math.isclose(q.sum(), 1.0, rel_tol=1e-9)
    # top-k 3 drops the last two; they keep only the 1e-3 smoothing mass.
    assert q[3] < 1e-3 and q[4] < 1e-3 and q[:3].min() > 0.05
    expected = np.exp(logits[:3] / 0.8) / np.exp(logits[:3] / 0.8).sum()
    assert np.allclose(q[:3], expected * (1 - 1e-3), rtol=1e-2)
    greedy_like = SamplingParams(0.8, 0, 1.0, 0.7, 1.0, 0.0, 0.0)  # min-p 0.7: only token 0
    assert np.exp(log_distribution(logits, [], greedy_like))[0] > 0.99


def test_penalties_follow_llama_cpp() -> None:
    logits = np.array([2.0, -1.0, 0.5])
    rp = SamplingParams(1.0, 0, 1.0, 0.0, 2.0, 0.0, 0.0)
    assert penalized(logits, [0, 0, 1], rp).tolist() == [1.0, -2.0, 0.5]  # once per token
    freq = SamplingParams(1.0, 0, 1.0, 0.0, 1.0, 0.5, 0.25)
    assert penalized(logits, [0, 0], freq).tolist() == [2.0 - 0.5 - 0.5, -1.0, 0.5]
    assert penalized(logits, [], rp) is logits


def test_parse_fills_engine_defaults_and_refuses_what_it_cannot_replay() -> None:
    request = {"messages": [{"role": "user", "content": "hi"}], "temperature": 0}
    response = {"choices": [{"message": {"content": "Hello"}, "finish_reason": "stop"}]}
    item = parse_exchange(request, response, {"inference": {"engine": "llama.cpp"}})
    assert item.params.greedy and item.stopped and item.text == "Hello"
    assert item.params.repeat_penalty == 1.0 and item.params.top_k == 40
    sampled = parse_exchange({**request, "temperature": None}, response)
    assert sampled.params.temperature == 0.8 and sampled.params.repeat_penalty == 1.1
    chunks = [{"choices": [{"delta": {"content": "Hel"}}]},
              {"choices": [{"delta": {"content": "lo"}, "finish_reason": "length"}]}]  # fmt: skip
    streamed = parse_exchange(request, chunks)
    assert streamed.text == "Hello" and not streamed.stopped
    for bad_request, bad_response, claims in [
        ({"prompt": "x"}, response, {}),
        ({**request, "n": 2}, response, {}),
        (request, {"choices": []}, {}),
        (request, response, {"endpoint": "/v1/messages"}),
        (request, "text", {}),
    ]:
        with pytest.raises(ContentError):
            parse_exchange(bad_request, bad_response, claims)


def _answer(weight_hash: str | None = WH) -> SignedAnswer:
    signer = Ed25519Signer.generate("k")
    at = datetime(2026, 1, 1, tzinfo=UTC)
    receipt = issue_receipt(signer, model_id="m", prompt_hash="0" * 64, output_hash="1" * 64,
                            at=at, weight_hash=weight_hash)  # fmt: skip
    request = {"messages": [{"role": "user", "content": "hi"}], "temperature": 0}
    return SignedAnswer(receipt, request, {"choices": [{"message": {"content": "x"}}]})


class FlagScorer:
    """Stands in for the model: every token of every answer exceeds, or none does."""

    def __init__(self, exceed: bool, tokens: int = 30) -> None:
        self.exceed, self.tokens = exceed, tokens

    def score(self, item: Any) -> Any:
        gap = 5.0 if self.exceed else 0.0
        return type("S", (), {"gap": (gap,) * self.tokens, "logq": ()})()


SECTION = {"weight_hash": WH, "greedy": {"exceed": 0, "total": 3000}, "sampled": {"exceed": 0,
           "total": 0}}  # fmt: skip
RATES = ErrorRates(0.01, 0.01, 0.02)


def test_verdict_paths() -> None:
    answers: list[SignedAnswer | None] = [_answer() for _ in range(20)]
    diff = replay_verdict(SECTION, answers, RATES, FlagScorer(True))  # type: ignore[arg-type]
    assert diff.outcome is Outcome.DIFF and len(diff.receipt_ids) == 1
    assert diff.receipt_ids[0] == answers[0].receipt.receipt_id  # type: ignore[union-attr]
    same = replay_verdict(SECTION, answers, RATES, FlagScorer(False))  # type: ignore[arg-type]
    assert same.outcome is Outcome.SAME and 1 < len(same.receipt_ids) < 20
    assert replay_verdict(None, answers, RATES, FlagScorer(True)).outcome is Outcome.UNDETERMINED  # type: ignore[arg-type]
    empty = {**SECTION, "greedy": {"exceed": 0, "total": 0}}
    assert replay_verdict(empty, answers, RATES, FlagScorer(True)).outcome is Outcome.UNDETERMINED  # type: ignore[arg-type]
    assert replay_verdict(SECTION, answers, RATES, None).outcome is Outcome.UNDETERMINED
    # Answers claiming other weights and failed exchanges are never scored.
    others: list[SignedAnswer | None] = [_answer("cd" * 32), None, _answer(None)]
    v = replay_verdict(SECTION, others * 5, RATES, FlagScorer(True))  # type: ignore[arg-type]
    assert v.outcome is Outcome.UNDETERMINED and v.failed == 5 and v.queries == 15
    assert v.details["other_weights"] == 10 and not v.receipt_ids


def test_sequential_tokens_stops_at_the_decision() -> None:
    honest = [("h", [False] * 30)] * 40
    test, trace, queries = sequential_tokens(iter([("s", [True] * 30), *honest]), 0.002, RATES)
    assert test.decision() is Outcome.DIFF and queries == 1 and len(trace) == 1
    test, trace, queries = sequential_tokens(iter(honest), 0.002, RATES)
    assert test.decision() is Outcome.SAME and queries == len(trace) < 40
