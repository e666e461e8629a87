"""Signed-note keys: C2SP key IDs, verifier-key text (vkeys) and Ed25519 (type 0x01).

* key ID = SHA-256(name || 0x0A || type byte || public key)[:4] (signed-note,
  "Signatures"), as a uint32.
* vkey = ``<name>+<8 lowercase hex key ID>+<base64(type byte || public key)>``;
  it is split on the first two ``+`` only, since base64 contains ``+``.
* signer key text (Go's ``note`` package form, so its tools can use our keys) =
  ``PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || 32-byte seed)>``. It lives in
  a 0600 file only, never in a log line or an HTTP answer.

:func:`load_verifier` turns a vkey into a :class:`~llmseal.log.note.note.NoteVerifier`
by its type byte. Ed25519 (0x01) is built in; other modules add their types with
:func:`register_signature_type` (witness cosignatures, 0x04).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar, Generic, Self, TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from llmseal.errors import LogFormatError
from llmseal.log.note.note import NoteVerifier, check_key_name, decode_b64

__all__ = [
    "SIG_COSIGNATURE",
    "SIG_ED25519",
    "Ed25519Key",
    "Ed25519NoteSigner",
    "Ed25519NoteVerifier",
    "Ed25519Signer",
    "VerifierKey",
    "key_id",
    "load_verifier",
    "register_signature_type",
]

SIG_ED25519 = 0x01
SIG_COSIGNATURE = 0x04  # timestamped Ed25519 cosignature, c2sp.org/tlog-cosignature
_HEX_ID = re.compile(r"\A[0-9a-f]{8}\Z")
_SKEY_PREFIX = "PRIVATE+KEY+"


def key_id(name: str, sig_type: int, public: bytes) -> int:
    """The recommended C2SP key ID of a key, as a uint32."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([sig_type]) + public).digest()
    return int.from_bytes(digest[:4], "big")


@dataclass(frozen=True, slots=True)
class VerifierKey:
    """A parsed vkey: what a verifier is configured with."""

    name: str
    key_id: int
    sig_type: int
    public: bytes

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        """Parse vkey text; :class:`LogFormatError` if it is not one."""
        text = text.strip()
        parts = text.split("+", 2)
        if len(parts) != 3:
            raise LogFormatError("a verifier key is <name>+<hex key ID>+<base64 key>")
        name, hex_id, b64 = parts
        check_key_name(name)
        if not _HEX_ID.match(hex_id):
            raise LogFormatError("a verifier key ID is 8 lowercase hex digits")
        raw = decode_b64(b64, "verifier key")
        if len(raw) < 2:
            raise LogFormatError("a verifier key has a type byte and key material")
        return cls(name, int(hex_id, 16), raw[0], raw[1:])

    def __str__(self) -> str:
        key = base64.b64encode(bytes([self.sig_type]) + self.public).decode("ascii")
        return f"{self.name}+{self.key_id:08x}+{key}"


@dataclass(frozen=True, slots=True)
class Ed25519Key:
    """An Ed25519 public key under a key name, for one signature type.

    The key ID commits to the type byte, so one public key gives different IDs as
    a log key (0x01) and as a cosigner key (0x04): a signature of one kind never
    matches a verifier of the other. Subclasses set ``SIG_TYPE`` and ``verify``.
    """

    SIG_TYPE: ClassVar[int]
    KIND: ClassVar[str] = "Ed25519"
    name: str
    public: bytes
    key_id: int = field(init=False)
    _key: ed25519.Ed25519PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if len(self.public) != 32:
            raise LogFormatError("an Ed25519 public key is 32 bytes")
        try:
            key = ed25519.Ed25519PublicKey.from_public_bytes(self.public)
        except ValueError as exc:
            raise LogFormatError(f"invalid Ed25519 public key: {exc}") from exc
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "key_id", key_id(self.name, self.SIG_TYPE, self.public))

    @classmethod
    def from_vkey(cls, vkey: VerifierKey) -> Self:
        """Build from a parsed vkey; its key ID must be the derived one (as Go requires)."""
        if vkey.sig_type != cls.SIG_TYPE:
            raise LogFormatError(
                f"verifier key type 0x{vkey.sig_type:02x} is not 0x{cls.SIG_TYPE:02x} ({cls.KIND})"
            )
        verifier = cls(vkey.name, vkey.public)
        if verifier.key_id != vkey.key_id:
            raise LogFormatError(f"verifier key {vkey.name}: key ID does not match the key")
        return verifier

    def _valid(self, signature: bytes, message: bytes) -> bool:
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def vkey(self) -> str:
        """The vkey text that names this key."""
        return str(VerifierKey(self.name, self.key_id, self.SIG_TYPE, self.public))


