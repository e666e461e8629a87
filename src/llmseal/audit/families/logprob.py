"""The ``logprob`` family: first-token top-k log-probabilities against the honest envelope.

Each probe is an open prompt answered with one token at temperature 0 and the top-k
log-probabilities (``logprobs: true, top_logprobs: k``). The per-exchange score is
the mean absolute difference, over the reference's top-k tokens, between the
observed and the reference log-probabilities (a token missing from the observed
top-k counts at the observed k-th value: a bound the true value is below). It
*exceeds* above ``tau`` nats, a fixed constant (honest kernel noise shifts these by
hundredths of a nat; a requantized copy or a hidden system prompt by tenths).

Fallback: an endpoint that returns no logprobs is probed with the same prompts
without them, and an answer exceeds when its one greedy token differs from the
reference's (a first-token flip). Both rules have their own envelope, measured at
enrollment as :mod:`llmseal.audit.enrollment.honest` describes; a verdict over answers of both
kinds runs at the larger honest rate.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from llmseal.audit.enrollment.honest import (
    collect,
    margin,
    margin_screen,
    prompt_tokens,
    stable_envelope,
    usage_counts,
)
from llmseal.audit.enrollment.reference import Reference
from llmseal.audit.exchange import ObservedExchange
from llmseal.audit.family import EnrollOptions, Probe, Source, SourceAnswer
from llmseal.audit.probes.probebank import first_token_prompts
from llmseal.audit.probes.stealth import dresser, probe_body, sent_params
from llmseal.audit.stats.bernoulli import Score, sequential_verdict
from llmseal.audit.stats.sequential import Envelope, ErrorRates
from llmseal.audit.stats.verdict import Outcome, Verdict

__all__ = ["FAMILY", "LogprobFamily", "distance", "first_token"]

NAME = "logprob"
TAU = 0.2


def first_token(body: Any) -> tuple[str | None, dict[str, float] | None]:
    """(the answer's first token text, its top-k ``{token: logprob}`` or None)."""
    if not isinstance(body, dict):
        return None, None
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return None, None
    choice = choices[0]
    message = choice.get("message")
    text = message.get("content") if isinstance(message, dict) else None
    logprobs = choice.get("logprobs")
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if not isinstance(content, list) or not content or not isinstance(content[0], dict):
        return (text if isinstance(text, str) else None), None
    head = content[0]
    top: dict[str, float] = {}
    for item in head.get("top_logprobs") or ():
        if isinstance(item, dict) and isinstance(item.get("token"), str):
            value = item.get("logprob")
            if isinstance(value, int | float) and math.isfinite(value):
                top.setdefault(item["token"], float(value))
    token = head.get("token") if isinstance(head.get("token"), str) else text
    return token, (top or None)


def distance(reference: Mapping[str, float], observed: Mapping[str, float]) -> float:
    """Mean |Δ logprob| over the reference's tokens (missing: the observed minimum)."""
    if not reference or not observed:
        return math.inf
    floor = min(observed.values())
    return sum(abs(observed.get(t, floor) - lp) for t, lp in reference.items()) / len(reference)


def _parts(answer: SourceAnswer | None) -> tuple[str | None, dict[str, float] | None]:
    if answer is None or answer.status != 200:
        return None, None
    return first_token(answer.body)


class LogprobFamily:
    @property
    def name(self) -> str:
        return NAME

    def enroll(self, sources: Sequence[Source], options: EnrollOptions) -> Mapping[str, Any]:
        prompts = first_token_prompts(options.seed, options.probes)
        k = options.top_logprobs
        dress = dresser(options, NAME)
        bodies = [dress([{"role": "user", "content": p}], _params(k)) for p in prompts]
        # Only the first token is read, and its distribution is fixed before the second is
        # drawn: local runs stop there (a stealth probe's 64-128 tokens would cost ~100x),
        # an endpoint is asked exactly what the audit will send.
        got = collect(sources, bodies, options, rng=random.Random(f"logprob:{options.seed}"),  # noqa: S311 - a seeded, reproducible order
                      weights_extra={"max_tokens": 1})  # fmt: skip
        primary = [_parts(a) for a in got.primary]
        lp_usable = [top is not None for _, top in primary]
        flip_usable = [tok is not None for tok, _ in primary]
        lp_exceed: dict[str, list[bool]] = {}
        flip_exceed: dict[str, list[bool]] = {}
        for label in got.labels[1:]:
            seen = [_parts(a) for a in got.answers[label]]
            lp_exceed[label] = [
                ref is None or obs is None or distance(ref, obs) > TAU
                for (_, ref), (_, obs) in zip(primary, seen, strict=True)
            ]
            flip_exceed[label] = [
                a is None or a != b for (a, _), (b, _) in zip(primary, seen, strict=True)
            ]
        # A first-token flip is only as stable as the token's margin (honest.token_margins).
        margins = {label: [margin(a, 0) for a in got.answers[label]] for label in got.labels}
        screen = margin_screen(got, margins, options.margin)
        lp_stable, lp_env, lp_per = stable_envelope(lp_exceed, lp_usable)
        flip_stable, flip_env, flip_per = stable_envelope(flip_exceed, flip_usable, screen=screen)
        keep = lp_stable if any(lp_usable) else flip_stable
        flips = set(flip_stable)
        probes = [
            {"id": f"logprob:{i}", "messages": bodies[i]["messages"], "token": primary[i][0],
             "top": primary[i][1], "prompt_tokens": prompt_tokens(got.primary[i]),
             "flip": i in flips, **sent_params(bodies[i])}
            for i in keep
        ]  # fmt: skip
        return {
            "tau": TAU, "top_logprobs": k, "candidates": len(bodies), "probes": probes,
            "style": options.style, "margin": options.margin,
            "envelope": None if lp_env is None or not any(lp_usable) else lp_env.to_dict(),
            "flip_envelope": None if flip_env is None else flip_env.to_dict(),
            "variations": {"logprob": lp_per, "flip": flip_per},
            "usage": usage_counts(got),
        }  # fmt: skip

    def probes(
        self, reference: Reference, *, rng: random.Random, history: Sequence[ObservedExchange] = ()
    ) -> Iterator[Probe]:
        section = reference.section(NAME) or {}
        items = list(section.get("probes", ()))
        k = int(section.get("top_logprobs", 5))
        while items:  # pass after pass, each in a fresh order (as kbf)
            rng.shuffle(items)
            for item in items:
                # Live: ``history`` grows as the runner sends; no logprobs once → fall back.
                k_now = 0 if _no_logprobs(history) or section.get("envelope") is None else k
                body = probe_body(item, _params(k_now))
                if not k_now:
                    body = {n: v for n, v in body.items() if n not in ("logprobs", "top_logprobs")}
                yield Probe(id=str(item["id"]), family=NAME, body=body,
                            variant=0 if k_now else 1)  # fmt: skip

    def verify(
        self, reference: Reference, exchanges: Sequence[ObservedExchange], rates: ErrorRates
    ) -> Verdict:
        section = reference.section(NAME)
        if section is None:
            return Verdict(NAME, Outcome.UNDETERMINED, 0.0, 1.0, 0.0, 0, (),
                           "the reference has no logprob section")  # fmt: skip
        tau = float(section.get("tau", TAU))
        items = {str(p["id"]): p for p in section.get("probes", ())}
        own = [e for e in exchanges if e.family == NAME]
        kinds = {_kind(e) for e in own if e.signed} or {"logprob"}
        envelopes = [_envelope(section.get("envelope" if k == "logprob" else "flip_envelope"))
                     for k in kinds]  # fmt: skip
        envelope = None if None in envelopes else max(envelopes, key=_rate)

        def score(exchange: ObservedExchange) -> Score | None:
            item = items.get(exchange.probe_id)
            if item is None:
                return None
            token, top = first_token(exchange.content())
            ref_top = item.get("top")
            if top is not None and isinstance(ref_top, dict) and ref_top:
                d = distance({str(t): float(v) for t, v in ref_top.items()}, top)
                return Score(d, tau, d > tau)
            if not item.get("flip", True):
                return None  # a first token too close to call on honest kernels: no flip test
            if token is None:
                return Score(1.0, 0.5, True)  # an answer with no token at all
            flipped = token != item.get("token")
            return Score(float(flipped), 0.5, flipped)

        details = {"probes": len(items), "kinds": sorted(kinds)}
        return sequential_verdict(NAME, own, score, envelope, rates, details=details)


def _params(top_logprobs: int) -> dict[str, Any]:
    body: dict[str, Any] = {"max_tokens": 1, "temperature": 0}
    if top_logprobs:
        body.update(logprobs=True, top_logprobs=top_logprobs)
    return body


def _kind(exchange: ObservedExchange) -> str:
    _, top = first_token(exchange.content())
    return "logprob" if top is not None else "flip"


def _no_logprobs(history: Sequence[ObservedExchange]) -> bool:
    return any(e.family == NAME and e.signed and e.variant == 0 and _kind(e) == "flip"
               for e in history)  # fmt: skip


def _envelope(raw: Any) -> Envelope | None:
    return Envelope.from_dict(raw) if isinstance(raw, dict) else None


def _rate(envelope: Envelope | None) -> float:
    return 1.0 if envelope is None else envelope.null_rate


FAMILY = LogprobFamily()
