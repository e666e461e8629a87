"""Admission control for relying parties: a FastAPI/Starlette dependency.

A service that accepts signed model output as input (seed 000: "CI pipeline
requires a signed review from a specific model tier before merging") declares a
:class:`~llmseal.core.policy.Policy` and lets only conforming requests through::

    gate = ReceiptGate(Policy.load("merge-policy.toml"))

    @app.post("/merge")
    async def merge(admission: Admission = Depends(gate)) -> dict[str, str]:
        return {"merged_with_review": admission.verification.receipt.receipt_id}

The request body is ``{"receipt": {...}, "prompt"?: "...", "output"?: "..."}``
(the shape of ``POST /v1/receipts/verify``; ``prompt``/``output`` as JSON text or
objects). Malformed input answers 400; anything the policy refuses answers 403
with ``{"detail": {"status", "failures", "reasons"}}``: the cryptographic status
(``missing`` when no receipt was supplied), the failed rules, the reasons.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from llmseal.core.canonical import loads
from llmseal.core.keyset import KeyResolver
from llmseal.core.policy import Policy, PolicyResult
from llmseal.core.verify import Verification, verify_receipt
from llmseal.errors import ConfigError, Error
from llmseal.trust.keysource import KeySources, policy_sources

__all__ = ["Admission", "ReceiptGate"]


def _refusal(status: int, detail: Any) -> Exception:
    """FastAPI renders a structured ``detail`` as JSON; plain Starlette wants text."""
    try:
        from fastapi import HTTPException
    except ImportError:  # pragma: no cover - FastAPI is installed wherever tests run
        from starlette.exceptions import HTTPException as StarletteHTTPException

        text = detail if isinstance(detail, str) else "; ".join(detail.get("failures", []))
        return StarletteHTTPException(status, text)
    return HTTPException(status, detail)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Admission:
    """What was admitted: the verification, the policy verdict and the content shown."""

    verification: Verification
    policy: PolicyResult
    prompt: Any
    output: Any


class ReceiptGate:
    """Callable dependency; ``await gate(request)`` works in plain Starlette too."""

    def __init__(
        self,
        policy: Policy,
        keys: KeyResolver | None = None,
        *,
        clock: Callable[[], datetime] = _now,
        max_body: int = 16 << 20,
    ) -> None:
        if keys is None:
            if not policy.keysets:
                raise ConfigError("ReceiptGate needs keys= or a policy that lists keysets")
            keys = KeySources(*policy_sources(policy, cached=True))
        self.policy = policy
        self.keys = keys
        self.clock = clock
        self.max_body = max_body

    async def __call__(self, request: Request) -> Admission:
        body = await _read_limited(request, self.max_body)
        try:
            data = loads(body)
        except Error as exc:
            raise _refusal(400, f"body is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise _refusal(400, 'expected {"receipt": {...}, "prompt"?: ..., "output"?: ...}')
        if data.get("receipt") is None:
            if self.policy.require_receipt:
                detail = {"status": "missing", "failures": ["require_receipt: no receipt supplied"],
                          "reasons": ["no receipt supplied"]}  # fmt: skip
                raise _refusal(403, detail)
            raise _refusal(400, "no receipt to check")
        prompt, output = _content(data, "prompt"), _content(data, "output")
        try:
            # Key-set fetches are blocking I/O; keep them off the event loop.
            result = await asyncio.to_thread(
                verify_receipt, data["receipt"], self.keys, prompt=prompt, output=output
            )
        except Error as exc:
            raise _refusal(400, f"unusable receipt or content: {exc}") from exc
        verdict = self.policy.check(result, at=self.clock())
        if not verdict:
            detail = {"status": result.status.value, "failures": list(verdict.failures),
                      "reasons": list(result.reasons)}  # fmt: skip
            raise _refusal(403, detail)
        return Admission(result, verdict, prompt, output)


async def _read_limited(request: Request, limit: int) -> bytes:
    """The body, refused (413) as soon as it is known to be over ``limit``: before any
    byte is read when ``Content-Length`` says so, at the limit for a chunked body."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise _refusal(413 if declared.isdigit() else 400, "body too large or bad Content-Length")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _refusal(413, "body too large")
        chunks.append(chunk)
    return b"".join(chunks)


def _content(data: dict[str, Any], name: str) -> Any:
    value = data.get(name)
    if value is None or isinstance(value, dict | list):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    raise _refusal(400, f"{name} must be JSON text or a JSON value")
