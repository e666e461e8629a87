"""The audit bench's answer pools: every probe answered once per scenario, signed.

A *pool* maps probe id → the signed :class:`~llmseal.audit.exchange.ObservedExchange`
a deployment gives for it. Each deployment is deterministic for a given probe, so
answering every probe once and drawing from the pool is the same as asking the
deployment live, at a fraction of the cost; a mixing router is a fresh draw of
which pool answers, per request.
"""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llmseal.audit.enrollment.reference import Reference
from llmseal.audit.exchange import VALID, ObservedExchange
from llmseal.audit.family import Probe, registry
from llmseal.audit.replay.envelope import LocalRun
from llmseal.core.canonical import canonicalize
from llmseal.core.keys import Ed25519Signer
from llmseal.core.sign import sign_exchange
from llmseal.errors import Error

__all__ = ["Pool", "all_probes", "answer_pool", "break_rates", "cached_pool", "mixed_sender"]

Pool = dict[str, ObservedExchange]


def all_probes(reference: Reference, families: tuple[str, ...]) -> list[Probe]:
    """Every probe the reference has, once (kbf and logprob cycle without end)."""
    rng = random.Random(0)  # noqa: S311 - the order is irrelevant: every probe is asked
    out: list[Probe] = []
    for family in registry().resolve(list(families)):
        seen: set[str] = set()
        for probe in family.probes(reference, rng=rng):
            if probe.id in seen:
                break
            seen.add(probe.id)
            if probe.body is not None:
                out.append(probe)
    return out


def answer_pool(
    model: Path, probes: list[Probe], signer: Ed25519Signer, claim: str, *, n_batch: int = 512,
    n_threads: int = 1, chat_format: str | None = None, system: str | None = None,
    prompt_cache: bool = False,
) -> Pool:  # fmt: skip
    """``model`` under one setting answers every probe (``system``: a hidden system prompt)."""
    run = LocalRun(str(model), n_batch=n_batch, n_threads=n_threads, prompt_cache=prompt_cache,
                   logits_all=True)  # fmt: skip
    if chat_format is not None:
        run._llm.chat_format = chat_format
    pool: Pool = {}
    try:
        for probe in probes:
            assert probe.body is not None
            request = {**probe.body, "model": claim}
            sent = dict(request)
            if system is not None:
                sent["messages"] = [{"role": "system", "content": system}, *request["messages"]]
            pool[probe.id] = _signed(signer, probe, request, run.complete(sent), claim)
    finally:
        run.close()
    return pool


def cached_pool(path: Path, probes: list[Probe], make: Callable[[], Pool]) -> Pool:
    """``make()``'s pool, kept at ``path`` so a rerun of the trials skips the generation.

    A deployment answers each probe deterministically, so a stored pool is the pool a new
    generation would give. A file that does not hold an answer to every probe is made
    again (a killed run never leaves a short pool to be read as a complete one)."""
    wanted = {p.id for p in probes}
    with contextlib.suppress(OSError, ValueError, Error):
        stored = json.loads(path.read_bytes())
        pool = {str(k): ObservedExchange.from_dict(v) for k, v in stored.items()}
        if set(pool) == wanted:
            return pool
    pool = make()
    data = json.dumps({k: v.to_dict() for k, v in pool.items()}).encode()
    partial = path.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(path)  # atomic: readers see the whole pool or none
    return pool


def _signed(
    signer: Ed25519Signer, probe: Probe, request: Mapping[str, Any],
    response: Mapping[str, Any], claim: str,
) -> ObservedExchange:  # fmt: skip
    usage = response.get("usage")
    claims: dict[str, Any] = {"endpoint": "/v1/chat/completions", "status_code": 200}
    if usage is not None:
        claims["usage"] = usage
    receipt = sign_exchange(signer, model_id=claim, request=request, response=response,
                            at=datetime.now(UTC), claims=claims)  # fmt: skip
    body = {**response, "receipt": receipt.to_dict()}
    return ObservedExchange(
        probe_id=probe.id, family=probe.family, method="POST", endpoint=probe.endpoint,
        request=canonicalize(request), status_code=200, response=canonicalize(body), headers=(),
        verification=VALID, receipt_id=receipt.receipt_id, variant=probe.variant,
    )  # fmt: skip


def mixed_sender(
    pools: list[Pool], weights: list[float], rng: random.Random
) -> Callable[[Probe], ObservedExchange]:
    """A router: each request answered by a pool drawn at ``weights``."""

    def send(probe: Probe) -> ObservedExchange:
        if probe.body is None:  # GET /v1/models: descriptive only, not part of the pools
            listing = b'{"object": "list", "data": []}'
            return ObservedExchange(probe.id, probe.family, probe.method, probe.endpoint, b"",
                                    200, listing, (), "unsigned")  # fmt: skip
        pool = rng.choices(pools, weights)[0]
        return pool[probe.id]

    return send


def break_rates(
    reference: Reference, pool: Pool, families: tuple[str, ...]
) -> dict[str, float | None]:
    """Per family, the share of the pool's answers outside the honest envelope (``q``)."""
    from llmseal.audit.stats.sequential import ErrorRates

    out: dict[str, float | None] = {}
    for family in registry().resolve(list(families)):
        hits = seen = 0
        for exchange in pool.values():
            verdict = family.verify(reference, [exchange], ErrorRates())
            if verdict.trace:
                seen += 1
                hits += int(verdict.trace[0].exceeds)
        out[family.name] = round(hits / seen, 3) if seen else None
    return out
