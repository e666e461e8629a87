"""CRL revocation as of issued_at: a revoked leaf fails only for receipts from then on."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from llmseal.core.verify import Status
from llmseal.trust.x509 import profile
from llmseal.trust.x509.chain import ChainFailure
from llmseal.trust.x509.source import verify_receipt_x509
from tests.x509_helpers import NAME, Lab, receipt_at


@pytest.fixture
def lab(t0: datetime) -> Lab:
    return Lab(t0)


def _crl(
    lab: Lab, *revocations: profile.Revocation, at: datetime
) -> x509.CertificateRevocationList:
    return profile.build_crl(lab.inter, lab.inter_key, revocations, at=at, number=1)


def test_revoked_before_issued_at_is_revoked(lab: Lab, t0: datetime) -> None:
    leaf, signer = lab.leaf()
    revoked_at = t0 + timedelta(days=10)
    crl = _crl(lab, profile.Revocation(leaf.serial_number, revoked_at), at=revoked_at)
    validator = lab.validator(crls=[crl])
    before = receipt_at(signer, revoked_at - timedelta(seconds=1))
    at_revocation = receipt_at(signer, revoked_at)
    after = receipt_at(signer, revoked_at + timedelta(days=1))
    assert verify_receipt_x509(before, lab.x5c(leaf), validator, name=NAME).status is Status.VALID
    for receipt in (at_revocation, after):
        result = verify_receipt_x509(receipt, lab.x5c(leaf), validator, name=NAME)
        assert result.status is Status.REVOKED
        assert result.failure is ChainFailure.REVOKED
        assert result.to_dict()["x509"]["chain"] == "revoked"


def test_invalidity_date_moves_revocation_earlier(lab: Lab, t0: datetime) -> None:
    leaf, signer = lab.leaf()
    compromised = t0 + timedelta(days=3)
    entry = profile.Revocation(
        leaf.serial_number,
        t0 + timedelta(days=10),
        x509.ReasonFlags.key_compromise,
        compromised_since=compromised,
    )
    validator = lab.validator(crls=[_crl(lab, entry, at=t0 + timedelta(days=10))])
    receipt = receipt_at(signer, t0 + timedelta(days=5))  # after compromise, before revocation
    result = verify_receipt_x509(receipt, lab.x5c(leaf), validator, name=NAME)
    assert result.status is Status.REVOKED


def test_other_serials_on_the_crl_do_not_matter(lab: Lab, t0: datetime) -> None:
    leaf, signer = lab.leaf()
    other, _ = lab.leaf()
    crl = _crl(lab, profile.Revocation(other.serial_number, t0), at=t0 + timedelta(days=1))
    validator = lab.validator(crls=[crl], require_crl=True)
    receipt = receipt_at(signer, t0 + timedelta(days=2))
    assert verify_receipt_x509(receipt, lab.x5c(leaf), validator, name=NAME)


def test_required_crl_missing_fails_closed(lab: Lab, t0: datetime) -> None:
    leaf, signer = lab.leaf()
    stranger = Lab(t0, org="Other Lab")
    crl = profile.build_crl(stranger.inter, stranger.inter_key, [], at=t0, number=1)
    validator = lab.validator(crls=[crl], require_crl=True)
    result = verify_receipt_x509(receipt_at(signer, t0), lab.x5c(leaf), validator, name=NAME)
    assert result.failure is ChainFailure.CRL_MISSING
    assert result.status is Status.UNKNOWN_KEY


def test_forged_crl_is_an_error_not_ignored(lab: Lab, t0: datetime) -> None:
    """A CRL naming the lab's intermediate but signed by someone else."""
    leaf, signer = lab.leaf()
    forger = ec.generate_private_key(ec.SECP256R1())
    forged = profile.build_crl(lab.inter, forger, [], at=t0, number=1)
    validator = lab.validator(crls=[forged])
    result = verify_receipt_x509(receipt_at(signer, t0), lab.x5c(leaf), validator, name=NAME)
    assert result.failure is ChainFailure.CRL_INVALID


def test_revoked_intermediate_by_root_crl(lab: Lab, t0: datetime) -> None:
    leaf, signer = lab.leaf()
    arl = profile.build_crl(
        lab.root,
        lab.root_key,
        [profile.Revocation(lab.inter.serial_number, t0 + timedelta(days=1))],
        at=t0 + timedelta(days=1),
        number=1,
    )
    validator = lab.validator(crls=[arl])
    early = receipt_at(signer, t0)
    late = receipt_at(signer, t0 + timedelta(days=2))
    assert verify_receipt_x509(early, lab.x5c(leaf), validator, name=NAME)
    assert verify_receipt_x509(late, lab.x5c(leaf), validator, name=NAME).status is Status.REVOKED


