"""The verifier-family protocol and registry.

A *family* is one way of telling models apart (``kbf``, ``logprob``, ``stack``;
issue 13 adds ``replay``). It has three jobs, each a method of :class:`Family`:

1. **enroll** — from a set of honest :class:`Source` s (a trusted endpoint asked
   several times, local runs of the weights under several engine settings), build
   its reference section: the probes, what the reference answers, and the
   envelope of honest variation (how often an honest deployment falls outside
   the bound the family scores against). Each source has a ``label`` naming the
   variation it stands for; the labels become the reference's ``covers``.
2. **probes** — the requests to send for an audit, in the order to send them
   (drawn with the caller's ``rng``, so a probe order is private to the buyer and
   reproducible from its seed). ``history`` is the runner's live list of the
   exchanges sent so far (all families), so a family can adapt — ``logprob``
   falls back to one-token sampling when the endpoint returns no logprobs. The
   runner stops consuming as soon as the family has decided.
3. **verify** — a *pure function* of the reference and the observed exchanges:
   it walks them in order and returns the :class:`~llmseal.audit.stats.verdict.Verdict`
   at the first decision (or UNDETERMINED at the end). Being pure is what lets
   ``llmseal audit report verify`` recompute every verdict from the stored
   exchanges and compare.

Contract for ``verify`` (the runner and the report verifier rely on it):

* only exchanges with ``exchange.signed`` are samples; others add to ``failed``
  and to ``queries``;
* it considers the exchanges whose ``family`` is its own name (``stack`` also
  reads the usage of every signed exchange — free evidence);
* no envelope for the probes seen → UNDETERMINED, never DIFF;
* it runs the test at the ``rates`` it is given (already split per family).

Adding a family: put a module in :mod:`llmseal.audit.families` that defines
``FAMILY`` (an instance); :func:`registry` loads every module there on first
use. Others can call ``registry().register(MyFamily())`` at run time.
"""

from __future__ import annotations

import importlib
import pkgutil
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from llmseal.audit.enrollment.reference import Reference
from llmseal.audit.exchange import ObservedExchange
from llmseal.audit.stats.sequential import ErrorRates
from llmseal.audit.stats.verdict import Verdict
from llmseal.errors import AuditError

__all__ = [
    "EnrollOptions",
    "Family",
    "Probe",
    "Registry",
    "Source",
    "SourceAnswer",
    "WeightsSource",
    "registry",
]


@dataclass(frozen=True, slots=True)
class Probe:
    """One request the runner sends for a family."""

    id: str
    family: str
    method: str = "POST"
    endpoint: str = "/v1/chat/completions"
    body: Mapping[str, Any] | None = None
    """The JSON body to send (the runner sets ``model`` to the audited claim)."""
    variant: int = 0


@dataclass(frozen=True, slots=True)
class SourceAnswer:
    """What a source answered: status, headers (lower-case), parsed JSON body."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


class WeightsSource:
    """Base of the :class:`Source` s that run the weights locally (in-process or in a child
    process): they answer chat completions only, through ``complete``."""

    _label: str

    @property
    def label(self) -> str:
        return self._label

    @property
    def kind(self) -> str:
        return "weights"

    def ask(self, method: str, endpoint: str, body: Mapping[str, Any] | None) -> SourceAnswer:
        if method != "POST" or endpoint != "/v1/chat/completions" or body is None:
            raise AuditError(f"local weights answer chat completions only, not {endpoint}")
        return SourceAnswer(200, self.complete(body))

    def complete(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The chat completion ``body`` asks for, as a server would answer it."""
        raise NotImplementedError


@runtime_checkable
class Source(Protocol):
    """Something honest to enroll from: an endpoint, or the weights run locally."""

    @property
    def label(self) -> str:
        """The variation it stands for (``endpoint``, ``n_batch=1``, ``threads=1``...)."""
        ...

    @property
    def kind(self) -> str:
        """``endpoint`` (answers every request) or ``weights`` (chat completions only)."""
        ...

    def ask(self, method: str, endpoint: str, body: Mapping[str, Any] | None) -> SourceAnswer:
        """Send one request; raises :class:`~llmseal.errors.AuditError` if unsupported."""
        ...


@dataclass(frozen=True, slots=True)
class EnrollOptions:
    """What enrollment may spend."""

    model_id: str
    seed: int = 0
    probes: int = 40
    """Candidate probes per family (a family may keep fewer)."""
    repeats: int = 2
    """Passes over an endpoint source, each in a fresh random order (prompt-cache state)."""
    top_logprobs: int = 5
    style: str = "plain"
    """``plain`` probes, or ``stealth``: phrased and sent like ordinary traffic
    (:mod:`llmseal.audit.probes.stealth`); the audit sends exactly what was enrolled."""
    margin: float = 0.3
    """Keep only probes whose greedy answer tokens win by at least this many nats (where
    the source gives logprobs): stable on honest deployments enrollment did not see.
    Measured here: every kbf answer that ``n_batch=1`` changed had a margin <= 0.15."""

    def __post_init__(self) -> None:
        if self.style not in ("plain", "stealth"):
            raise AuditError(f"unknown probe style {self.style!r} (plain or stealth)")


@runtime_checkable
class Family(Protocol):
    """A verifier family (see the module docstring for the contract)."""

    @property
    def name(self) -> str: ...

    def enroll(self, sources: Sequence[Source], options: EnrollOptions) -> Mapping[str, Any]:
        """The family's reference section, measured from honest sources."""
        ...

    def probes(
        self,
        reference: Reference,
        *,
        rng: random.Random,
        history: Sequence[ObservedExchange] = (),
    ) -> Iterator[Probe]:
        """The audit's requests for this family, in sending order."""
        ...

    def verify(
        self, reference: Reference, exchanges: Sequence[ObservedExchange], rates: ErrorRates
    ) -> Verdict:
        """The verdict at the first decision over ``exchanges`` (pure)."""
        ...


class Registry:
    """Families by name."""

    def __init__(self) -> None:
        self._families: dict[str, Family] = {}

    def register(self, family: Family) -> None:
        if not isinstance(family, Family):
            raise AuditError(f"{family!r} does not implement the Family protocol")
        self._families[family.name] = family

    def get(self, name: str) -> Family:
        try:
            return self._families[name]
        except KeyError:
            known = ", ".join(sorted(self._families)) or "none"
            raise AuditError(f"no verifier family {name!r} (known: {known})") from None

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._families))

    def resolve(self, names: Sequence[str]) -> list[Family]:
        """The families for a comma-list from the command line, in that order."""
        return [self.get(n.strip()) for n in names if n.strip()]


_REGISTRY: Registry | None = None


def registry() -> Registry:
    """The process-wide registry, with every module of :mod:`llmseal.audit.families` loaded."""
    global _REGISTRY
    if _REGISTRY is None:
        from llmseal.audit import families

        found = Registry()
        for info in sorted(pkgutil.iter_modules(families.__path__), key=lambda i: i.name):
            if info.name.startswith("_"):
                continue
            module = importlib.import_module(f"{families.__name__}.{info.name}")
            found.register(module.FAMILY)
        _REGISTRY = found
    return _REGISTRY
