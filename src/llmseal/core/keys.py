"""Signing keys and public keys.

Ed25519 is the default (seed 004: deterministic, no nonce-reuse failure mode).
ECDSA P-256 exists for HSMs and Web PKI certificates that cannot hold Ed25519.

* :class:`PublicKey` — an algorithm plus raw key bytes (what a key set publishes:
  32 bytes for Ed25519, the 65-byte uncompressed SEC1 point for P-256), with a
  cached ``cryptography`` verifier object.
* :class:`Signer` — the interface every signer implements: a software key here,
  a PKCS#11 token in :mod:`llmseal.trust.pkcs11.token`. Signatures are always 64 bytes
  (Ed25519, or P-256 as the IEEE P1363 ``r || s`` pair).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from llmseal.errors import KeyManagementError, KeySetError

__all__ = [
    "ALGORITHMS",
    "Algorithm",
    "EcdsaP256Signer",
    "Ed25519Signer",
    "PublicKey",
    "Signer",
    "decode_signature",
    "encode_signature",
    "p256_raw_signature",
]

Algorithm = Literal["ed25519", "ecdsa-p256"]
ALGORITHMS: tuple[Algorithm, ...] = ("ed25519", "ecdsa-p256")
_RAW_LENGTH = {"ed25519": 32, "ecdsa-p256": 65}
SIGNATURE_LENGTH = 64

_Verifier = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey
# The P-256 group order. ECDSA signatures (r, s) and (r, n - s) both verify; only
# the low-s form is produced and accepted, so a signature has one spelling.
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A public verification key."""

    algorithm: Algorithm
    raw: bytes
    _verifier: _Verifier = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, algorithm: str, raw: bytes) -> PublicKey:
        """Build from raw bytes; raises :class:`KeySetError` if they are not a key."""
        if algorithm not in _RAW_LENGTH:
            raise KeySetError(f"unsupported key algorithm {algorithm!r}")
        if len(raw) != _RAW_LENGTH[algorithm]:
            raise KeySetError(f"{algorithm} public key must be {_RAW_LENGTH[algorithm]} bytes")
        try:
            verifier: _Verifier
            if algorithm == "ed25519":
                verifier = ed25519.Ed25519PublicKey.from_public_bytes(raw)
            else:
                verifier = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise KeySetError(f"invalid {algorithm} public key: {exc}") from exc
        return cls(algorithm, raw, verifier)  # type: ignore[arg-type]

    @classmethod
    def from_b64(cls, algorithm: str, text: str) -> PublicKey:
        """Build from standard base64 (the key-set ``public_key`` encoding)."""
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise KeySetError("public_key is not standard base64") from exc
        return cls.from_raw(algorithm, raw)

    @classmethod
    def from_cryptography(cls, key: object) -> PublicKey:
        """Wrap a ``cryptography`` Ed25519 or P-256 public key."""
        if isinstance(key, ed25519.Ed25519PublicKey):
            raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            return cls("ed25519", raw, key)
        if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
            raw = key.public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
            return cls("ecdsa-p256", raw, key)
        raise KeyManagementError("only Ed25519 and ECDSA P-256 keys are supported")

    def b64(self) -> str:
        """Standard padded base64 of the raw key."""
        return base64.b64encode(self.raw).decode("ascii")

    def spki_der(self) -> bytes:
        """DER SubjectPublicKeyInfo (what X.509 and DNS tooling want)."""
        return self._verifier.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def fingerprint(self) -> str:
        """Lowercase hex SHA-256 of the SPKI DER: binds a key id to a certificate."""
        return hashlib.sha256(self.spki_der()).hexdigest()

    def verify(self, signature: bytes, data: bytes) -> bool:
        """True iff ``signature`` (64 bytes) is valid over ``data``."""
        if len(signature) != SIGNATURE_LENGTH:
            return False
        try:
            if isinstance(self._verifier, ed25519.Ed25519PublicKey):
                self._verifier.verify(signature, data)
            else:
                r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
                if s > P256_ORDER // 2:
                    return False  # the high-s twin of a valid signature
                self._verifier.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True


