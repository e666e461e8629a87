"""The CA directory: profile of what it issues, file modes, refusal to overwrite, CRLs."""

from __future__ import annotations

import stat
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.verification import PolicyBuilder, Store

from llmseal.core.keyset import KeySet
from llmseal.errors import ConfigError, InputError, KeyManagementError
from llmseal.trust.keydir import KeyDirectory
from llmseal.trust.x509.ca import CertificateAuthority
from llmseal.trust.x509.pem import load_anchor_file, load_crl_file


@pytest.fixture
def authority(tmp_path: Path, t0: datetime) -> CertificateAuthority:
    ca = CertificateAuthority(tmp_path / "ca")
    ca.init(domain="Lab.Example", org="Example Lab", at=t0)
    return ca


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_layout_and_modes(authority: CertificateAuthority) -> None:
    assert _mode(authority.path) == 0o700
    assert _mode(authority.path / "root.key") == 0o600
    assert _mode(authority.path / "intermediate.key") == 0o600
    assert authority.info() == {"domain": "lab.example", "org": "Example Lab"}
    root, inter = authority.root(), authority.intermediate()
    assert root.subject.rfc4514_string() == "CN=Example Lab Model Signing Root,O=Example Lab"
    assert "Model Signing Authority" in inter.subject.rfc4514_string()
    for cert in (root, inter):
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
        assert constraints.critical and constraints.value.ca
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        assert usage.key_cert_sign and usage.crl_sign
        cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    assert inter.not_valid_after_utc <= root.not_valid_after_utc


def test_init_twice_is_refused(authority: CertificateAuthority, t0: datetime) -> None:
    root = authority.root_path.read_bytes()
    with pytest.raises(KeyManagementError, match="already holds a CA"):
        authority.init(domain="lab.example", org="x", at=t0)
    assert authority.root_path.read_bytes() == root


@pytest.mark.parametrize("algorithm", ["ecdsa-p256", "ed25519"])
def test_issued_leaf_profile(authority: CertificateAuthority, t0: datetime, algorithm: str) -> None:
    issued = authority.issue("smollm2", at=t0, algorithm=algorithm)
    assert _mode(issued.key_path) == 0o600
    leaf = load_anchor_file(issued.cert_path)[0]
    chain = load_anchor_file(issued.chain_path)
    assert chain[0] == leaf and chain[1] == authority.intermediate() and len(chain) == 2
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["smollm2.models.lab.example"]
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and not usage.value.key_cert_sign
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc == timedelta(days=365)
    key_type = ed25519.Ed25519PublicKey if algorithm == "ed25519" else ec.EllipticCurvePublicKey
    assert isinstance(leaf.public_key(), key_type)
    # cryptography's CA/B Forum verifier accepts the chain as it is.
    verifier = (
        PolicyBuilder()
        .store(Store([authority.root()]))
        .time(t0 + timedelta(days=1))
        .build_server_verifier(x509.DNSName("smollm2.models.lab.example"))
    )
    assert len(verifier.verify(leaf, chain[1:])) == 3


def test_issue_with_names_days_and_keydir(
    authority: CertificateAuthority, tmp_path: Path, t0: datetime
) -> None:
    keydir = KeyDirectory(tmp_path / "keys")
    issued = authority.issue(
        "gemma-3",
        at=t0,
        dns_names=["gemma-3.models.lab.example", "gemma-3.2026q2.models.lab.example"],
        days=30,
        keydir=keydir,
    )
    assert issued.not_after - issued.not_before == timedelta(days=30)
    entry = KeySet.from_json(keydir.keyset_path.read_bytes()).resolve(issued.key_id)
    assert entry is not None and entry.public_key.algorithm == "ecdsa-p256"
    assert keydir.signer(issued.key_id).public_key() == entry.public_key
    assert [c["serial"] for c in authority.certificates()] == [issued.serial]


def test_leaf_never_outlives_the_intermediate(authority: CertificateAuthority) -> None:
    late = authority.intermediate().not_valid_after_utc - timedelta(days=10)
    issued = authority.issue("smollm2", at=late, days=365)
    assert issued.not_after == authority.intermediate().not_valid_after_utc


@pytest.mark.parametrize("model", ["", "../x", "a/b", ".hidden"])
def test_bad_model_names(authority: CertificateAuthority, t0: datetime, model: str) -> None:
    with pytest.raises(ConfigError):
        authority.issue(model, at=t0)


