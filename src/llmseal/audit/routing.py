"""Routing policy: prefer endpoints with good evidence, avoid those with adverse evidence.

AntSeed's local routing (spec 07, "Local routing policy"): a DIFF removes a seller
from routing for that service; SAME lowers the audit rate but proves nothing;
UNDETERMINED asks for more coverage; repeated unauthenticated answers downgrade
the seller's trust tier. Nothing here is consensus or slashing: it is one
buyer's own decision from its own evidence.

* :class:`Evidence` — one dated fact about ``(issuer, model)``: a verified answer
  (``ok``), a verification ``failure``, an audit verdict (``SAME`` / ``DIFF`` /
  ``UNDETERMINED``), or the ``retract`` of an earlier verdict by its source.
* :class:`Ledger` — the evidence, append-only, optionally kept as JSON lines.
* :meth:`Ledger.standing` — the :class:`Standing` of ``(issuer, model)`` at
  ``at``: a :class:`Tier` and a score in (0, 1). Weights halve every
  ``half_life``; a DIFF younger than ``diff_ttl`` *excludes* (a later SAME does
  not clear it: SAME is not proof, only a retraction or age does); a decayed
  failure mass of at least ``degrade_failures`` at a rate above ``degrade_rate``
  *degrades*; a recent SAME makes an endpoint *audited*, ahead of unaudited ones.
* :class:`Router` — ranks the endpoints serving a model by tier then score,
  picks one (weighted by score within the best tier, so load still spreads), and
  :meth:`Router.post` sends through the caller's verifying clients: a
  verification failure is recorded against that endpoint and the next one is
  tried; a verified answer is recorded as ``ok``.

Evidence is attributed to the endpoint the buyer chose (its configured issuer
name), never to an ``issuer`` claim read from a receipt that failed to verify —
otherwise a relay could forge failing receipts "from" a rival to push it down.
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import IntEnum
from pathlib import Path
from typing import Any

import httpx
import orjson

from llmseal.core import _time
from llmseal.errors import AuditError, InputError, StoreError, VerificationError

__all__ = [
    "KINDS",
    "Endpoint",
    "Evidence",
    "Ledger",
    "Routed",
    "Router",
    "RoutingPolicy",
    "Standing",
    "Tier",
]

KINDS = ("ok", "failure", "SAME", "DIFF", "UNDETERMINED", "retract")


@dataclass(frozen=True, slots=True)
class Evidence:
    """One dated fact about ``(issuer, model)``."""

    issuer: str
    model: str
    kind: str
    at: datetime
    source: str = ""
    """What it rests on: a receipt id, an audit report id, a failure reason."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError(f"unknown routing evidence kind {self.kind!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"issuer": self.issuer, "model": self.model, "kind": self.kind,
                "at": _time.format_utc(self.at), "source": self.source}  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evidence:
        try:
            at = _time.parse_lenient(str(data["at"]))
            return cls(str(data["issuer"]), str(data["model"]), str(data["kind"]), at,
                       str(data.get("source", "")))  # fmt: skip
        except (KeyError, ValueError) as exc:
            raise InputError(f"not routing evidence: {exc}") from exc


@dataclass(frozen=True, slots=True)
class RoutingPolicy:
    """How evidence turns into a standing (every threshold is the buyer's choice)."""

    half_life: timedelta = timedelta(days=7)
    diff_ttl: timedelta = timedelta(days=90)
    same_window: timedelta = timedelta(days=30)
    degrade_failures: float = 3.0
    degrade_rate: float = 0.05


class Tier(IntEnum):
    """Lower is better; the router never picks EXCLUDED."""

    AUDITED = 0
    UNAUDITED = 1
    DEGRADED = 2
    EXCLUDED = 3


@dataclass(frozen=True, slots=True)
class Standing:
    """What the evidence says about ``(issuer, model)`` at one time."""

    issuer: str
    model: str
    tier: Tier
    score: float
    """Posterior mean of "an answer verifies", decayed counts over a uniform prior."""
    ok: float
    failed: float
    reasons: tuple[str, ...] = ()
    last_same: datetime | None = None
    last_diff: datetime | None = None