@runtime_checkable
class Signer(Protocol):
    """Anything that can sign receipts: a key file, an HSM token, a KMS."""

    @property
    def key_id(self) -> str:
        """The key id receipts name (``key_id``)."""
        ...

    @property
    def algorithm(self) -> Algorithm:
        """``ed25519`` or ``ecdsa-p256``."""
        ...

    def public_key(self) -> PublicKey:
        """The matching public key."""
        ...

    def sign(self, data: bytes) -> bytes:
        """Sign ``data``; returns the 64-byte signature."""
        ...


class Ed25519Signer:
    """A software Ed25519 key held in memory (loaded from a 0600 file by the trust layer)."""

    algorithm: Algorithm = "ed25519"

    def __init__(self, key_id: str, private_key: ed25519.Ed25519PrivateKey) -> None:
        self._key_id = key_id
        self._key = private_key
        self._public = PublicKey.from_cryptography(private_key.public_key())
        self.sign = private_key.sign  # the hot path: no extra Python frame per signature

    @classmethod
    def generate(cls, key_id: str) -> Ed25519Signer:
        """A fresh random key."""
        return cls(key_id, ed25519.Ed25519PrivateKey.generate())

    @property
    def key_id(self) -> str:
        return self._key_id

    def public_key(self) -> PublicKey:
        return self._public

    def __repr__(self) -> str:  # never show key material
        return f"Ed25519Signer(key_id={self._key_id!r})"


class EcdsaP256Signer:
    """A software ECDSA P-256 key; signatures are IEEE P1363 ``r || s`` (64 bytes)."""

    algorithm: Algorithm = "ecdsa-p256"

    def __init__(self, key_id: str, private_key: ec.EllipticCurvePrivateKey) -> None:
        if not isinstance(private_key.curve, ec.SECP256R1):
            raise KeyManagementError("only the P-256 curve is supported for ECDSA")
        self._key_id = key_id
        self._key = private_key
        self._public = PublicKey.from_cryptography(private_key.public_key())

    @classmethod
    def generate(cls, key_id: str) -> EcdsaP256Signer:
        """A fresh random key."""
        return cls(key_id, ec.generate_private_key(ec.SECP256R1()))

    @property
    def key_id(self) -> str:
        return self._key_id

    def public_key(self) -> PublicKey:
        return self._public

    def sign(self, data: bytes) -> bytes:
        r, s = decode_dss_signature(self._key.sign(data, ec.ECDSA(hashes.SHA256())))
        return p256_raw_signature(r, s)

    def __repr__(self) -> str:
        return f"EcdsaP256Signer(key_id={self._key_id!r})"


def p256_raw_signature(r: int, s: int) -> bytes:
    """IEEE P1363 ``r || s`` in the low-s form (what every llmseal P-256 signer emits)."""
    if s > P256_ORDER // 2:
        s = P256_ORDER - s
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def encode_signature(signature: bytes) -> str:
    """Standard padded base64 (seed 004, "Field encodings")."""
    return base64.b64encode(signature).decode("ascii")


def decode_signature(text: str) -> bytes | None:
    """Decode a receipt signature, or None if it is not a canonical 64-byte encoding.

    Accepts standard padded base64 (the v0.3 form) and unpadded base64url (the
    v0.1 form). Anything else — whitespace, missing padding, non-zero trailing
    bits — is refused, so one signature has exactly one accepted spelling.
    """
    try:
        if len(text) == 88:
            raw = base64.b64decode(text, validate=True)
            canonical = base64.b64encode(raw).decode("ascii")
        elif len(text) == 86 and "=" not in text:
            raw = base64.urlsafe_b64decode(text + "==")
            canonical = base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
        else:
            return None
    except (binascii.Error, ValueError):
        return None
    if len(raw) != SIGNATURE_LENGTH or canonical != text:
        return None
    return raw
