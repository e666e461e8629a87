"""Issue 9, defect 15: a receipt's model_id must be exactly the model its certificate names."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from llmseal.core.policy import Policy
from llmseal.core.verify import Status
from llmseal.trust.x509.chain import ChainFailure
from llmseal.trust.x509.source import verify_receipt_x509
from tests.x509_helpers import DOMAIN, MODEL, NAME, Lab, receipt_at


@pytest.mark.parametrize(
    ("model_id", "pin"),
    [(" smollm2", "domain"), ("SmolLM2", "domain"), ("SMOLLM2", "domain"),
     (" smollm2", "name"), ("SmolLM2", "name"), ("smollm2 ", "name"), ("smollm2.", "name")],
)  # fmt: skip
def test_another_spelling_of_the_certified_model_is_refused(
    t0: datetime, model_id: str, pin: str
) -> None:
    """(``"smollm2 "`` under ``--domain`` makes no DNS name at all: unusable input, exit 2.)"""
    lab = Lab(t0)
    leaf, signer = lab.leaf()  # certificate for smollm2.models.lab.example
    receipt = receipt_at(signer, t0 + timedelta(days=1), model=model_id)
    where = {"domain": DOMAIN} if pin == "domain" else {"name": NAME}
    result = verify_receipt_x509(receipt, lab.x5c(leaf), lab.validator(), **where)  # type: ignore[arg-type]
    assert result.status is Status.UNKNOWN_KEY
    assert result.failure is ChainFailure.WRONG_NAME
    # A policy written for the certified spelling never sees it admitted either.
    assert not Policy(models=(MODEL,)).check(result.verification, at=t0 + timedelta(days=1))


def test_the_certified_spelling_verifies(t0: datetime) -> None:
    lab = Lab(t0)
    leaf, signer = lab.leaf()
    receipt = receipt_at(signer, t0 + timedelta(days=1), model=MODEL)
    for where in ({"domain": DOMAIN}, {"name": NAME}, {"name": NAME.upper()}):
        result = verify_receipt_x509(receipt, lab.x5c(leaf), lab.validator(), **where)  # type: ignore[arg-type]
        assert result.status is Status.VALID, (where, result.reasons)