class Ledger:
    """Evidence in arrival order; with ``path``, appended to a JSON-lines file as it comes."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = None if path is None else Path(path)
        self._items: list[Evidence] = []
        if self.path is not None and self.path.exists():
            self._items = list(_read_lines(self.path))

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Evidence]:
        return iter(tuple(self._items))

    def add(self, evidence: Evidence) -> None:
        self._items.append(evidence)
        if self.path is not None:
            line = orjson.dumps(evidence.to_dict()) + b"\n"
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, line)  # one write per line: readers see whole lines
                finally:
                    os.close(fd)
            except OSError as exc:
                raise StoreError(f"cannot append to {self.path}: {exc.strerror}") from exc

    def record(self, issuer: str, model: str, kind: str, *, at: datetime, source: str = "") -> None:
        self.add(Evidence(issuer, model, kind, _time.utc(at), source))

    def standing(
        self, issuer: str, model: str, *, at: datetime, policy: RoutingPolicy | None = None
    ) -> Standing:
        """The standing of ``(issuer, model)`` from the evidence dated up to ``at``."""
        policy = policy or RoutingPolicy()
        at = _time.utc(at)
        mine = [e for e in self._items if e.issuer == issuer and e.model == model and e.at <= at]
        retracted = {e.source for e in mine if e.kind == "retract" and e.source}
        ok = failed = 0.0
        last: dict[str, datetime] = {}
        for e in mine:
            if e.kind in ("SAME", "DIFF", "UNDETERMINED") and e.source in retracted:
                continue
            weight = 0.5 ** ((at - e.at) / policy.half_life)
            if e.kind == "ok":
                ok += weight
            elif e.kind == "failure":
                failed += weight
            last[e.kind] = max(last.get(e.kind, e.at), e.at)
        score = (ok + 1.0) / (ok + failed + 2.0)
        diff, same = last.get("DIFF"), last.get("SAME")
        reasons: list[str] = []
        if diff is not None and at - diff < policy.diff_ttl:
            tier = Tier.EXCLUDED
            reasons.append(f"DIFF at {_time.format_utc(diff)}")
        elif failed >= policy.degrade_failures and failed / (ok + failed) > policy.degrade_rate:
            tier = Tier.DEGRADED
            reasons.append(f"{failed:.1f} recent verification failures ({ok:.1f} verified)")
        elif same is not None and at - same < policy.same_window:
            tier = Tier.AUDITED
            reasons.append(f"SAME at {_time.format_utc(same)}")
        else:
            tier = Tier.UNAUDITED
        if "UNDETERMINED" in last and tier is not Tier.EXCLUDED:
            reasons.append("an audit was UNDETERMINED: audit again")
        return Standing(issuer, model, tier, score, ok, failed, tuple(reasons), same, diff)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One place a model is sold: the issuer name evidence is kept under, and its base URL."""

    issuer: str
    base_url: str
    models: tuple[str, ...] = ()
    """The models it serves (empty: any)."""

    def serves(self, model: str) -> bool:
        return not self.models or model in self.models


@dataclass(frozen=True, slots=True)
class Routed:
    """The answer :meth:`Router.post` got, from which endpoint, after which refusals."""

    endpoint: Endpoint
    response: httpx.Response
    refused: tuple[tuple[Endpoint, str], ...] = field(default=())


