"""Text audits (kbf, logprob, stack) on the real models: queries to a decision, false DIFF.

The reference is enrolled from the SmolLM2 weights under four engine settings, each
in a process of its own (``n_batch`` 512 and 8, prompt cache on, and a second
process with the first setting; one thread: on two shared cores ggml's spinning
threads make two much slower). Two honest deployments are held *out* —
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
from datetime import UTC, datetime
from typing import Any

from llmseal.audit.enroll import enroll, weight_sources
from llmseal.audit.family import EnrollOptions, Source, registry
from llmseal.audit.reference import Reference
from llmseal.audit.runner import pick_references, run_audit
from llmseal.audit.sequential import ErrorRates
from llmseal.audit.verdict import Outcome
from llmseal.bench._support.auditpool import (
    Pool,
    all_probes,
    answer_pool,
    break_rates,
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
    {"n_batch": 8, "n_threads": 1},
    {"n_batch": 512, "n_threads": 1, "prompt_cache": True},
    {"n_batch": 512, "n_threads": 1},
)
HIDDEN = "You are Mira, a cheerful assistant for a travel company. Keep answers short."
RATES = ErrorRates()
BUDGET = 300
_VERSION = "v4"  # bump when the banks, the enrollment or ENROLLED change


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
    families: tuple[str, ...] = FAMILIES,
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
    return out


def _spread(values: list[int]) -> dict[str, float]:
    return {"median": statistics.median(values),
            "p95": values[min(len(values) - 1, int(0.95 * len(values)))]}  # fmt: skip


def run(*, quick: bool) -> dict[str, Any]:
    # OpenMP workers that spin while waiting crawl on a shared machine (before libgomp loads).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    probes, trials = (56, 20) if quick else (96, 50)
    reference = _reference(probes)
    asked = all_probes(reference, FAMILIES)
    signer = Ed25519Signer.generate("bench-audit")
    smol = smollm2_path()
    pools: dict[str, Pool] = {
        "honest_covered": answer_pool(smol, asked, signer, CLAIM, prompt_cache=True),
        "honest_n_batch_1": answer_pool(smol, asked, signer, CLAIM, n_batch=1),
        "honest_threads_2": answer_pool(smol, asked, signer, CLAIM, n_threads=2),
        "q8_0": answer_pool(requantized("Q8_0"), asked, signer, CLAIM),
        "q4_0": answer_pool(requantized("Q4_0"), asked, signer, CLAIM),
        "q2_k": answer_pool(requantized("Q2_K"), asked, signer, CLAIM),
        "gemma": answer_pool(gemma_path(), asked, signer, CLAIM, chat_format="gemma"),
        "hidden_prompt": answer_pool(smol, asked, signer, CLAIM, system=HIDDEN),
    }
    out: dict[str, Any] = {
        "probes": {f: len((reference.section(f) or {}).get("probes", ())) for f in FAMILIES},
        "envelopes": {f: (reference.section(f) or {}).get("envelope") for f in FAMILIES
                      if f != "stack"},
        "covers": list(reference.covers),
        "alpha": RATES.alpha, "beta": RATES.beta, "min_effect": RATES.min_effect,
        "budget": BUDGET,
        "break_rates": {n: break_rates(reference, p, FAMILIES) for n, p in pools.items()},
    }  # fmt: skip
    for i, (name, pool) in enumerate(pools.items()):
        many = trials * 3 if name.startswith("honest") else trials
        out[name] = _trials(reference, [pool], [1.0], many, seed=100 + i)
    honest = pools["honest_covered"]
    for i, name in enumerate(("q2_k", "q4_0", "gemma", "hidden_prompt")):
        out[f"mix20_{name}"] = _trials(reference, [honest, pools[name]], [0.8, 0.2], trials,
                                       seed=200 + i)  # fmt: skip
    # Text only: no logprobs asked (kbf alone, then with the usage check of stack).
    for text in (("kbf",), ("kbf", "stack")):
        tag = "+".join(text)
        for i, name in enumerate(("honest_n_batch_1", "honest_threads_2", "gemma", "q2_k")):
            many = trials * 3 if name.startswith("honest") else trials
            out[f"text_{tag}_{name}"] = _trials(reference, [pools[name]], [1.0], many,
                                                seed=300 + i, families=text)  # fmt: skip
        out[f"text_{tag}_mix20_gemma"] = _trials(
            reference, [honest, pools["gemma"]], [0.8, 0.2], trials, seed=399, families=text
        )
    # The logprob family alone (and with stack's free usage check) on the mixes: the
    # full audit shares its queries round robin with families that cannot see a requant.
    for fams in (("logprob",), ("logprob", "stack")):
        tag = "+".join(fams)
        for i, name in enumerate(("honest_n_batch_1", "q2_k", "q4_0", "hidden_prompt")):
            pools_, weights = ([pools[name]], [1.0]) if name.startswith("honest") else (
                [honest, pools[name]], [0.8, 0.2])  # fmt: skip
            key = name if name.startswith("honest") else f"mix20_{name}"
            many = trials * 3 if name.startswith("honest") else trials
            out[f"only_{tag}_{key}"] = _trials(reference, pools_, weights, many, seed=500 + i,
                                               families=fams)  # fmt: skip
    return {"audit": out}
