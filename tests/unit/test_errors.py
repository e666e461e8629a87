"""Every fail-closed error carries the documented ``status`` and non-empty ``reasons``
(docs/client.md, "What is checked")."""

from __future__ import annotations

import pytest

from llmseal.errors import (
    BindingError,
    ChainValidationError,
    PolicyError,
    ReceiptRequiredError,
    ReplayError,
    VerificationError,
)


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (VerificationError, "malformed"),
        (ReceiptRequiredError, "missing"),
        (BindingError, "tampered"),
        (ReplayError, "replayed"),
        (PolicyError, "policy"),
    ],
)
def test_default_status_and_reasons(kind: type[VerificationError], status: str) -> None:
    error = kind("the answer from /v1/chat/completions carries no receipt")
    assert error.status == status
    assert error.reasons == ("the answer from /v1/chat/completions carries no receipt",)


def test_explicit_status_and_reasons_win() -> None:
    error = BindingError("altered", status="revoked", reasons=("key revoked", "bad signature"))
    assert error.status == "revoked" and error.reasons == ("key revoked", "bad signature")
    chain = ChainValidationError("leaf expired", failure="expired")
    assert chain.status == "unknown_key" and chain.reasons == ("leaf expired",)
