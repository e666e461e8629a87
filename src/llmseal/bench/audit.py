"""Text audits (kbf, logprob, stack) on the real models: queries to a decision, false DIFF.

The reference is enrolled from the SmolLM2 weights under three engine settings
(``n_batch`` 512 and 8, prompt cache on; one thread: on two shared cores ggml's
spinning threads make two much slower): ``n_batch=1`` — the noisiest
honest variation measured (``notes/model-audits.md``) — is held *out*, so the
false-DIFF rate is measured on an honest deployment the envelope never saw, beside
one it covers. Each scenario's answers to every probe are generated once,
in-process with llama.cpp (the server's code path) and signed with a throwaway
key claiming SmolLM2; the trials then run the real audit loop
(:func:`~llmseal.audit.runner.run_audit`) over random probe orders — and, for the
20% mixes, a fresh draw per probe of which model answers — and report how many
queries each decision took (median, p95) and how often each verdict came out.
"""

from __future__ import annotations

import os
import random
import statistics
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llmseal.audit.enroll import enroll, weight_sources
from llmseal.audit.exchange import VALID, ObservedExchange
from llmseal.audit.family import EnrollOptions, Probe, Source, registry
from llmseal.audit.reference import Reference
from llmseal.audit.replay.envelope import LocalRun
from llmseal.audit.runner import pick_references, run_audit
from llmseal.audit.sequential import ErrorRates
from llmseal.audit.verdict import Outcome
from llmseal.core.canonical import canonicalize
from llmseal.core.keys import Ed25519Signer
from llmseal.core.sign import sign_exchange
from llmseal.devmodels import cache_dir, gemma_path, requantized, smollm2_path
from llmseal.errors import Error

__all__ = ["ENROLLED", "HIDDEN", "run"]

CLAIM = "smollm2-135m-instruct"
FAMILIES = ("kbf", "logprob", "stack")
ENROLLED = (
    {"n_batch": 512, "n_threads": 1},
    {"n_batch": 8, "n_threads": 1},
    {"n_batch": 512, "n_threads": 1, "prompt_cache": True},
)
HIDDEN = "You are Mira, a cheerful assistant for a travel company. Keep answers short."
RATES = ErrorRates()
Pool = dict[str, ObservedExchange]


def _reference(probes: int) -> Reference:
    path = cache_dir() / f"audit-bench-ref-v1-{probes}.json"
    if path.is_file():
        try:
            return Reference.from_json(path.read_bytes())
        except (OSError, Error):
            pass
    sources: list[Source] = list(weight_sources(smollm2_path(), ENROLLED))
    try:
        options = EnrollOptions(model_id=CLAIM, seed=5, probes=probes)
        ref = enroll(sources, registry().resolve(FAMILIES), options, at=datetime.now(UTC))
    finally:
        for source in sources:
            if isinstance(source, LocalRun):
                source.close()
    path.write_bytes(ref.to_json())
    return ref


def _probes(reference: Reference) -> list[Probe]:
    rng = random.Random(0)  # noqa: S311 - the order is irrelevant: every probe is asked
    out: list[Probe] = []
    for family in registry().resolve(FAMILIES):
        seen: set[str] = set()
        for probe in family.probes(reference, rng=rng):  # kbf/logprob cycle without end
            if probe.id in seen:
                break
            seen.add(probe.id)
            if probe.body is not None:
                out.append(probe)
    return out


def _pool(
    model: Path, probes: list[Probe], signer: Ed25519Signer, *, n_batch: int = 512,
    chat_format: str | None = None, system: str | None = None, prompt_cache: bool = False,
) -> Pool:  # fmt: skip
    run = LocalRun(str(model), n_batch=n_batch, n_threads=1, prompt_cache=prompt_cache,
                   logits_all=True)  # fmt: skip
    if chat_format is not None:
        run._llm.chat_format = chat_format
    pool: Pool = {}
    try:
        for probe in probes:
            assert probe.body is not None
            request = {**probe.body, "model": CLAIM}
            sent = dict(request)
            if system is not None:
                sent["messages"] = [{"role": "system", "content": system}, *request["messages"]]
            response = run.complete(sent)
            pool[probe.id] = _signed(signer, probe, request, response)
    finally:
        run.close()
    return pool


