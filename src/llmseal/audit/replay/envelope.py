"""Honest variation for the replay family, measured by running the committed weights.

Enrollment runs the weights in-process under each honest variation an issuer may
use — llama.cpp's prompt batch size (``n_batch`` 512, 8, 1: different kernels) and
thread count — generates greedy and sampled answers to the family's probe
prompts token by token, exactly as a server would, and replays every answer with
the reference scorer (one batched pass). It counts, per delivered token:

* greedy: tokens whose logit is more than ``GAP`` nats below the argmax — honest
  kernels only disagree at near-ties (measured here: gaps ≤ 0.3), substitutes
  disagree by whole nats;
* sampled: tokens the signed sampler would almost never draw (``q < TAU``:
  outside top-k/top-p/min-p, or deep in the tail).

The thresholds are fixed constants, not fitted to the honest data, so the counts
are an honest estimate of the rate at which an honest deployment exceeds them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from llmseal.audit.family import WeightsSource
from llmseal.audit.replay.exchange import ReplayInput, SamplingParams, parse_exchange
from llmseal.audit.replay.scoring import AnswerScore, Scorer

__all__ = [
    "GAP",
    "PROMPTS",
    "TAU",
    "VARIANTS",
    "LocalRun",
    "Tally",
    "exceedances",
    "probe_bodies",
    "score_answer",
]

GAP = 1.0  # nats below the argmax: a greedy token "exceeds" beyond this
TAU = 2e-3  # a sampled token "exceeds" when the signed sampler gives it less than this
# Every sampling field explicit: the Python API and the server have different defaults.
SAMPLER: Mapping[str, float] = {"top_k": 40, "top_p": 0.95, "min_p": 0.05, "repeat_penalty": 1.0}
VARIANTS: tuple[Mapping[str, int], ...] = (
    {"n_batch": 512, "n_threads": 2},
    {"n_batch": 8, "n_threads": 1},
    {"n_batch": 1, "n_threads": 2},
)
PROMPTS: tuple[str, ...] = (
    "What is the capital of France?",
    "Write a haiku about the sea.",
    "Explain photosynthesis in one sentence.",
    "List three prime numbers.",
    "How many legs does a spider have?",
    "Give me one tip for learning to code.",
    "What does a thermometer measure?",
    "Name a famous painting and its painter.",
    "Why is the sky blue? Answer briefly.",
    "What is 12 times 11?",
    "Describe a rainy day in two sentences.",
    "What is the boiling point of water in Celsius?",
)


def exceedances(
    score: AnswerScore, params: SamplingParams, *, gap: float = GAP, tau: float = TAU
) -> list[bool]:
    """One flag per delivered token: outside what honest serving produces.

    ``gap``/``tau`` come from the reference a verdict is computed against, so a
    reference stays valid if the defaults change.
    """
    if params.greedy:
        return [g > gap for g in score.gap]
    log_tau = math.log(tau)
    return [lq < log_tau for lq in score.logq]


@dataclass
class Tally:
    """Exceedances counted over honest answers, by kind."""

    greedy: list[int]  # [exceed, total]
    sampled: list[int]
    max_greedy_gap: float = 0.0

    def add(self, score: AnswerScore, params: SamplingParams) -> None:
        flags = exceedances(score, params)
        target = self.greedy if params.greedy else self.sampled
        target[0] += sum(flags)
        target[1] += len(flags)
        if params.greedy:  # the largest honest disagreement seen, exceeding or not
            self.max_greedy_gap = max([self.max_greedy_gap, *score.gap])


class LocalRun(WeightsSource):
    """A :class:`~llmseal.audit.family.Source` of kind ``weights``: the file, one setting."""

    def __init__(
        self, model: str, *, n_batch: int, n_threads: int, seed: int = 1234,
        prompt_cache: bool | int = False, logits_all: bool | int = False,
    ) -> None:  # fmt: skip
        import llama_cpp

        self._label = self.label_for(n_batch, n_threads, prompt_cache=prompt_cache)
        self._prompt_cache = bool(prompt_cache)
        self._llm = llama_cpp.Llama(
            model_path=model, n_ctx=1024, n_batch=n_batch, n_threads=n_threads,
            seed=seed, verbose=False, logits_all=bool(logits_all),
        )  # fmt: skip

    @staticmethod
    def label_for(n_batch: int, n_threads: int, *, prompt_cache: bool | int = False) -> str:
        """The variation name of a setting (``n_batch=8,threads=1,cache=on``)."""
        return f"n_batch={n_batch},threads={n_threads}" + (",cache=on" if prompt_cache else "")

    def complete(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A chat completion, as a server answers it: a fresh state unless ``prompt_cache``
        (then the longest prefix evaluated for the previous request is reused)."""
        if not self._prompt_cache:
            self._llm.reset()  # type: ignore[no-untyped-call]
        fields = ("messages", "max_tokens", "temperature", "top_p", "top_k", "min_p",
                  "repeat_penalty", "seed", "logprobs", "top_logprobs")  # fmt: skip
        kwargs = {k: body[k] for k in fields if k in body}
        result = self._llm.create_chat_completion(**kwargs)
        # JSON as a server sends it (logprobs come back as numpy floats in-process)
        plain: dict[str, Any] = orjson.loads(
            orjson.dumps(result, option=orjson.OPT_SERIALIZE_NUMPY)
        )
        return plain

    def close(self) -> None:
        self._llm.close()


def probe_bodies(max_tokens: int, seeds: Sequence[int]) -> list[dict[str, Any]]:
    """The enrollment (and probing) requests: each prompt greedy, then sampled per seed."""
    bodies: list[dict[str, Any]] = []
    for prompt in PROMPTS:
        messages = [{"role": "user", "content": prompt}]
        base = {"messages": messages, "max_tokens": max_tokens, **SAMPLER}
        bodies.append({**base, "temperature": 0})
        bodies.extend({**base, "temperature": 0.8, "seed": s} for s in seeds)
    return bodies


def score_answer(
    scorer: Scorer, request: Mapping[str, Any], response: Any
) -> tuple[AnswerScore, ReplayInput]:
    item = parse_exchange(request, response)
    return scorer.score(item), item
