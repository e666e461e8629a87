"""The ``replay`` family: re-execute signed answers under the committed weights (issue 13).

A receipt with ``weight_hash`` says "these answers came from these weights". Anyone
holding the file (checked against the manifest's root) can test that: score every
delivered token teacher-forced under the weights and count the tokens honest
serving would not produce — greedy tokens far below the argmax, sampled tokens the
signed sampler would almost never draw (:mod:`llmseal.audit.replay`).

* **enroll** runs the weights locally under each honest variation (``LocalRun``
  sources: ``n_batch`` 512/8/1, 1–2 threads) and counts honest exceedances;
* **probes** are ordinary chat questions, greedy and sampled, but the family is
  passive first: it replays *any* signed chat completion whose receipt claims the
  committed ``weight_hash`` (``llmseal audit replay`` reads the evidence store);
* **verify** needs the weights: a family not bound to them (:meth:`bind`) says
  UNDETERMINED, as does a reference without an envelope.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from llmseal.audit.enrollment.reference import Reference
from llmseal.audit.exchange import ObservedExchange
from llmseal.audit.family import EnrollOptions, Probe, Source
from llmseal.audit.replay.envelope import (
    GAP,
    TAU,
    VARIANTS,
    Tally,
    probe_bodies,
    score_answer,
)
from llmseal.audit.replay.scoring import Scorer
from llmseal.audit.replay.verify import FAMILY_NAME, from_exchange, replay_verdict
from llmseal.audit.stats.sequential import Envelope, ErrorRates
from llmseal.audit.stats.verdict import Verdict
from llmseal.errors import AuditError, Error
from llmseal.weights import WeightManifest, check_file

__all__ = ["FAMILY", "FLOOR", "ReplayFamily"]

FLOOR = 0.002  # per token: never assume honest serving exceeds less often than this
MAX_TOKENS = 24
SEEDS = (1,)


class ReplayFamily:
    """Unbound (the registry's instance) or bound to a weights file by :meth:`bind`."""

    def __init__(self, weights: Path | None = None, manifest: WeightManifest | None = None):
        self._weights = weights
        self._manifest = manifest
        self._scorer: Scorer | None = None

    @property
    def name(self) -> str:
        return FAMILY_NAME

    @property
    def manifest(self) -> WeightManifest | None:
        return self._manifest

    @property
    def weights(self) -> Path | None:
        return self._weights

    def bind(self, weights: str | Path, manifest: WeightManifest) -> ReplayFamily:
        """A family that replays with ``weights``; WeightsMismatchError unless it is committed."""
        check_file(weights, manifest)
        return ReplayFamily(Path(weights), manifest)

    def scorer(self) -> Scorer | None:
        if self._weights is None:
            return None
        if self._scorer is None:
            reference = VARIANTS[0]
            self._scorer = Scorer(self._weights, n_batch=reference["n_batch"],
                                  n_threads=reference["n_threads"])  # fmt: skip
        return self._scorer

    def enroll(self, sources: Sequence[Source], options: EnrollOptions) -> Mapping[str, Any]:
        scorer = self.scorer()
        if scorer is None or self._manifest is None:
            raise AuditError("replay enrollment needs the committed weights (bind them first)")
        bodies = probe_bodies(MAX_TOKENS, SEEDS)
        tally = Tally([0, 0], [0, 0])
        for source in sources:
            if source.kind != "weights":
                raise AuditError(f"replay enrolls from local runs of weights, not {source.kind}")
            for body in bodies:
                answer = source.ask("POST", "/v1/chat/completions", body)
                if answer.status != 200:
                    raise AuditError(f"{source.label} failed a probe (HTTP {answer.status})")
                try:
                    score, item = score_answer(scorer, body, answer.body)
                except Error as exc:
                    raise AuditError(f"{source.label}: cannot replay its answer: {exc}") from exc
                tally.add(score, item.params)
        return self.section(tally, bodies, [s.label for s in sources])

    def section(
        self, tally: Tally, bodies: Sequence[Mapping[str, Any]], labels: Sequence[str]
    ) -> dict[str, Any]:
        assert self._manifest is not None
        return {
            "weight_hash": self._manifest.weight_hash,
            "file_sha256": self._manifest.file_sha256,
            "gap": GAP,
            "tau": TAU,
            "scorer": dict(VARIANTS[0]),
            "variations": list(labels),
            "greedy": Envelope(tally.greedy[0], tally.greedy[1], floor=FLOOR).to_dict(),
            "sampled": Envelope(tally.sampled[0], tally.sampled[1], floor=FLOOR).to_dict(),
            "max_honest_gap": round(tally.max_greedy_gap, 6),
            "probes": [dict(b) for b in bodies],
        }

    def probes(
        self,
        reference: Reference,
        *,
        rng: random.Random,
        history: Sequence[ObservedExchange] = (),
    ) -> Iterator[Probe]:
        section = reference.section(FAMILY_NAME) or {}
        bodies = list(section.get("probes") or probe_bodies(MAX_TOKENS, SEEDS))
        order = list(range(len(bodies)))
        rng.shuffle(order)
        for i in order:
            yield Probe(id=f"replay:{i}", family=FAMILY_NAME, body=bodies[i])

    def verify(
        self, reference: Reference, exchanges: Sequence[ObservedExchange], rates: ErrorRates
    ) -> Verdict:
        section = reference.section(FAMILY_NAME)
        bound = self._manifest.weight_hash if self._manifest else None
        scorer = self.scorer() if section and section.get("weight_hash") == bound else None
        return replay_verdict(section, [from_exchange(e) for e in exchanges], rates, scorer)


FAMILY = ReplayFamily()