def _path(lab: Lab) -> list[x509.Certificate]:
    leaf, _ = lab.leaf()
    return [leaf, lab.inter, lab.root]


@pytest.mark.parametrize("order", ["genuine first", "forged first"])
def test_a_forged_crl_beside_a_genuine_one_is_invalid(lab: Lab, t0: datetime, order: str) -> None:
    from llmseal.errors import ChainValidationError
    from llmseal.trust.x509.crl import RevocationIndex

    path = _path(lab)
    genuine = _crl(lab, at=t0)
    thief = ec.generate_private_key(ec.SECP256R1())
    forged = profile.build_crl(
        lab.inter, thief, [profile.Revocation(path[0].serial_number, t0)], at=t0, number=2
    )
    crls = [genuine, forged] if order == "genuine first" else [forged, genuine]
    index = RevocationIndex(crls, clock=lambda: t0)
    for _ in range(2):  # the memoized verdict is the same verdict
        with pytest.raises(ChainValidationError) as info:
            index.revoked_at(path)
        assert info.value.failure == "crl_invalid"
    assert RevocationIndex([genuine], clock=lambda: t0).revoked_at(path) is None
    assert len(index) == 2


def test_a_crl_whose_signature_type_does_not_match_the_ca_key_is_invalid(
    lab: Lab, t0: datetime
) -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from llmseal.errors import ChainValidationError
    from llmseal.trust.x509.crl import RevocationIndex

    path = _path(lab)
    forged = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(lab.inter.subject)
        .last_update(t0)
        .next_update(t0 + timedelta(days=1))
        .sign(ed25519.Ed25519PrivateKey.generate(), None)  # an EdDSA signature, an EC CA key
    )
    with pytest.raises(ChainValidationError) as info:
        RevocationIndex([forged], clock=lambda: t0).revoked_at(path)
    assert info.value.failure == "crl_invalid"


def test_an_issuer_key_that_cannot_check_signatures_makes_the_crl_invalid(
    lab: Lab, t0: datetime
) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import x25519

    from llmseal.errors import ChainValidationError
    from llmseal.trust.x509.crl import RevocationIndex

    leaf, _ = lab.leaf()
    # A certificate for the intermediate's name holding a key-agreement key: nothing it
    # "signed" can verify (cryptography raises instead of answering False).
    odd = (
        x509.CertificateBuilder()
        .subject_name(lab.inter.subject)
        .issuer_name(lab.root.subject)
        .public_key(x25519.X25519PrivateKey.generate().public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(t0)
        .not_valid_after(t0 + timedelta(days=1))
        .sign(lab.root_key, hashes.SHA256())
    )
    with pytest.raises(ChainValidationError) as info:
        RevocationIndex([_crl(lab, at=t0)], clock=lambda: t0).revoked_at([leaf, odd])
    assert info.value.failure == "crl_invalid"


def test_crl_profile(lab: Lab, t0: datetime) -> None:
    leaf, _ = lab.leaf()
    revoked = t0.replace(microsecond=0) + timedelta(hours=1, microseconds=987)
    since = t0 + timedelta(minutes=5, microseconds=5)
    entry = profile.Revocation(leaf.serial_number, revoked, x509.ReasonFlags.key_compromise,
                               compromised_since=since)  # fmt: skip
    crl = profile.build_crl(lab.inter, lab.inter_key, [entry], at=t0, number=41)
    assert crl.issuer == lab.inter.subject
    assert crl.last_update_utc == t0 and crl.next_update_utc == t0 + timedelta(days=7)
    number = crl.extensions.get_extension_for_class(x509.CRLNumber)
    assert number.value.crl_number == 41 and not number.critical  # RFC 5280 §5.2.3
    assert all(not ext.critical for ext in crl.extensions)
    [item] = list(crl)
    assert item.serial_number == leaf.serial_number
    assert item.revocation_date_utc == revoked.replace(microsecond=0)
    reason = item.extensions.get_extension_for_class(x509.CRLReason)
    assert reason.value.reason is x509.ReasonFlags.key_compromise and not reason.critical
    invalidity = item.extensions.get_extension_for_class(x509.InvalidityDate)
    assert not invalidity.critical
    assert invalidity.value.invalidity_date_utc == since.replace(microsecond=0)
    week = profile.build_crl(lab.inter, lab.inter_key, [], at=t0, number=1, days=1)
    assert week.next_update_utc == t0 + timedelta(days=1)
