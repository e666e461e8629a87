"""The ``stack`` family: service fingerprint and usage consistency.

Two kinds of evidence, only one of which can be adverse:

* **usage consistency** (the verdict): ``usage.prompt_tokens`` of a chat request is
  fixed by the claimed model's tokenizer and chat template. The reference records
  it for every enrolled chat probe (its own short questions and those of ``kbf`` and
  ``logprob``), so every signed exchange of the audit is a free observation: it
  *exceeds* when the signed count differs. A different tokenizer (a family swap)
  or text added to the prompt (a hidden system prompt) shifts it on every request;
  honest deployments of the same weights agree exactly. The envelope pools the
  mismatches counted at enrollment over all those probes and variations.
* **service description** (never a DIFF): ``GET /v1/models`` (ids, ``owned_by``, the
  member names) and response header markers (``server``, ``x-powered-by``...),
  compared with the reference's and reported in ``details`` — why a DIFF happened,
  or that the serving stack changed. Unsigned, so only ever descriptive.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from llmseal.audit.enrollment.honest import collect, prompt_tokens, usage_counts
from llmseal.audit.enrollment.reference import Reference
from llmseal.audit.exchange import ObservedExchange
from llmseal.audit.family import EnrollOptions, Probe, Source, SourceAnswer
from llmseal.audit.probes.probebank import PLAIN
from llmseal.audit.probes.stealth import dresser, probe_body, sent_params
from llmseal.audit.stats.bernoulli import Score, sequential_verdict
from llmseal.audit.stats.sequential import Envelope, ErrorRates
from llmseal.audit.stats.verdict import Outcome, Verdict
from llmseal.errors import AuditError

__all__ = ["FAMILY", "StackFamily", "describe_models"]

NAME = "stack"
MARKERS = ("server", "x-powered-by", "via", "x-new-api-version", "x-oneapi-request-id")
_USAGE_FAMILIES = ("stack", "kbf", "logprob")


def describe_models(body: Any) -> dict[str, Any] | None:
    """The shape of a ``/v1/models`` answer: ids, ``owned_by`` values, member names."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        return None
    entries = [e for e in body["data"] if isinstance(e, dict)]
    return {
        "ids": sorted(str(e.get("id")) for e in entries),
        "owned_by": sorted({str(e.get("owned_by")) for e in entries}),
        "members": sorted({k for e in entries for k in e}),
    }


def _markers(headers: Mapping[str, str] | Sequence[tuple[str, str]]) -> dict[str, str]:
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return {k.lower(): v for k, v in pairs if k.lower() in MARKERS}


class StackFamily:
    @property
    def name(self) -> str:
        return NAME

    def enroll(self, sources: Sequence[Source], options: EnrollOptions) -> Mapping[str, Any]:
        dress = dresser(options, NAME)
        questions = PLAIN[: max(2, min(len(PLAIN), options.probes // 4))]
        bodies = [dress([{"role": "user", "content": q}], _PARAMS) for q in questions]
        got = collect(sources, bodies, options, rng=random.Random(f"stack:{options.seed}"))  # noqa: S311 - a seeded, reproducible order
        models: dict[str, Any] | None = None
        headers: dict[str, str] = {}
        for source in sources:
            if source.kind != "endpoint":
                continue
            answer: SourceAnswer | None
            try:
                answer = source.ask("GET", "/v1/models", None)
            except AuditError:  # descriptive only: an endpoint may not list models
                answer = None
            if answer is not None and answer.status == 200:
                models = describe_models(answer.body)
                headers = _markers(answer.headers)
                break
        probes = [
            {"id": f"stack:{i}", "messages": bodies[i]["messages"],
             "prompt_tokens": prompt_tokens(a), **sent_params(bodies[i])}
            for i, a in enumerate(got.primary)
            if prompt_tokens(a) is not None
        ]  # fmt: skip
        return {"probes": probes, "usage": usage_counts(got), "models": models,
                "headers": headers, "variations": list(got.labels)}  # fmt: skip

    def probes(
        self, reference: Reference, *, rng: random.Random, history: Sequence[ObservedExchange] = ()
    ) -> Iterator[Probe]:
        section = reference.section(NAME) or {}
        yield Probe(id="stack:models", family=NAME, method="GET", endpoint="/v1/models")
        items = list(section.get("probes", ()))
        rng.shuffle(items)
        for item in items:
            yield Probe(id=str(item["id"]), family=NAME, body=probe_body(item, _PARAMS))

    def verify(
        self, reference: Reference, exchanges: Sequence[ObservedExchange], rates: ErrorRates
    ) -> Verdict:
        section = reference.section(NAME)
        if section is None:
            return Verdict(NAME, Outcome.UNDETERMINED, 0.0, 1.0, 0.0, 0, (),
                           "the reference has no stack section")  # fmt: skip
        expected, envelope = _expected(reference)
        details = _service(section, exchanges)

        def score(exchange: ObservedExchange) -> Score | None:
            want = expected.get(exchange.probe_id)
            body = exchange.content()
            usage = body.get("usage") if isinstance(body, dict) else None
            seen = usage.get("prompt_tokens") if isinstance(usage, dict) else None
            if want is None or not isinstance(seen, int):
                return None  # no usage reported: says nothing (a relay may drop it)
            return Score(float(seen), float(want), seen != want)

        usable = [e for e in exchanges if e.probe_id in expected]
        return sequential_verdict(NAME, usable, score, envelope, rates, details=details)


def _expected(reference: Reference) -> tuple[dict[str, int], Envelope | None]:
    """Expected prompt tokens per probe id, and the pooled usage envelope."""
    expected: dict[str, int] = {}
    k = n = 0
    for family in _USAGE_FAMILIES:
        section = reference.section(family) or {}
        for item in section.get("probes", ()):
            count = item.get("prompt_tokens")
            if isinstance(count, int):
                expected[str(item["id"])] = count
        usage = section.get("usage")
        if isinstance(usage, list) and len(usage) == 2:
            k, n = k + int(usage[0]), n + int(usage[1])
    return expected, (Envelope(k, n) if n else None)


def _service(section: Mapping[str, Any], exchanges: Sequence[ObservedExchange]) -> dict[str, Any]:
    """What ``/v1/models`` and the headers say now, beside what the reference saw."""
    out: dict[str, Any] = {"reference_models": section.get("models"),
                           "reference_headers": section.get("headers") or {}}  # fmt: skip
    for exchange in exchanges:
        if exchange.probe_id == "stack:models" and exchange.status_code == 200:
            out["models"] = describe_models(exchange.response_json())
            out["headers"] = _markers(exchange.headers)
            out["models_changed"] = out["models"] != section.get("models")
            break
    return out


_PARAMS = {"max_tokens": 1, "temperature": 0}


FAMILY = StackFamily()