def _signed(
    signer: Ed25519Signer, probe: Probe, request: Mapping[str, Any], response: Mapping[str, Any]
) -> ObservedExchange:
    usage = response.get("usage")
    claims: dict[str, Any] = {"endpoint": "/v1/chat/completions", "status_code": 200}
    if usage is not None:
        claims["usage"] = usage
    receipt = sign_exchange(signer, model_id=CLAIM, request=request, response=response,
                            at=datetime.now(UTC), claims=claims)  # fmt: skip
    body = {**response, "receipt": receipt.to_dict()}
    return ObservedExchange(
        probe_id=probe.id, family=probe.family, method="POST", endpoint=probe.endpoint,
        request=canonicalize(request), status_code=200, response=canonicalize(body), headers=(),
        verification=VALID, receipt_id=receipt.receipt_id, variant=probe.variant,
    )  # fmt: skip


def _sender(pools: list[Pool], weights: list[float], rng: random.Random) -> Callable[..., Any]:
    def send(probe: Probe) -> ObservedExchange:
        if probe.body is None:  # GET /v1/models: descriptive only, not part of the pools
            listing = b'{"object": "list", "data": []}'
            return ObservedExchange(probe.id, probe.family, probe.method, probe.endpoint, b"",
                                    200, listing, (), "unsigned")  # fmt: skip
        pool = rng.choices(pools, weights)[0]
        return pool[probe.id]

    return send


def _trials(
    reference: Reference, pools: list[Pool], weights: list[float], trials: int, seed: int
) -> dict[str, Any]:
    families = registry().resolve(FAMILIES)
    refs = pick_references([reference], CLAIM)
    rng = random.Random(seed)  # noqa: S311 - reproducible trials, not secrets
    results: list[tuple[Outcome, int, tuple[str, ...]]] = []
    for _ in range(trials):
        run = run_audit(families, refs, _sender(pools, weights, rng), budget=300, rates=RATES,
                        rng=random.Random(rng.random()))  # noqa: S311  # fmt: skip
        diff = tuple(v.family for v in run.verdicts if v.outcome is Outcome.DIFF)
        results.append((run.outcome, run.queries, diff))
    decided = sorted(q for o, q, _ in results if o is Outcome.DIFF)
    by_family: dict[str, int] = {}
    for _, _, diff in results:
        for name in diff:
            by_family[name] = by_family.get(name, 0) + 1
    return {
        "trials": trials,
        "diff": sum(o is Outcome.DIFF for o, _, _ in results),
        "same": sum(o is Outcome.SAME for o, _, _ in results),
        "undetermined": sum(o is Outcome.UNDETERMINED for o, _, _ in results),
        "queries_to_diff_median": statistics.median(decided) if decided else None,
        "queries_to_diff_p95": decided[min(len(decided) - 1, int(0.95 * len(decided)))]
        if decided else None,
        "queries_median": statistics.median(q for _, q, _ in results),
        "diff_by_family": by_family,
    }  # fmt: skip


def run(*, quick: bool) -> dict[str, Any]:
    # OpenMP workers that spin while waiting crawl on a shared machine (before libgomp loads).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    probes, trials = (8, 20) if quick else (24, 50)
    reference = _reference(probes)
    asked = _probes(reference)
    signer = Ed25519Signer.generate("bench-audit")
    smol = smollm2_path()
    pools: dict[str, Pool] = {
        "honest_covered": _pool(smol, asked, signer, prompt_cache=True),
        "honest_n_batch_1": _pool(smol, asked, signer, n_batch=1),
        "q4_0": _pool(requantized("Q4_0"), asked, signer),
        "q2_k": _pool(requantized("Q2_K"), asked, signer),
        "gemma": _pool(gemma_path(), asked, signer, chat_format="gemma"),
        "hidden_prompt": _pool(smol, asked, signer, system=HIDDEN),
    }
    out: dict[str, Any] = {
        "probes": {f: len((reference.section(f) or {}).get("probes", ())) for f in FAMILIES},
        "null_rates": {f: (reference.section(f) or {}).get("envelope") for f in ("kbf", "logprob")},
        "covers": list(reference.covers),
        "alpha": RATES.alpha, "beta": RATES.beta,
    }  # fmt: skip
    for i, (name, pool) in enumerate(pools.items()):
        out[name] = _trials(reference, [pool], [1.0], trials, seed=100 + i)
    honest = pools["honest_covered"]
    for i, name in enumerate(("q2_k", "gemma", "hidden_prompt")):
        out[f"mix20_{name}"] = _trials(reference, [honest, pools[name]], [0.8, 0.2], trials,
                                       seed=200 + i)  # fmt: skip
    return {"audit": out}
