"""The client-side router: pick among endpoints selling a model, by their routing standing.

:meth:`Router.order` ranks the endpoints serving a model by
:class:`~llmseal.audit.routing.ledger.Tier` then score (never an EXCLUDED one: a standing
DIFF), shuffling inside a tier with weights equal to the scores, so load still
spreads and a seller cannot predict its turn. :meth:`Router.post` sends through
the caller's verifying HTTP clients (``client_for``): an answer that fails
verification is recorded against *that endpoint* in the ledger and the next one
is tried; a verified answer is recorded as ``ok``. An endpoint that cannot be
reached is skipped without evidence: that says nothing about the model.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from llmseal.audit.routing.ledger import Ledger, RoutingPolicy, Standing, Tier
from llmseal.errors import AuditError, InputError, VerificationError

__all__ = ["Endpoint", "Routed", "Router"]


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