class Router:
    """Picks among ``endpoints`` for a model by their standing in ``ledger``.

    ``client_for(endpoint)`` returns the verifying HTTP client to use for it (the
    caller builds it with its key set; an answer that does not verify must raise
    :class:`~llmseal.errors.VerificationError`, as the verifying transports do).
    """

    def __init__(
        self,
        endpoints: Iterable[Endpoint],
        ledger: Ledger,
        *,
        client_for: Callable[[Endpoint], httpx.Client] | None = None,
        policy: RoutingPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.endpoints = tuple(endpoints)
        self.ledger = ledger
        self.policy = policy or RoutingPolicy()
        self._client_for = client_for
        self._clients: dict[Endpoint, httpx.Client] = {}
        self._rng = rng or random.SystemRandom()  # a seller cannot predict its turn

    def ranked(self, model: str, *, at: datetime) -> list[tuple[Endpoint, Standing]]:
        """Every endpoint serving ``model``, best first (EXCLUDED ones last)."""
        rows = [(e, self.ledger.standing(e.issuer, model, at=at, policy=self.policy))
                for e in self.endpoints if e.serves(model)]  # fmt: skip
        return sorted(rows, key=lambda r: (r[1].tier, -r[1].score))

    def order(self, model: str, *, at: datetime) -> list[Endpoint]:
        """The order to try endpoints in: best tier first, score-weighted inside a tier."""
        usable = [r for r in self.ranked(model, at=at) if r[1].tier is not Tier.EXCLUDED]
        if not usable:
            raise AuditError(f"no endpoint for {model!r} without adverse evidence")
        out: list[Endpoint] = []
        for tier in sorted({s.tier for _, s in usable}):
            rows = [r for r in usable if r[1].tier is tier]
            # weighted order without replacement (Efraimidis–Spirakis keys)
            keyed = sorted(rows, key=lambda r: -math.log(1.0 - self._rng.random()) / r[1].score)
            out.extend(e for e, _ in keyed)
        return out

    def pick(self, model: str, *, at: datetime) -> Endpoint:
        return self.order(model, at=at)[0]

    def post(
        self, path: str, body: Mapping[str, Any], *, at: datetime, attempts: int | None = None
    ) -> Routed:
        """POST ``body`` (its ``model`` names the model) to the best endpoint that verifies."""
        model = body.get("model")
        if not isinstance(model, str):
            raise InputError("the request body must name its model")
        refused: list[tuple[Endpoint, str]] = []
        for endpoint in self.order(model, at=at)[:attempts]:
            url = endpoint.base_url.rstrip("/") + "/" + path.lstrip("/")
            try:
                response = self._client(endpoint).post(url, json=dict(body))
            except VerificationError as exc:
                self.ledger.record(endpoint.issuer, model, "failure", at=at,
                                   source=f"{exc.status}: {exc}"[:200])  # fmt: skip
                refused.append((endpoint, f"{exc.status}: {exc}"))
                continue
            except httpx.HTTPError as exc:  # unreachable: no evidence about the model
                refused.append((endpoint, f"{type(exc).__name__}: {exc}"))
                continue
            receipt = _receipt_id(response)
            if receipt is not None:
                self.ledger.record(endpoint.issuer, model, "ok", at=at, source=receipt)
            return Routed(endpoint, response, tuple(refused))
        reasons = "; ".join(f"{e.issuer}: {r}" for e, r in refused) or "none tried"
        raise AuditError(f"no endpoint for {model!r} gave a verified answer ({reasons})")

    def _client(self, endpoint: Endpoint) -> httpx.Client:
        if self._client_for is None:
            raise AuditError("this router has no client_for: it can rank, not send")
        if endpoint not in self._clients:
            self._clients[endpoint] = self._client_for(endpoint)
        return self._clients[endpoint]

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()


def _receipt_id(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    receipt = body.get("receipt") if isinstance(body, dict) else None
    rid = receipt.get("receipt_id") if isinstance(receipt, dict) else None
    return rid if isinstance(rid, str) else None


def _read_lines(path: Path) -> Sequence[Evidence]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror}") from exc
    out: list[Evidence] = []
    lines = data.split(b"\n")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            out.append(Evidence.from_dict(orjson.loads(line)))
        except (orjson.JSONDecodeError, InputError, TypeError) as exc:
            if number == len(lines):  # a last line cut short by a crash: not evidence yet
                break
            raise StoreError(f"{path}:{number} is not routing evidence: {exc}") from exc
    return out
