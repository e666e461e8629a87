"""Issue 9, defect 14: a CRL long past its nextUpdate does not satisfy "CRLs required"."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from llmseal.core.verify import Status
from llmseal.trust.x509 import profile
from llmseal.trust.x509.source import X509Verification, verify_receipt_x509
from tests.x509_helpers import NAME, Lab, receipt_at


@pytest.fixture
def lab(t0: datetime) -> Lab:
    return Lab(t0)


def _verify(
    lab: Lab, t0: datetime, *, now: datetime, require: bool, **options: object
) -> X509Verification:
    leaf, signer = lab.leaf()
    crl = profile.build_crl(lab.inter, lab.inter_key, [], at=t0, number=1, days=7)
    validator = lab.validator(crls=[crl], require_crl=require, clock=lambda: now, **options)
    return verify_receipt_x509(
        receipt_at(signer, t0 + timedelta(days=1)), lab.x5c(leaf), validator, name=NAME
    )


@pytest.mark.parametrize("require", [True, False])
def test_a_crl_past_next_update_is_refused(lab: Lab, t0: datetime, require: bool) -> None:
    """Issued within the CRL's life, verified half a year later: the CRL says nothing now."""
    result = _verify(lab, t0, now=t0 + timedelta(days=180), require=require)
    assert result.status is Status.UNKNOWN_KEY
    assert result.failure == "crl_stale"


def test_a_current_crl_is_used(lab: Lab, t0: datetime) -> None:
    result = _verify(lab, t0, now=t0 + timedelta(days=6), require=True)
    assert result.status is Status.VALID


def test_grace_covers_a_late_publication(lab: Lab, t0: datetime) -> None:
    late = t0 + timedelta(days=8)
    assert _verify(lab, t0, now=late, require=True).failure == "crl_stale"
    kept = _verify(lab, t0, now=late, require=True, crl_grace=timedelta(days=2))
    assert kept.status is Status.VALID
