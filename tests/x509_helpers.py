"""Test PKIs: a lab hierarchy from the real profile, plus deliberately bad certificates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from llmseal.bench._support.payload import REQUEST, RESPONSE
from llmseal.core.keys import EcdsaP256Signer, Ed25519Signer, Signer
from llmseal.core.receipt import Receipt
from llmseal.core.sign import sign_exchange
from llmseal.trust.x509 import profile
from llmseal.trust.x509.chain import ChainValidator, TrustAnchors
from llmseal.trust.x509.pem import chain_to_pem

DOMAIN = "lab.example"
MODEL = "smollm2"
NAME = f"{MODEL}.models.{DOMAIN}"


@dataclass
class Lab:
    """A root, an intermediate and helpers to issue leaves under them."""

    t0: datetime
    org: str = "Example Lab"
    root_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    inter_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    def __post_init__(self) -> None:
        self.root = profile.build_root(self.root_key, org=self.org, at=self.t0)
        self.inter = profile.build_intermediate(
            self.inter_key, self.root, self.root_key, org=self.org, at=self.t0
        )

    def leaf(
        self,
        *,
        names: tuple[str, ...] = (NAME,),
        algorithm: str = "ecdsa-p256",
        at: datetime | None = None,
        days: int = 365,
    ) -> tuple[x509.Certificate, Signer]:
        key: Any = (
            ed25519.Ed25519PrivateKey.generate()
            if algorithm == "ed25519"
            else ec.generate_private_key(ec.SECP256R1())
        )
        cert = profile.build_leaf(
            key.public_key(),
            self.inter,
            self.inter_key,
            model=MODEL,
            org=self.org,
            dns_names=names,
            at=at or self.t0,
            days=days,
        )
        key_id = profile.spki_key_id(key.public_key())
        signer: Signer = (
            Ed25519Signer(key_id, key) if algorithm == "ed25519" else EcdsaP256Signer(key_id, key)
        )
        return cert, signer

    def x5c(self, leaf: x509.Certificate) -> list[str]:
        return chain_to_pem([leaf, self.inter])

    def validator(self, **kwargs: Any) -> ChainValidator:
        # Verified a day after t0 by default: the lab's CRLs (7 days) are current then.
        kwargs.setdefault("clock", lambda: self.t0 + timedelta(days=1))
        return ChainValidator(TrustAnchors([self.root], source="test root"), **kwargs)


def receipt_at(signer: Signer, at: datetime, model: str = MODEL) -> Receipt:
    return sign_exchange(signer, model_id=model, request=REQUEST, response=RESPONSE, at=at)


def raw_cert(
    subject: str,
    public_key: Any,
    issuer: x509.Certificate | None,
    issuer_key: Any,
    *,
    at: datetime,
    ca: bool,
    names: tuple[str, ...] = (),
    days: int = 365,
    usage: dict[str, bool] | None = None,
    extended_usage: list[x509.ObjectIdentifier] | None = None,
    basic_constraints: bool = True,
) -> x509.Certificate:
    """A certificate with exactly the extensions asked for (for the bad cases).

    ``usage`` overrides keyUsage bits (``{}`` leaves the extension out);
    ``extended_usage`` adds an extendedKeyUsage; ``basic_constraints=False`` leaves
    basicConstraints out.
    """
    subject_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject_name)
        .issuer_name(issuer.subject if issuer else subject_name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(at)
        .not_valid_after(at + timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if basic_constraints:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=ca, path_length=None), critical=True
        )
    bits = dict.fromkeys(
        (
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    bits.update(digital_signature=True, key_cert_sign=ca, crl_sign=ca)
    if usage != {}:
        bits.update(usage or {})
        builder = builder.add_extension(x509.KeyUsage(**bits), critical=True)
    if extended_usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended_usage), critical=False)
    if names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())
