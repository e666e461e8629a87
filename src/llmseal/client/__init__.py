"""The caller's side: verify every answer before the SDK sees it, keep the evidence.

    import openai
    from llmseal.client import verifying_http_client

    client = openai.OpenAI(
        base_url="https://gateway.example/v1",
        http_client=verifying_http_client(keys="https://gateway.example/v1/receipts/keys",
                                          data_dir="~/.llmseal"),
    )

See :mod:`llmseal.client.transport` for how failures surface through the SDKs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llmseal.client.build import build_verifier
from llmseal.client.failures import Expectations
from llmseal.client.stream import StreamVerifier
from llmseal.client.transport import (
    AsyncVerifyingTransport,
    VerifyingTransport,
    verifying_async_http_client,
    verifying_http_client,
)
from llmseal.client.verifier import ResponseVerifier

if TYPE_CHECKING:
    from llmseal.client.admission import Admission, ReceiptGate

__all__ = [
    "Admission",
    "AsyncVerifyingTransport",
    "Expectations",
    "ReceiptGate",
    "ResponseVerifier",
    "StreamVerifier",
    "VerifyingTransport",
    "build_verifier",
    "verifying_async_http_client",
    "verifying_http_client",
]


def __getattr__(name: str) -> Any:
    """The admission gate on first use (PEP 562): it needs Starlette, the ``client`` extra;
    the verifying transports need only the base install."""
    if name in ("Admission", "ReceiptGate"):
        from llmseal.client import admission

        return getattr(admission, name)
    raise AttributeError(f"module 'llmseal.client' has no attribute {name!r}")
