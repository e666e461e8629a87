"""Issue 9, defect 7: the admission gate refuses a large body without buffering it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import HTTPException
from starlette.requests import Request

from llmseal.client.admission import ReceiptGate
from llmseal.core.keyset import KeySet
from llmseal.core.policy import Policy

CHUNK = 64 << 10
LIMIT = 1 << 20


class Body:
    """An ASGI receive() that serves ``total`` bytes in chunks and counts what was taken."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.taken = 0

    async def __call__(self) -> dict[str, Any]:
        size = min(CHUNK, self.total - self.taken)
        self.taken += size
        return {"type": "http.request", "body": b"x" * size, "more_body": self.taken < self.total}


def _admit(headers: list[tuple[bytes, bytes]], body: Body) -> HTTPException:
    scope = {"type": "http", "method": "POST", "path": "/merge", "headers": headers}
    gate = ReceiptGate(Policy(), KeySet(), max_body=LIMIT)
    with pytest.raises(HTTPException) as caught:
        asyncio.run(gate(Request(scope, body)))
    return caught.value


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    body = Body(64 << 20)
    refusal = _admit([(b"content-length", str(body.total).encode())], body)
    assert refusal.status_code == 413
    assert body.taken == 0


def test_a_chunked_body_stops_at_the_limit() -> None:
    body = Body(64 << 20)
    refusal = _admit([(b"transfer-encoding", b"chunked")], body)
    assert refusal.status_code == 413
    assert body.taken <= LIMIT + CHUNK  # not 64 MiB


def test_a_body_under_the_limit_is_read() -> None:
    refusal = _admit([], Body(1000))
    assert refusal.status_code == 400  # read in full, then found not to be JSON
