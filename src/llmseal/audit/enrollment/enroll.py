"""Enrollment: build a content-addressed reference from honest sources.

Sources (:class:`~llmseal.audit.family.Source`):

* :class:`EndpointSource` — a trusted OpenAI-style endpoint (``http://host:port/v1``),
  asked ``repeats`` times in fresh random orders; a sealing gateway's receipt members
  are stripped (enrollment trusts the endpoint; audits never do);
* :func:`weight_sources` — the weights run in-process with llama.cpp under the
  engine settings that change outputs (:data:`VARIATIONS`): the prompt batch size
  (``n_batch`` 512, 8, 1: different kernels), 1 or 2 threads, the prompt cache on
  (the previous request's prefix reused) or off, and a second *process* with the
  primary's setting. With ``processes=True`` (the command line's default) each
  setting runs in a process of its own (:class:`~llmseal.audit.enrollment.localproc.ProcessRun`,
  labels ending ``,process=N``), so process-level nondeterminism is in the
  envelope; otherwise each is a fresh in-process model instance.

:func:`enroll` asks every family for its section and returns the
:class:`~llmseal.audit.enrollment.reference.Reference`, whose ``covers`` lists every variation
measured (``endpoint#1``, ``n_batch=1,threads=2``...).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from llmseal.audit.enrollment.localproc import ProcessRun
from llmseal.audit.enrollment.reference import Reference
from llmseal.audit.family import EnrollOptions, Family, Source, SourceAnswer
from llmseal.audit.replay.envelope import LocalRun
from llmseal.core.canonical import loads
from llmseal.core.hashing import strip_gateway_members
from llmseal.errors import AuditError, ContentError

__all__ = ["VARIATIONS", "EndpointSource", "enroll", "join_url", "weight_sources"]

VARIATIONS: tuple[Mapping[str, Any], ...] = (
    {"n_batch": 512, "n_threads": 2},
    {"n_batch": 8, "n_threads": 1},
    {"n_batch": 1, "n_threads": 2},
    {"n_batch": 512, "n_threads": 2, "prompt_cache": True},
    {"n_batch": 512, "n_threads": 2},
)
"""The last repeats the first: with ``processes=True`` it is "a fresh process"."""


def join_url(base: str, endpoint: str) -> str:
    """``http://h/v1`` + ``/v1/models`` → ``http://h/v1/models`` (no doubled ``/v1``)."""
    base = base.rstrip("/")
    if base.endswith("/v1") and endpoint.startswith("/v1/"):
        endpoint = endpoint[3:]
    return base + endpoint


class EndpointSource:
    """A trusted endpoint, asked with plain HTTP."""

    def __init__(self, base_url: str, *, label: str = "endpoint", timeout: float = 300.0):
        self.base_url = base_url
        self._label = label
        self._client = httpx.Client(timeout=timeout)

    @property
    def label(self) -> str:
        return self._label

    @property
    def kind(self) -> str:
        return "endpoint"

    def ask(self, method: str, endpoint: str, body: Mapping[str, Any] | None) -> SourceAnswer:
        url = join_url(self.base_url, endpoint)
        try:
            if body is None:
                response = self._client.request(method, url)
            else:
                response = self._client.request(method, url, json=dict(body))
        except httpx.HTTPError as exc:
            raise AuditError(f"{url}: {type(exc).__name__}: {exc}") from exc
        try:
            parsed = loads(response.content)
        except ContentError:
            parsed = None
        if isinstance(parsed, dict):
            parsed = strip_gateway_members(parsed)
        headers = {k.lower(): v for k, v in response.headers.items()}
        return SourceAnswer(response.status_code, parsed, headers)

    def close(self) -> None:
        self._client.close()


def weight_sources(
    weights: str | Path,
    variations: Sequence[Mapping[str, Any]] = VARIATIONS,
    *,
    processes: bool = False,
) -> list[LocalRun | ProcessRun]:
    """One llama.cpp run of ``weights`` per setting (close them when done).

    ``logits_all`` as llama-cpp-python's server sets it (it is what makes top
    logprobs available in chat completions). ``processes``: each in a child process
    of its own, labelled ``...,process=N``; otherwise in-process, and a setting that
    repeats an earlier one is skipped (an in-process copy adds no variation).
    """
    out: list[LocalRun | ProcessRun] = []
    seen: list[dict[str, Any]] = []
    try:
        for n, v in enumerate(variations, start=1):
            settings = {"logits_all": True, **dict(v)}
            if processes:
                out.append(ProcessRun(str(weights), settings, index=n))
            elif settings not in seen:
                out.append(LocalRun(str(weights), **settings))
            seen.append(settings)
    except BaseException:
        for source in out:
            source.close()
        raise
    return out


def enroll(
    sources: Sequence[Source],
    families: Sequence[Family],
    options: EnrollOptions,
    *,
    at: datetime,
    provenance: Mapping[str, Any] | None = None,
    private: bool = False,
) -> Reference:
    """The reference for ``options.model_id`` measured from ``sources``."""
    if not sources:
        raise AuditError("enrollment needs an endpoint or weights")
    sections = {family.name: family.enroll(sources, options) for family in families}
    covers: list[str] = []
    for source in sources:
        if source.kind == "endpoint" and options.repeats > 1:
            covers += [f"{source.label}#{n + 1}" for n in range(options.repeats)]
        else:
            covers.append(source.label)
    kinds = sorted({s.kind for s in sources})
    return Reference.build(
        model_id=options.model_id, families=sections, covers=covers, at=at,
        source="+".join(kinds), private=private,
        generator={"params": {"seed": options.seed, "probes": options.probes,
                              "repeats": options.repeats, "top_logprobs": options.top_logprobs,
                              "style": options.style, "margin": options.margin,
                              "families": [f.name for f in families]}},
        provenance=dict(provenance or {}),
    )  # fmt: skip
