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
3. Where sources give logprobs, a *margin screen* (:class:`MarginScreen`) drops probes
   whose greedy answer wins by less than ``EnrollOptions.margin`` nats: an unseen
   honest kernel could flip them. This is what makes the envelope small and still
   honest for deployments enrollment did not run (``n_batch=1`` flipped only
   answers with margins <= 0.15 here).
4. :func:`stable_envelope` keeps the probes no honest variation exceeded on, and
   counts the envelope **without** fitting it to its own data: for each variation
   ``v`` in turn, probes are selected as stable on every *other* variation and ``v``'s
   exceedances on them are counted (leave-one-variation-out). The pooled count
   estimates how often a not-yet-seen honest variation breaks a probe that looked
   stable — the rate the audit's null hypothesis is then bounded by
   (Clopper–Pearson, :class:`~llmseal.audit.stats.sequential.Envelope`). With a single
   variation there is nothing to measure: no envelope, and the family's verdicts
   stay UNDETERMINED.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmseal.audit.family import EnrollOptions, Source, SourceAnswer
from llmseal.audit.stats.sequential import Envelope
from llmseal.errors import AuditError

__all__ = [
    "PRIMARY",
    "Collected",
    "MarginScreen",
    "collect",
    "margin",
    "margin_screen",
    "prompt_tokens",
    "stable_envelope",
    "token_margins",
    "usage_counts",
]


PRIMARY = ""
"""The name :func:`stable_envelope` gives the primary variation in a ``screen`` call."""


@dataclass(frozen=True, slots=True)
class Collected:
    """Answers per variation label, in probe order (None: the source could not answer)."""

    labels: tuple[str, ...]
    answers: Mapping[str, tuple[SourceAnswer | None, ...]]

    @property
    def primary(self) -> tuple[SourceAnswer | None, ...]:
        return self.answers[self.labels[0]]

    def of(self, label: str) -> tuple[SourceAnswer | None, ...]:
        """A variation's answers (:data:`PRIMARY` names the first)."""
        return self.answers[self.labels[0] if label == PRIMARY else label]


def collect(
    sources: Sequence[Source],
    bodies: Sequence[Mapping[str, Any] | None],
    options: EnrollOptions,
    *,
    method: str = "POST",
    endpoint: str = "/v1/chat/completions",
    rng: random.Random | None = None,
    weights_extra: Mapping[str, Any] | None = None,
) -> Collected:
    """Ask every source every body (see the module docstring); ``model`` set to the claim.

    ``weights_extra`` is merged into the bodies sent to local runs of the weights only
    (``kbf`` asks them for top-2 logprobs to measure each answer's margin; an endpoint is
    asked exactly what an audit sends, since it may refuse logprobs).
    """
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
                extra = weights_extra if source.kind == "weights" and weights_extra else {}
                sent = None if body is None else {**body, **extra, "model": options.model_id}
                try:
                    got[i] = source.ask(method, endpoint, sent)
                except AuditError:
                    got[i] = None
            if method == "POST" and any(b is not None for b in bodies) and not any(got):
                # One refused request drops one probe; a source that answers none (a dead
                # worker process, an endpoint gone) would silently empty the reference.
                raise AuditError(f"{label} answered none of the {len(bodies)} enrollment requests")
            labels.append(label)
            answers[label] = tuple(got)
    return Collected(tuple(labels), answers)


def stable_envelope(
    exceed: Mapping[str, Sequence[bool]],
    usable: Sequence[bool],
    *,
    floor: float = 0.01,
    screen: Callable[[Collection[str]], Sequence[bool]] | None = None,
) -> tuple[list[int], Envelope | None, dict[str, list[int]]]:
    """(stable probe indices, envelope or None, per-variation ``[exceed, total]``).

    ``exceed[label][p]``: variation ``label`` disagreed with the primary on probe ``p``
    (the primary itself is not in ``exceed``); ``usable[p]``: the primary gave an
    answer the family can score against. ``screen(labels)``, when given, is a further
    per-probe selection measured on the variations ``labels`` only (the margin screen:
    with a variation held out, its own logprobs must not select the probes it is then
    counted on).
    """
    labels = list(exceed)

    def candidates(seen: Collection[str]) -> list[int]:
        passed = screen(seen) if screen is not None else [True] * len(usable)
        return [p for p, ok in enumerate(usable) if ok and passed[p]]

    everyone = [*labels, PRIMARY]
    stable = [p for p in candidates(everyone) if not any(exceed[v][p] for v in labels)]
    if not labels:
        return stable, None, {}
    per: dict[str, list[int]] = {}
    k = n = 0
    for held in labels:
        others = [v for v in labels if v != held]
        chosen = [p for p in candidates([*others, PRIMARY])
                  if not any(exceed[v][p] for v in others)]  # fmt: skip
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


def token_margins(body: Any) -> list[tuple[str, float]] | None:
    """Each answer token with its margin (top-1 minus top-2 logprob), or None without logprobs.

    The margin is how far kernel noise would have to move the logits to change the
    greedy choice: honest engine variations were measured to move first-token
    logprobs by at most ~0.25 nats (``notes/model-audits.md`` section 4a), so a token
    chosen by a margin well above that is stable on deployments enrollment never saw.
    """
    if not isinstance(body, dict):
        return None
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return None
    logprobs = choices[0].get("logprobs")
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if not isinstance(content, list) or not content:
        return None
    out: list[tuple[str, float]] = []
    for item in content:
        if not isinstance(item, dict) or not isinstance(item.get("token"), str):
            return None
        values = sorted(
            (float(t["logprob"]) for t in item.get("top_logprobs") or ()
             if isinstance(t, dict) and isinstance(t.get("logprob"), int | float)),
            reverse=True,
        )  # fmt: skip
        gap = values[0] - values[1] if len(values) >= 2 else math.inf
        out.append((item["token"], gap))
    return out


def margin(answer: SourceAnswer | None, upto: int | None = None) -> float | None:
    """The smallest margin over the answer's tokens that start before character ``upto``
    (all tokens when None); None when the answer has no logprobs."""
    margins = token_margins(answer.body) if answer is not None and answer.status == 200 else None
    if margins is None:
        return None
    smallest, at = math.inf, 0
    for token, gap in margins:
        if upto is not None and at > upto:
            break
        smallest = min(smallest, gap)
        at += len(token)
    return smallest


@dataclass(frozen=True, slots=True)
class MarginScreen:
    """The margin selection of :func:`stable_envelope`'s ``screen``: a probe passes when
    its smallest answer margin over the given variations is at least ``threshold``
    (or no variation measured one: an endpoint without logprobs)."""

    got: Collected
    margins: Mapping[str, Sequence[float | None]]
    threshold: float

    def least(self, labels: Collection[str]) -> list[float | None]:
        names = [self.got.labels[0] if label == PRIMARY else label for label in labels]
        out: list[float | None] = []
        for p in range(len(self.got.primary)):
            seen = [m for name in names if (m := self.margins[name][p]) is not None]
            out.append(min(seen) if seen else None)
        return out

    def __call__(self, labels: Collection[str]) -> list[bool]:
        return [m is None or m >= self.threshold for m in self.least(labels)]


def margin_screen(
    got: Collected, margins: Mapping[str, Sequence[float | None]], threshold: float
) -> MarginScreen:
    """The screen keeping probes whose answers are chosen by at least ``threshold`` nats."""
    return MarginScreen(got, margins, threshold)
