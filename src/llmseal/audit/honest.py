"""Measuring honest variation at enrollment: collect answers, select stable probes, count.

Every text family (``kbf``, ``logprob``, ``stack``) enrolls the same way:

1. :func:`collect` asks every honest :class:`~llmseal.audit.family.Source` the
   family's candidate probes. An endpoint is asked ``repeats`` times, each pass in
   a fresh random order (a server that reuses its prompt cache answers a probe
   differently after a different predecessor: that is honest variation too); each
   pass is one *variation*. Local runs of the weights are one variation each.
2. The first variation is the *primary*: its answers are the reference answers.
   Every other variation's answer to a probe either agrees with the primary (within
   the family's rule) or *exceeds*.
3. :func:`stable_envelope` keeps the probes no honest variation exceeded on, and
   counts the envelope **without** fitting it to its own data: for each variation
   ``v`` in turn, probes are selected as stable on every *other* variation and ``v``'s
   exceedances on them are counted (leave-one-variation-out). The pooled count
   estimates how often a not-yet-seen honest variation breaks a probe that looked
   stable — the rate the audit's null hypothesis is then bounded by
   (Clopper–Pearson, :class:`~llmseal.audit.sequential.Envelope`). With a single
   variation there is nothing to measure: no envelope, and the family's verdicts
   stay UNDETERMINED.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmseal.audit.family import EnrollOptions, Source, SourceAnswer
from llmseal.audit.sequential import Envelope
from llmseal.errors import AuditError

__all__ = ["Collected", "collect", "prompt_tokens", "stable_envelope", "usage_counts"]


@dataclass(frozen=True, slots=True)
class Collected:
    """Answers per variation label, in probe order (None: the source could not answer)."""

    labels: tuple[str, ...]
    answers: Mapping[str, tuple[SourceAnswer | None, ...]]

    @property
    def primary(self) -> tuple[SourceAnswer | None, ...]:
        return self.answers[self.labels[0]]


def collect(
    sources: Sequence[Source],
    bodies: Sequence[Mapping[str, Any] | None],
    options: EnrollOptions,
    *,
    method: str = "POST",
    endpoint: str = "/v1/chat/completions",
    rng: random.Random | None = None,
) -> Collected:
    """Ask every source every body (see the module docstring); ``model`` set to the claim."""
    if not sources:
        raise AuditError("enrollment needs at least one honest source")
    rng = rng or random.Random(options.seed)  # noqa: S311 - a seeded, reproducible order
    labels: list[str] = []
    answers: dict[str, tuple[SourceAnswer | None, ...]] = {}
    for source in sources:
        passes = max(1, options.repeats) if source.kind == "endpoint" else 1
        for n in range(passes):
            label = source.label if passes == 1 else f"{source.label}#{n + 1}"
            order = list(range(len(bodies)))
            rng.shuffle(order)
            got: list[SourceAnswer | None] = [None] * len(bodies)
            for i in order:
                body = bodies[i]
                sent = None if body is None else {**body, "model": options.model_id}
                try:
                    got[i] = source.ask(method, endpoint, sent)
                except AuditError:
                    got[i] = None
            labels.append(label)
            answers[label] = tuple(got)
    return Collected(tuple(labels), answers)


def stable_envelope(
    exceed: Mapping[str, Sequence[bool]],
    usable: Sequence[bool],
    *,
    floor: float = 0.01,
) -> tuple[list[int], Envelope | None, dict[str, list[int]]]:
    """(stable probe indices, envelope or None, per-variation ``[exceed, total]``).

    ``exceed[label][p]``: variation ``label`` disagreed with the primary on probe ``p``
    (the primary itself is not in ``exceed``); ``usable[p]``: the primary gave an
    answer the family can score against.
    """
    labels = list(exceed)
    candidates = [p for p, ok in enumerate(usable) if ok]
    stable = [p for p in candidates if not any(exceed[v][p] for v in labels)]
    if not labels:
        return stable, None, {}
    per: dict[str, list[int]] = {}
    k = n = 0
    for held in labels:
        others = [v for v in labels if v != held]
        chosen = [p for p in candidates if not any(exceed[v][p] for v in others)]
        hits = sum(1 for p in chosen if exceed[held][p])
        per[held] = [hits, len(chosen)]
        k += hits
        n += len(chosen)
    return stable, Envelope(k, n, floor=floor), per


def prompt_tokens(answer: SourceAnswer | None) -> int | None:
    """``usage.prompt_tokens`` of a chat answer, if it has one."""
    body = answer.body if answer is not None and answer.status == 200 else None
    usage = body.get("usage") if isinstance(body, dict) else None
    value = usage.get("prompt_tokens") if isinstance(usage, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def usage_counts(got: Collected) -> list[int]:
    """``[mismatches, comparisons]`` of ``usage.prompt_tokens`` against the primary.

    The prompt token count of a request is fixed by the model's tokenizer and chat
    template, so honest variations agree on it; ``stack`` pools these counts.
    """
    primary = [prompt_tokens(a) for a in got.primary]
    k = n = 0
    for label in got.labels[1:]:
        for want, answer in zip(primary, got.answers[label], strict=True):
            seen = prompt_tokens(answer)
            if want is None or seen is None:
                continue
            n += 1
            k += int(seen != want)
    return [k, n]