@dataclass(frozen=True, slots=True)
class Ed25519NoteVerifier(Ed25519Key):
    """Verifies Ed25519 (type 0x01) note signatures: 64 bytes over the note text."""

    SIG_TYPE: ClassVar[int] = SIG_ED25519

    def verify(self, text: bytes, signature: bytes) -> bool:
        return len(signature) == 64 and self._valid(signature, text)


V = TypeVar("V", bound=Ed25519Key)


class Ed25519Signer(Generic[V]):
    """An Ed25519 private key under a key name; subclasses say which verifier it makes
    and how it signs. Its key text (``skey``) carries the verifier's type byte."""

    SIG_TYPE: ClassVar[int]

    def __init__(self, name: str, private_key: ed25519.Ed25519PrivateKey) -> None:
        public = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self._verifier: V = self._verifier_for(check_key_name(name), public)
        self._key = private_key

    @classmethod
    def _verifier_for(cls, name: str, public: bytes) -> V:
        raise NotImplementedError

    @classmethod
    def generate(cls, name: str) -> Self:
        """A fresh random key."""
        return cls(name, ed25519.Ed25519PrivateKey.generate())

    @classmethod
    def from_skey(cls, text: str) -> Self:
        """Parse signer key text (never echoed in errors: it is secret)."""
        text = text.strip()
        sig_type = cls.SIG_TYPE
        if not text.startswith(_SKEY_PREFIX):
            raise LogFormatError("not a signer key (PRIVATE+KEY+...)")
        try:
            vkey = VerifierKey.parse(text[len(_SKEY_PREFIX) :])
        except LogFormatError:
            raise LogFormatError("malformed signer key") from None
        if vkey.sig_type != sig_type or len(vkey.public) != 32:
            raise LogFormatError(f"signer key is not a type 0x{sig_type:02x} Ed25519 seed")
        signer = cls(vkey.name, ed25519.Ed25519PrivateKey.from_private_bytes(vkey.public))
        if signer.key_id != vkey.key_id:
            raise LogFormatError("signer key: key ID does not match the key")
        return signer

    @property
    def name(self) -> str:
        return self._verifier.name

    @property
    def key_id(self) -> int:
        return self._verifier.key_id

    def verifier(self) -> V:
        """The matching verifier."""
        return self._verifier

    def vkey(self) -> str:
        return self._verifier.vkey()

    def skey(self) -> str:
        """The secret signer key text, for the 0600 key file only."""
        seed = self._key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        key = base64.b64encode(bytes([self.SIG_TYPE]) + seed).decode("ascii")
        return f"{_SKEY_PREFIX}{self.name}+{self.key_id:08x}+{key}"

    def __repr__(self) -> str:  # never show key material
        return f"{type(self).__name__}({self.vkey()!r})"


class Ed25519NoteSigner(Ed25519Signer[Ed25519NoteVerifier]):
    """Signs notes with an Ed25519 key (type 0x01)."""

    SIG_TYPE: ClassVar[int] = SIG_ED25519

    @classmethod
    def _verifier_for(cls, name: str, public: bytes) -> Ed25519NoteVerifier:
        return Ed25519NoteVerifier(name, public)

    def sign(self, text: bytes) -> bytes:
        return self._key.sign(text)


_FACTORIES: dict[int, Callable[[VerifierKey], NoteVerifier]] = {
    SIG_ED25519: Ed25519NoteVerifier.from_vkey,
}


def register_signature_type(sig_type: int, factory: Callable[[VerifierKey], NoteVerifier]) -> None:
    """Teach :func:`load_verifier` a signature type (done once, at import of its module)."""
    _FACTORIES[sig_type] = factory


def load_verifier(vkey: str | VerifierKey) -> NoteVerifier:
    """A verifier for vkey text, by its type byte.

    Raises:
        LogFormatError: not a vkey, an unsupported type, or a key ID that does not
            match the key.
    """
    parsed = VerifierKey.parse(vkey) if isinstance(vkey, str) else vkey
    factory = _FACTORIES.get(parsed.sig_type)
    if factory is None:
        raise LogFormatError(f"unsupported verifier key type 0x{parsed.sig_type:02x}")
    return factory(parsed)