def test_model_that_is_not_a_dns_label_needs_a_name(
    authority: CertificateAuthority, t0: datetime
) -> None:
    with pytest.raises(InputError, match="give the name explicitly"):
        authority.issue("Model_V1", at=t0)
    authority.issue("Model_V1", at=t0, dns_names=["model-v1.models.lab.example"])  # no error


def test_revoke_and_crl(authority: CertificateAuthority, t0: datetime) -> None:
    first = authority.issue("smollm2", at=t0)
    second = authority.issue("smollm2", at=t0 + timedelta(days=1))
    revoked = authority.revoke("smollm2", at=t0 + timedelta(days=2), reason="superseded")
    assert format(revoked.serial, "x") == second.serial  # a model's newest leaf
    authority.revoke(first.serial.upper(), at=t0 + timedelta(days=3))
    with pytest.raises(KeyManagementError, match="already revoked"):
        authority.revoke(first.serial, at=t0 + timedelta(days=4))
    crl = load_crl_file(authority.crl_path)
    assert crl.is_signature_valid(authority.intermediate().public_key())  # type: ignore[arg-type]
    assert {r.serial_number for r in crl} == {int(first.serial, 16), int(second.serial, 16)}
    number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    authority.publish_crl(at=t0 + timedelta(days=5))
    newer = load_crl_file(authority.crl_path)
    assert newer.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number > number
    statuses = {c["serial"]: c["revoked_at"] for c in authority.certificates()}
    assert all(statuses.values())


def test_revoke_unknown_and_bad_reason(authority: CertificateAuthority, t0: datetime) -> None:
    with pytest.raises(KeyManagementError, match="no certificate"):
        authority.revoke("nope", at=t0)
    with pytest.raises(ConfigError, match="unknown CRL reason"):
        authority.revoke("nope", at=t0, reason="because")


def test_not_a_ca_directory(tmp_path: Path, t0: datetime) -> None:
    with pytest.raises(KeyManagementError, match="not a CA directory"):
        CertificateAuthority(tmp_path / "empty").issue("m", at=t0)


def test_key_files_are_never_overwritten(authority: CertificateAuthority, t0: datetime) -> None:
    key = (authority.path / "intermediate.key").read_bytes()
    (authority.path / "ca.json").unlink()
    with pytest.raises(KeyManagementError, match="refusing to overwrite"):
        authority.init(domain="lab.example", org="x", at=t0)
    assert (authority.path / "intermediate.key").read_bytes() == key


def test_group_readable_ca_key_is_refused(authority: CertificateAuthority, t0: datetime) -> None:
    (authority.path / "intermediate.key").chmod(0o640)
    with pytest.raises(KeyManagementError, match="chmod 600"):
        authority.issue("smollm2", at=t0)


def test_crls_carry_reasons_dates_and_numbers(
    authority: CertificateAuthority, t0: datetime
) -> None:
    first = authority.issue("smollm2", at=t0)
    second = authority.issue("gemma", at=t0)
    # A serial may be given with a 0x prefix and in any case.
    authority.revoke("0x" + first.serial.upper(), at=t0 + timedelta(days=2), reason="superseded",
                     crl_days=3)  # fmt: skip
    crl = load_crl_file(authority.crl_path)
    assert crl.next_update_utc == crl.last_update_utc + timedelta(days=3)
    one = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    entry = crl.get_revoked_certificate_by_serial_number(int(first.serial, 16))
    assert entry is not None
    reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    assert reason is x509.ReasonFlags.superseded
    authority.revoke(second.serial, at=t0 + timedelta(days=3))  # no reason, default window
    crl = load_crl_file(authority.crl_path)
    assert crl.next_update_utc == crl.last_update_utc + timedelta(days=7)
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == one + 1
    plain = crl.get_revoked_certificate_by_serial_number(int(second.serial, 16))
    assert plain is not None and len(plain.extensions) == 0
    # Re-published: every revocation keeps its reason, the number goes up by one.
    out = authority.publish_crl(at=t0 + timedelta(days=4), out=authority.path / "again.pem")
    again = load_crl_file(out)
    assert again.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == one + 2
    assert again.next_update_utc == again.last_update_utc + timedelta(days=7)
    kept = again.get_revoked_certificate_by_serial_number(int(first.serial, 16))
    assert kept is not None
    assert kept.extensions.get_extension_for_class(x509.CRLReason).value.reason is (
        x509.ReasonFlags.superseded
    )
    with pytest.raises(KeyManagementError) as info:
        authority.revoke("0xnope", at=t0)
    assert str(info.value) == "no certificate with serial or model '0xnope'"
