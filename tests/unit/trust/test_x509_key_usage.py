"""Issue 9, defect 13: a leaf whose keyUsage lacks digitalSignature signs no valid receipt."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from llmseal.core.keys import EcdsaP256Signer
from llmseal.core.verify import Status
from llmseal.trust.x509 import profile
from llmseal.trust.x509.chain import ChainFailure
from llmseal.trust.x509.pem import chain_to_pem
from llmseal.trust.x509.source import verify_receipt_x509
from tests.x509_helpers import NAME, Lab, raw_cert, receipt_at


def _verify(t0: datetime, **cert: Any) -> Any:
    lab = Lab(t0)
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = raw_cert("m", key.public_key(), lab.inter, lab.inter_key, at=t0, ca=False,
                    names=(NAME,), **cert)  # fmt: skip
    signer = EcdsaP256Signer(profile.spki_key_id(key.public_key()), key)
    receipt = receipt_at(signer, t0 + timedelta(days=1))
    return verify_receipt_x509(receipt, chain_to_pem([leaf, lab.inter]), lab.validator(), name=NAME)


@pytest.mark.parametrize(
    "usage",
    [{"digital_signature": False, "key_encipherment": True},
     {"digital_signature": False, "key_agreement": True}, {}],
    ids=["key-encipherment-only", "key-agreement-only", "no-key-usage"],
)  # fmt: skip
def test_a_leaf_that_may_not_sign_is_refused(t0: datetime, usage: dict[str, bool]) -> None:
    result = _verify(t0, usage=usage)
    assert result.status is Status.UNKNOWN_KEY
    assert result.failure is ChainFailure.KEY_USAGE


def test_the_profile_leaf_still_verifies(t0: datetime) -> None:
    assert _verify(t0).status is Status.VALID


def test_an_extended_key_usage_without_server_auth_is_refused(t0: datetime) -> None:
    """Left to the Web-PKI profile, which requires serverAuth once an EKU is present."""
    result = _verify(t0, extended_usage=[ExtendedKeyUsageOID.CODE_SIGNING])
    assert result.status is Status.UNKNOWN_KEY
