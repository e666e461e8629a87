"""The model-certificate profile: what a lab's root, intermediate and model leaves contain.

Seed 000, "Signing Certificates: Just Use X.509"::

    Root CA: <Org> Model Signing Root
    └── Intermediate: <Org> Model Signing Authority
        └── Leaf: CN=<model>, O=<Org>
            Key Usage: Digital Signature
            Subject Alternative Name: DNS:<model>.models.<domain>

The certificates follow the CA/Browser Forum profile that
``cryptography.x509.verification`` enforces, so the same verifier that checks a
TLS server chain checks a model chain: CA certificates carry a critical
basicConstraints (``cA``) and keyUsage ``keyCertSign``/``cRLSign``, every
certificate carries a subjectKeyIdentifier and every issued one an
authorityKeyIdentifier (RFC 5280 §4.2.1.1-2). CA keys are ECDSA P-256: the Web
PKI policy forbids Ed25519 *signatures* on certificates, but accepts an Ed25519
*leaf key* under an ECDSA CA ("Ed25519 where a private anchor allows").

A leaf's key id is ``spki-sha256:`` + base64url(SHA-256(SubjectPublicKeyInfo DER)),
the same spelling llm_sign uses, so one certificate has one key id in both formats.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from llmseal.core import _time
from llmseal.errors import ConfigError, InputError

__all__ = [
    "INTERMEDIATE_DAYS",
    "LEAF_DAYS",
    "ROOT_DAYS",
    "CaKey",
    "LeafKey",
    "Revocation",
    "build_crl",
    "build_intermediate",
    "build_leaf",
    "build_root",
    "check_dns_name",
    "model_dns_name",
    "spki_key_id",
]

ROOT_DAYS = 3650
INTERMEDIATE_DAYS = 1825
LEAF_DAYS = 365

CaKey = ec.EllipticCurvePrivateKey
LeafKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

_LABEL = re.compile(r"\A[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")


def spki_key_id(public_key: object) -> str:
    """``spki-sha256:<base64url(SHA-256(SPKI DER))>``: the key id a leaf's receipts carry."""
    try:
        spki = public_key.public_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    except (AttributeError, TypeError, ValueError) as exc:
        raise InputError("not a public key with a SubjectPublicKeyInfo") from exc
    digest = hashlib.sha256(spki).digest()
    return "spki-sha256:" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def check_dns_name(name: str) -> str:
    """Lowercase ``name`` and check it is a host name of 2+ LDH labels (RFC 1123 §2.1)."""
    lowered = name.strip().lower().rstrip(".")
    labels = lowered.split(".")
    if len(lowered) > 253 or len(labels) < 2 or not all(_LABEL.match(lb) for lb in labels):
        raise InputError(f"{name!r} is not a DNS host name (letters, digits, '-', dots)")
    return lowered


def model_dns_name(model: str, domain: str) -> str:
    """``<model>.models.<domain>`` (seed 000); raises InputError if that is not a host name."""
    try:
        return check_dns_name(f"{model}.models.{domain}")
    except InputError:
        raise InputError(
            f"model {model!r} under {domain!r} does not make a DNS name; give the name explicitly"
        ) from None


def _name(common_name: str, org: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _window(at: datetime, days: int, cap: datetime | None) -> tuple[datetime, datetime]:
    if days < 1:
        raise ConfigError("a certificate must be valid for at least one day")
    # X.509 times have second precision; a fraction would be silently dropped.
    start = _time.utc(at).replace(microsecond=0)
    end = start + timedelta(days=days)
    if cap is not None:
        end = min(end, cap)
    if end <= start:
        raise ConfigError("the issuing certificate expires before the new one would start")
    return start, end


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: object,
    window: tuple[datetime, datetime],
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(window[0])
        .not_valid_after(window[1])
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(public_key),  # type: ignore[arg-type]
            critical=False,
        )
    )


def _check_ca_key(key: object) -> CaKey:
    if not (isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)):
        raise ConfigError("CA keys must be ECDSA P-256 (Web PKI forbids Ed25519 CA signatures)")
    return key


def build_root(key: CaKey, *, org: str, at: datetime, days: int = ROOT_DAYS) -> x509.Certificate:
    """A self-signed root ("<org> Model Signing Root"), path length 1."""
    _check_ca_key(key)
    name = _name(f"{org} Model Signing Root", org)
    builder = (
        _builder(name, name, key.public_key(), _window(at, days, None))
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
        )
    )
    return builder.sign(key, hashes.SHA256())


def build_intermediate(
    key: CaKey,
    root: x509.Certificate,
    root_key: CaKey,
    *,
    org: str,
    at: datetime,
    days: int = INTERMEDIATE_DAYS,
) -> x509.Certificate:
    """The issuing CA ("<org> Model Signing Authority"), path length 0."""
    _check_ca_key(key)
    _check_ca_key(root_key)
    window = _window(at, days, root.not_valid_after_utc)
    builder = (
        _builder(
            _name(f"{org} Model Signing Authority", org), root.subject, key.public_key(), window
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
            critical=False,
        )
    )
    return builder.sign(root_key, hashes.SHA256())


def build_leaf(
    public_key: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey,
    issuer: x509.Certificate,
    issuer_key: CaKey,
    *,
    model: str,
    org: str,
    dns_names: Sequence[str],
    at: datetime,
    days: int = LEAF_DAYS,
) -> x509.Certificate:
    """A model leaf: CN=<model>, SAN DNS names, keyUsage digitalSignature only."""
    _check_ca_key(issuer_key)
    if not dns_names:
        raise ConfigError("a model certificate needs at least one DNS name")
    names = [x509.DNSName(check_dns_name(n)) for n in dns_names]
    window = _window(at, days, issuer.not_valid_after_utc)
    builder = (
        _builder(_name(model[:64], org), issuer.subject, public_key, window)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass(frozen=True, slots=True)
class Revocation:
    """One revoked certificate: its serial, when, why, and since when its key is suspect."""

    serial: int
    revoked_at: datetime
    reason: x509.ReasonFlags | None = None
    compromised_since: datetime | None = None


def build_crl(
    issuer: x509.Certificate,
    issuer_key: CaKey,
    revocations: Iterable[Revocation],
    *,
    at: datetime,
    number: int,
    days: int = 7,
) -> x509.CertificateRevocationList:
    """An RFC 5280 §5 CRL signed by ``issuer``.

    ``compromised_since`` becomes the invalidity-date entry extension (§5.3.2):
    a verifier treats the key as revoked from that earlier moment on.
    """
    start, end = _window(at, days, None)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(start)
        .next_update(end)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    for item in revocations:
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(item.serial)
            .revocation_date(_time.utc(item.revoked_at).replace(microsecond=0))
        )
        if item.reason is not None:
            entry = entry.add_extension(x509.CRLReason(item.reason), critical=False)
        if item.compromised_since is not None:
            since = _time.utc(item.compromised_since).replace(microsecond=0, tzinfo=None)
            entry = entry.add_extension(x509.InvalidityDate(since), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(issuer_key, hashes.SHA256())
