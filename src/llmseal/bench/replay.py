"""Replay audits on the real models: answers to a decision, false DIFF, cost per token.

Pools of answers are generated once per run, in-process with llama.cpp (the same
code path as the server), signed with a throwaway key and a receipt claiming the
SmolLM2 commitment: honest SmolLM2 (token-by-token decoding, n_batch 512 and 1),
its Q4_0 and Q2_K requantizations, and Gemma-3-270M. Each answer is scored once;
the repeated trials then replay random orders of the pools (and a 20% mix) through
the same sequential test ``llmseal audit replay`` runs, and report how many answers
each decision took — median and p95 — and how often honest trials said DIFF.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llmseal.audit.families.replay import FAMILY
from llmseal.audit.replay.envelope import LocalRun, exceedances
from llmseal.audit.replay.exchange import parse_exchange
from llmseal.audit.replay.verify import FAMILY_NAME, null_rate, sequential_tokens
from llmseal.audit.stats.sequential import ErrorRates
from llmseal.audit.stats.verdict import Outcome
from llmseal.devmodels import cache_dir, gemma_path, requantized, smollm2_path
from llmseal.weights import commit_file

__all__ = ["run"]

RATES = ErrorRates(alpha=0.01, beta=0.01, min_effect=0.02)
QUESTIONS = (
    "What is the largest ocean on Earth?", "Give me two words that rhyme with cat.",
    "How do I boil an egg?", "Name a planet with rings.", "What is the opposite of cold?",
    "Write one sentence about autumn.", "What colour do you get by mixing blue and yellow?",
    "Who wrote Romeo and Juliet?", "What is 7 plus 8?", "Name a fruit that is yellow.",
    "What animal says moo?", "Suggest a title for a short story about a robot.",
)  # fmt: skip
Pool = list[list[bool]]


def _bodies(sampled: bool, n: int, seeds: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(n):
        messages = [{"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]}]
        base = {"messages": messages, "max_tokens": 32, "top_k": 40, "top_p": 0.95,
                "min_p": 0.05, "repeat_penalty": 1.0}  # fmt: skip
        if sampled:
            out.extend({**base, "temperature": 0.8, "seed": 100 * i + s} for s in range(seeds))
        else:
            out.append({**base, "temperature": 0})
    return out


def _pool(model: Path, bodies: list[dict[str, Any]], scorer: Any, cost: list[float],
          n_batch: int = 512, chat_format: str | None = None) -> Pool:  # fmt: skip
    run = LocalRun(str(model), n_batch=n_batch, n_threads=2)
    if chat_format is not None:
        run._llm.chat_format = chat_format
    pool: Pool = []
    try:
        for body in bodies:
            item = parse_exchange(body, run.complete(body))
            start = time.perf_counter()
            flags = exceedances(scorer.score(item), item.params)
            cost[0] += time.perf_counter() - start
            cost[1] += len(flags)
            pool.append(flags)
    finally:
        run.close()
    return pool


def _trial(answers: list[list[bool]], p0: float) -> tuple[Outcome | None, int]:
    scored = ((f"a{i}", flags) for i, flags in enumerate(answers))
    test, trace, _ = sequential_tokens(scored, p0, RATES)
    return test.decision(), len(trace)


def _summary(results: list[tuple[Outcome | None, int]]) -> dict[str, Any]:
    used = sorted(n for o, n in results if o is Outcome.DIFF)
    return {
        "trials": len(results),
        "diff": sum(o is Outcome.DIFF for o, _ in results),
        "same": sum(o is Outcome.SAME for o, _ in results),
        "undetermined": sum(o is None for o, _ in results),
        "answers_to_diff_median": statistics.median(used) if used else None,
        "answers_to_diff_p95": used[min(len(used) - 1, int(0.95 * len(used)))] if used else None,
        "answers_to_diff_max": used[-1] if used else None,
    }


def run(*, quick: bool) -> dict[str, Any]:
    n, seeds, trials = (6, 1, 50) if quick else (12, 2, 300)
    manifest = commit_file(smollm2_path())
    family = FAMILY.bind(smollm2_path(), manifest)
    from llmseal.audit.replay.enroll import load_or_enroll

    reference = load_or_enroll(family, cache_dir() / "replay", at=datetime.now(UTC))
    section = reference.section(FAMILY_NAME) or {}
    p0s = {kind: null_rate(section, (kind,)) for kind in ("greedy", "sampled")}
    scorer = family.scorer()
    cost = [0.0, 0.0]
    greedy, sampled = _bodies(False, n, seeds), _bodies(True, n, seeds)
    pools: dict[str, dict[str, Pool]] = {}
    models = {"honest": (smollm2_path(), None), "q4_0": (requantized("Q4_0"), None),
              "q2_k": (requantized("Q2_K"), None), "gemma": (gemma_path(), "gemma")}  # fmt: skip
    for name, (path, fmt) in models.items():
        pools[name] = {"greedy": _pool(path, greedy, scorer, cost, chat_format=fmt),
                       "sampled": _pool(path, sampled, scorer, cost, chat_format=fmt)}  # fmt: skip
    pools["honest"]["greedy"] += _pool(smollm2_path(), greedy, scorer, cost, n_batch=1)
    rng = random.Random(13)  # noqa: S311 - reproducible trial orders, not secrets
    out: dict[str, Any] = {
        "null_rate_per_token": {k: None if v is None else round(v, 5) for k, v in p0s.items()},
        "replay_s_per_100_tokens": round(100 * cost[0] / max(cost[1], 1), 3),
    }
    for name, kinds in pools.items():
        for kind, pool in kinds.items():
            orders = [rng.sample(pool, len(pool)) for _ in range(trials)]
            p0 = p0s[kind]
            assert p0 is not None
            out[f"{name}_{kind}"] = _summary([_trial(o, p0) for o in orders])
    mixed = [[rng.choice(pools["q4_0"]["greedy"]) if rng.random() < 0.2
              else rng.choice(pools["honest"]["greedy"]) for _ in range(30)]
             for _ in range(trials)]  # fmt: skip
    greedy_p0 = p0s["greedy"]
    assert greedy_p0 is not None
    out["mix20_q4_0_greedy"] = _summary([_trial(m, greedy_p0) for m in mixed])
    return {"replay": out}
