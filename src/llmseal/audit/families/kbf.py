"""The ``kbf`` family: short numeric answers at temperature 0, scored with a tolerance.

Knowledge-boundary probing (KBF, arXiv 2605.29524) in llmseal's own form: each probe
is one ordinary chat question with a single numeric answer (:mod:`llmseal.audit.probes.probebank`).
Enrollment records what the reference model answers (the *first* number in its
reply), drops the answers a local run of the weights chose by a narrow margin
(:class:`~llmseal.audit.enrollment.honest.MarginScreen`), and keeps the probes every honest
variation answers the same; the envelope
is the leave-one-variation-out rate at which an honest variation still disagrees
(:mod:`llmseal.audit.enrollment.honest`). In an audit an answer *exceeds* when it has no
number or a number outside the tolerance (``relative`` of the reference's, at least
``absolute``); the exceedances feed the anytime-valid binomial test against the
Clopper–Pearson bound of the honest rate. Text only: works on every endpoint.

Probes are asked pass after pass over the bank, each pass in a fresh private
order. For one deployment a probe's answer is (nearly) fixed, so draws from the
bank test the share of the bank on which this deployment differs from the
reference — the quantity the envelope bounds for honest deployments.
"""

from __future__ import annotations

import math
import random
import re
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
from llmseal.audit.probes.probebank import numeric_questions
from llmseal.audit.probes.stealth import dresser, probe_body, sent_params
from llmseal.audit.stats.bernoulli import Score, sequential_verdict
from llmseal.audit.stats.sequential import Envelope, ErrorRates
from llmseal.audit.stats.verdict import Outcome, Verdict

__all__ = ["FAMILY", "KbfFamily", "answer_number", "close"]

NAME = "kbf"
MAX_TOKENS = 16
PARSE = "first-number"
"""New references read the answer's first number: what follows it (a second sentence the
model adds) is where honest kernel noise changes greedy text most."""
RELATIVE = 0.005
ABSOLUTE = 0.0
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def answer_number(text: str, parse: str = "last-number") -> float | None:
    """The first or last number in ``text`` (thousands separators allowed), or None."""
    found = _number_span(text, parse)
    if found is None:
        return None
    try:
        return float(text[found[0] : found[1]].replace(",", "").rstrip(","))
    except ValueError:
        return None


def _number_span(text: str, parse: str) -> tuple[int, int] | None:
    spans = [m.span() for m in _NUMBER.finditer(text)]
    if not spans:
        return None
    return spans[0] if parse == "first-number" else spans[-1]


def close(value: float | None, expected: float, relative: float, absolute: float) -> bool:
    return value is not None and abs(value - expected) <= max(absolute, relative * abs(expected))


def _content(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return None
    message = choices[0].get("message")
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else None


def _number(answer: SourceAnswer | None) -> float | None:
    if answer is None or answer.status != 200:
        return None
    text = _content(answer.body)
    return None if text is None else answer_number(text, PARSE)


def _number_margin(answer: SourceAnswer | None) -> float | None:
    """The answer's margin over the tokens up to (and one past) its first number."""
    text = _content(answer.body) if answer is not None and answer.status == 200 else None
    span = None if text is None else _number_span(text, PARSE)
    return None if span is None else margin(answer, span[1])


class KbfFamily:
    @property
    def name(self) -> str:
        return NAME

    def enroll(self, sources: Sequence[Source], options: EnrollOptions) -> Mapping[str, Any]:
        questions = numeric_questions(options.seed, options.probes,
                                      varied=options.style == "stealth")  # fmt: skip
        dress = dresser(options, NAME)
        bodies = [dress([{"role": "user", "content": q}], _params(MAX_TOKENS)) for q in questions]
        got = collect(sources, bodies, options, rng=random.Random(f"kbf:{options.seed}"),  # noqa: S311 - a seeded, reproducible order
                      weights_extra={"logprobs": True, "top_logprobs": 2})  # fmt: skip
        reference = [_number(a) for a in got.primary]
        usable = [v is not None for v in reference]
        margins = {label: [_number_margin(a) for a in got.answers[label]] for label in got.labels}

        def exceeds(label: str) -> list[bool]:
            return [
                r is None or not close(_number(a), r, RELATIVE, ABSOLUTE)
                for a, r in zip(got.answers[label], reference, strict=True)
            ]

        exceed = {label: exceeds(label) for label in got.labels[1:]}
        screen = margin_screen(got, margins, options.margin)
        stable, envelope, per = stable_envelope(exceed, usable, screen=screen)
        least = screen.least(got.labels)
        probes = [
            {"id": f"kbf:{i}", "messages": bodies[i]["messages"], "answer": reference[i],
             "prompt_tokens": prompt_tokens(got.primary[i]), "margin": _rounded(least[i]),
             **sent_params(bodies[i])}
            for i in stable
        ]  # fmt: skip
        return {
            "rule": {"relative": RELATIVE, "absolute": ABSOLUTE, "parse": PARSE},
            "max_tokens": MAX_TOKENS,
            "style": options.style,
            "margin": options.margin,
            "candidates": len(bodies),
            "usable": sum(usable),
            "probes": probes,
            "envelope": None if envelope is None else envelope.to_dict(),
            "variations": per,
            "usage": usage_counts(got),
        }

    def probes(
        self, reference: Reference, *, rng: random.Random, history: Sequence[ObservedExchange] = ()
    ) -> Iterator[Probe]:
        section = reference.section(NAME) or {}
        items = list(section.get("probes", ()))
        max_tokens = int(section.get("max_tokens", MAX_TOKENS))
        while items:  # pass after pass, each in a fresh order: the runner's budget ends it
            rng.shuffle(items)
            for item in items:
                yield Probe(id=str(item["id"]), family=NAME,
                            body=probe_body(item, _params(max_tokens)))  # fmt: skip

    def verify(
        self, reference: Reference, exchanges: Sequence[ObservedExchange], rates: ErrorRates
    ) -> Verdict:
        section = reference.section(NAME)
        if section is None:
            return _undetermined("the reference has no kbf section")
        raw = section.get("envelope")
        envelope = Envelope.from_dict(raw) if isinstance(raw, dict) else None
        rule = section.get("rule") or {}
        relative = float(rule.get("relative", RELATIVE))
        absolute = float(rule.get("absolute", ABSOLUTE))
        parse = str(rule.get("parse", "last-number"))
        expected = {str(p["id"]): float(p["answer"]) for p in section.get("probes", ())}

        def score(exchange: ObservedExchange) -> Score | None:
            want = expected.get(exchange.probe_id)
            if want is None:
                return None  # a probe this reference does not know says nothing
            text = _content(exchange.content())
            got = None if text is None else answer_number(text, parse)
            ok = close(got, want, relative, absolute)
            return Score(float("nan") if got is None else got, want, not ok)

        own = [e for e in exchanges if e.family == NAME]
        return sequential_verdict(NAME, own, score, envelope, rates,
                                  details={"probes": len(expected)})  # fmt: skip


def _rounded(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, 3)


def _params(max_tokens: int) -> dict[str, Any]:
    return {"max_tokens": max_tokens, "temperature": 0}


def _undetermined(reason: str) -> Verdict:
    return Verdict(NAME, Outcome.UNDETERMINED, 0.0, 1.0, 0.0, 0, (), reason)


FAMILY = KbfFamily()
