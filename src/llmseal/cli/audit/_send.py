"""The audit runner's sender: every probe through the verifying client.

An answer whose receipt does not verify (no receipt, wrong key, tampered, stale,
a receipt for another model than the claim) is returned as a *failed* exchange
with the client's failure status; the runner counts it as a query, never as a
sample. Every sealed exchange lands in the evidence store of ``data_dir``
(``sample_rate=1.0``: request, response and receipt kept in full).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

from llmseal.audit.enrollment.enroll import join_url
from llmseal.audit.exchange import FAILED, UNSIGNED, VALID, ObservedExchange
from llmseal.audit.family import Probe
from llmseal.client import verifying_http_client
from llmseal.client.verifier import ResponseVerifier
from llmseal.core import _time
from llmseal.core.canonical import loads
from llmseal.errors import ContentError, VerificationError

__all__ = ["VerifiedSender"]


class VerifiedSender:
    """``sender(probe) -> ObservedExchange`` over one verifying HTTP client."""

    def __init__(
        self, base_url: str, *, keys: str, data_dir: str | Path, model_id: str,
        timeout: float = 300.0,
    ) -> None:  # fmt: skip
        self.base_url = base_url
        self.model_id = model_id
        self._client: Any = verifying_http_client(
            keys=keys, data_dir=data_dir, sample_rate=1.0, expect_models=(model_id,),
            timeout=httpx.Timeout(timeout, connect=10.0),
        )  # fmt: skip

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> VerifiedSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __call__(self, probe: Probe) -> ObservedExchange:
        url = join_url(self.base_url, probe.endpoint)
        request = (
            b"" if probe.body is None else orjson.dumps({**probe.body, "model": self.model_id})
        )
        sent_at = _time.format_utc(datetime.now(UTC))

        def seen(
            status: int, response: bytes, headers: tuple[tuple[str, str], ...], verification: str,
            receipt_id: str | None = None, error: str | None = None,
        ) -> ObservedExchange:  # fmt: skip
            return ObservedExchange(
                probe_id=probe.id, family=probe.family, method=probe.method,
                endpoint=probe.endpoint, request=request, status_code=status, response=response,
                headers=headers, verification=verification, receipt_id=receipt_id, error=error,
                sent_at=sent_at, variant=probe.variant,
            )  # fmt: skip

        headers = {"content-type": "application/json"} if request else {}
        try:
            response = self._client.request(probe.method, url, content=request or None,
                                            headers=headers)  # fmt: skip
        except VerificationError as exc:
            return seen(0, b"", (), exc.status or FAILED, error=str(exc))
        except httpx.HTTPError as exc:
            return seen(0, b"", (), FAILED, error=f"{type(exc).__name__}: {exc}")
        content = response.content
        pairs = tuple((k.lower(), v) for k, v in response.headers.items())
        if ResponseVerifier.endpoint_of(url) is None:
            return seen(response.status_code, content, pairs, UNSIGNED)
        receipt_id = _receipt_id(content)
        if receipt_id is None:
            return seen(response.status_code, content, pairs, FAILED, error="no receipt")
        if response.status_code != 200:  # a signed error is evidence, not an answer
            return seen(response.status_code, content, pairs, "http_error", receipt_id,
                        f"HTTP {response.status_code}")  # fmt: skip
        return seen(response.status_code, content, pairs, VALID, receipt_id)


def _receipt_id(content: bytes) -> str | None:
    """The id of the receipt the client just verified (None: the answer had none)."""
    try:
        body = loads(content)
    except ContentError:
        return None
    receipt = body.get("receipt") if isinstance(body, dict) else None
    value = receipt.get("receipt_id") if isinstance(receipt, dict) else None
    return value if isinstance(value, str) else None
