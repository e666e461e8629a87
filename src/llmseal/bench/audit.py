"""Text audits (kbf, logprob, stack) on the real models: queries to a decision, false DIFF.

The reference is enrolled from the SmolLM2 weights under five engine settings, each
in a process of its own (``n_batch`` 512, 64 and 8, prompt cache on, and a second
process with the first setting; one thread: on two shared cores ggml's spinning
threads make two much slower) over 96 candidate probes per family: the null rate
``p0`` is a bound on honest breaks from those observations, and the queries a 20%
mix takes fall with it. Two honest deployments are held *out* —
``n_batch=1`` (the noisiest honest variation measured, ``notes/model-audits.md``)
and two threads — so the false-DIFF rate is measured on honest deployments the
envelope never saw, beside one it covers. Each scenario's answers to every probe
are generated once, in-process with llama.cpp (the server's code path) and signed
with a throwaway key claiming SmolLM2 (:mod:`llmseal.bench._support.auditpool`); the trials
then run the real audit loop (:func:`~llmseal.audit.runner.run_audit`) over random
probe orders — and, for the 20% mixes, a fresh draw per probe of which model
answers — and report each verdict's count, the queries each decision took
(median, p95), and per family the share of a pool's answers outside the envelope.
Text-only rows run ``kbf`` (and ``kbf`` + ``stack``) alone: no logprobs asked.
"""

from __future__ import annotations

import os
import random
import statistics
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from llmseal.audit.enrollment.enroll import enroll, weight_sources
from llmseal.audit.enrollment.reference import Reference
from llmseal.audit.family import EnrollOptions, Source, registry
from llmseal.audit.runner import pick_references, run_audit
from llmseal.audit.stats.sequential import ErrorRates, clopper_pearson_upper
from llmseal.audit.stats.verdict import Outcome
from llmseal.bench._support.auditpool import (
    Pool,
    all_probes,
    answer_pool,
    break_rates,
    cached_pool,
    mixed_sender,
)
from llmseal.core.keys import Ed25519Signer
from llmseal.devmodels import cache_dir, gemma_path, requantized, smollm2_path
from llmseal.errors import Error

__all__ = ["ENROLLED", "HIDDEN", "run"]

CLAIM = "smollm2-135m-instruct"
FAMILIES = ("kbf", "logprob", "stack")
ENROLLED = (
    {"n_batch": 512, "n_threads": 1},
    {"n_batch": 64, "n_threads": 1},
    {"n_batch": 8, "n_threads": 1},
    {"n_batch": 512, "n_threads": 1, "prompt_cache": True},
    {"n_batch": 512, "n_threads": 1},
)
HIDDEN = "You are Mira, a cheerful assistant for a travel company. Keep answers short."
RATES = ErrorRates()
POWER_TRIALS = 300
"""Trials for a swap decided within a few queries: with every one of 300 trials DIFF in
time, the power's exact one-sided 95% lower bound is 0.990 (issue 12: power >= 0.99)."""
FULL_GOALS = {"gemma": 5, "q4_0": 5, "q2_k": 5, "hidden_prompt": 10}
MIX_GOALS = {"q2_k": 50, "q4_0": 50, "gemma": 50, "hidden_prompt": 100}
TEXT_GOALS = {"gemma": 5, "q4_0": 25, "q2_k": 25, "mix20_gemma": 200}
BUDGET = 300
_VERSION = "v5"  # bump when the banks, the enrollment or ENROLLED change


def _reference(probes: int) -> Reference:
    path = cache_dir() / f"audit-bench-ref-{_VERSION}-{probes}.json"
    if path.is_file():
        try:
            return Reference.from_json(path.read_bytes())
        except (OSError, Error):
            pass
    sources: list[Source] = list(weight_sources(smollm2_path(), ENROLLED, processes=True))
    try:
        options = EnrollOptions(model_id=CLAIM, seed=5, probes=probes)
        ref = enroll(sources, registry().resolve(FAMILIES), options, at=datetime.now(UTC))
    finally:
        for source in sources:
            source.close()  # type: ignore[attr-defined]
    path.write_bytes(ref.to_json())
    return ref


