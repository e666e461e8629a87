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
* :class:`~llmseal.audit.routing.router.Router` (its own module) picks endpoints by it.

Evidence is kept under the buyer's own name for an endpoint, never under an
``issuer`` claim read from a receipt that failed to verify — otherwise a relay
could forge failing receipts "from" a rival to push it down.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum
from pathlib import Path
from typing import Any

import orjson

from llmseal.core import _time
from llmseal.errors import InputError, StoreError

__all__ = ["KINDS", "Evidence", "Ledger", "RoutingPolicy", "Standing", "Tier"]

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