def _trials(
    reference: Reference, pools: list[Pool], weights: list[float], trials: int, seed: int,
    families: tuple[str, ...] = FAMILIES, goal: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    chosen = registry().resolve(list(families))
    refs = pick_references([reference], CLAIM, list(families))
    rng = random.Random(seed)  # noqa: S311 - reproducible trials, not secrets
    results: list[tuple[Outcome, int, tuple[str, ...]]] = []
    for _ in range(trials):
        run = run_audit(chosen, refs, mixed_sender(pools, weights, rng), budget=BUDGET,
                        rates=RATES, rng=random.Random(rng.random()))  # noqa: S311  # fmt: skip
        diff = tuple(v.family for v in run.verdicts if v.outcome is Outcome.DIFF)
        results.append((run.outcome, run.queries, diff))
    by_family: dict[str, int] = {}
    for _, _, diff in results:
        for name in diff:
            by_family[name] = by_family.get(name, 0) + 1
    out: dict[str, Any] = {"trials": trials, "families": list(families)}
    for outcome in Outcome:
        count = sum(o is outcome for o, _, _ in results)
        queries = sorted(q for o, q, _ in results if o is outcome)
        out[outcome.value.lower()] = count
        if queries:
            out[f"queries_{outcome.value.lower()}"] = _spread(queries)
    out["diff_by_family"] = by_family
    diff = out["diff"]
    # Exact (Clopper-Pearson) one-sided 95% bounds on what the trials measured: the
    # false-DIFF rate of an honest deployment, the power of DIFF within a goal's budget.
    out["diff_rate_upper95"] = round(clopper_pearson_upper(diff, trials, 0.95), 4)
    if goal is not None:
        within = sum(o is Outcome.DIFF and q <= goal for o, q, _ in results)
        out["goal"] = goal
        out["diff_within_goal"] = within
        out["power_lower95"] = round(1.0 - clopper_pearson_upper(trials - within, trials, 0.95), 4)
    return out


def _goal_line(row: dict[str, Any]) -> dict[str, Any]:
    """One scenario against its goal: DIFF share, queries (median, p95), power bound."""
    spread = row.get("queries_diff") or {}
    return {"goal": row["goal"], "diff": f"{row['diff']}/{row['trials']}",
            "median": spread.get("median"), "p95": spread.get("p95"),
            "within_goal": f"{row['diff_within_goal']}/{row['trials']}",
            "power_lower95": row["power_lower95"]}  # fmt: skip


def _spread(values: list[int]) -> dict[str, float]:
    return {"median": statistics.median(values),
            "p95": values[min(len(values) - 1, int(0.95 * len(values)))]}  # fmt: skip


Row = tuple[str, list[Pool], list[float], tuple[str, ...], int | None]
_HONEST = ("honest", "text_kbf_honest", "text_kbf+stack_honest", "only_logprob_honest",
           "only_logprob+stack_honest")  # fmt: skip


def _rows(pools: dict[str, Pool]) -> list[Row]:
    """Every scenario the bench runs: (row, pools, routing weights, families, goal).

    ``goal`` is issue 12's query budget for the scenario's DIFF (None: no claim — honest
    deployments, and Q8_0, which is within honest kernel noise and is only reported).
    """
    honest = pools["honest_covered"]
    rows: list[Row] = [(name, [pool], [1.0], FAMILIES, FULL_GOALS.get(name))
                       for name, pool in pools.items()]  # fmt: skip
    for name in ("q2_k", "q4_0", "gemma", "hidden_prompt"):
        rows.append((f"mix20_{name}", [honest, pools[name]], [0.8, 0.2], FAMILIES,
                     MIX_GOALS[name]))  # fmt: skip
    # Text only: no logprobs asked (kbf alone, then with the usage check of stack).
    for text in (("kbf",), ("kbf", "stack")):
        tag = "+".join(text)
        for name in ("honest_n_batch_1", "honest_threads_2", "gemma", "q4_0", "q2_k"):
            rows.append((f"text_{tag}_{name}", [pools[name]], [1.0], text,
                         TEXT_GOALS.get(name)))  # fmt: skip
        rows.append((f"text_{tag}_mix20_gemma", [honest, pools["gemma"]], [0.8, 0.2], text,
                     TEXT_GOALS["mix20_gemma"]))  # fmt: skip
    # The logprob family alone (and with stack's free usage check) on the mixes: the
    # full audit shares its queries with families that cannot see a requantization.
    for fams in (("logprob",), ("logprob", "stack")):
        tag = "+".join(fams)
        rows.append((f"only_{tag}_honest_n_batch_1", [pools["honest_n_batch_1"]], [1.0], fams,
                     None))  # fmt: skip
        for name in ("q2_k", "q4_0", "hidden_prompt"):
            rows.append((f"only_{tag}_mix20_{name}", [honest, pools[name]], [0.8, 0.2], fams,
                         MIX_GOALS[name]))  # fmt: skip
    return rows


def run(*, quick: bool) -> dict[str, Any]:
    # OpenMP workers that spin while waiting crawl on a shared machine (before libgomp loads).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    probes, trials = (96, 50) if quick else (116, 200)
    reference = _reference(probes)
    asked = all_probes(reference, FAMILIES)
    signer = Ed25519Signer.generate("bench-audit")
    smol = smollm2_path()
    makers: dict[str, Callable[[], Pool]] = {
        "honest_covered": lambda: answer_pool(smol, asked, signer, CLAIM, prompt_cache=True),
        "honest_n_batch_1": lambda: answer_pool(smol, asked, signer, CLAIM, n_batch=1),
        "honest_threads_2": lambda: answer_pool(smol, asked, signer, CLAIM, n_threads=2),
        "q8_0": lambda: answer_pool(requantized("Q8_0"), asked, signer, CLAIM),
        "q4_0": lambda: answer_pool(requantized("Q4_0"), asked, signer, CLAIM),
        "q2_k": lambda: answer_pool(requantized("Q2_K"), asked, signer, CLAIM),
        "gemma": lambda: answer_pool(gemma_path(), asked, signer, CLAIM, chat_format="gemma"),
        "hidden_prompt": lambda: answer_pool(smol, asked, signer, CLAIM, system=HIDDEN),
    }
    tag = reference.reference_id.removeprefix("sha256:")[:16]
    pools = {name: cached_pool(cache_dir() / f"audit-pool-{_VERSION}-{tag}-{name}.json", asked,
                               make) for name, make in makers.items()}  # fmt: skip
    out: dict[str, Any] = {
        "probes": {f: len((reference.section(f) or {}).get("probes", ())) for f in FAMILIES},
        "envelopes": {f: (reference.section(f) or {}).get("envelope") for f in FAMILIES
                      if f != "stack"},
        "covers": list(reference.covers),
        "alpha": RATES.alpha, "beta": RATES.beta, "min_effect": RATES.min_effect,
        "budget": BUDGET,
        "break_rates": {n: break_rates(reference, p, FAMILIES) for n, p in pools.items()},
    }  # fmt: skip
    for i, (key, chosen, weights, fams, goal) in enumerate(_rows(pools)):
        many = trials * 3 if key.startswith(_HONEST) else trials
        if goal is not None and goal <= 10 and not weights[1:]:
            many = POWER_TRIALS  # a swap decided in a few queries: cheap to show its power
        out[key] = _trials(reference, chosen, weights, many, seed=100 + i, families=fams,
                           goal=goal)  # fmt: skip
    out["goals"] = {key: _goal_line(out[key]) for key in out if isinstance(out[key], dict)
                    and "goal" in out[key]}  # fmt: skip
    return {"audit": out}
