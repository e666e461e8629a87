"""Witness cosignatures (c2sp.org/tlog-cosignature, Ed25519, signature type 0x04).

A cosignature is a note signature line on a checkpoint. Its bytes (after the key
ID) are a ``timestamped_signature``: a big-endian u64 POSIX time, then a 64-byte
Ed25519 signature over::

    cosignature/v1
    time <timestamp>
    <the whole checkpoint note text, final newline included>

The key ID is SHA-256(name || LF || 0x04 || public key)[:4] ("Format"). The
message does not commit to the cosigner's name, so each cosigner identity needs
its own key. Semantically (spec, "Ed25519 signed message") the witness says: *as
of this time, this is the largest consistent tree I have seen for this origin* —
which is what makes a cosignature a proof that the tree existed by then.

Importing this module registers type 0x04 with :func:`~.notekeys.load_verifier`.
The signer's key text uses Go's ``PRIVATE+KEY+`` layout with type byte 0x04, so a
witness key can never be mistaken for a log key (0x01) and vice versa.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from llmseal.errors import LogFormatError
from llmseal.log.note import NoteSignature, check_key_name
from llmseal.log.notekeys import (
    SIG_COSIGNATURE,
    VerifierKey,
    key_id,
    register_signature_type,
)

__all__ = [
    "COSIGNATURE_SIZE",
    "MAX_TIMESTAMP",
    "CosignatureSigner",
    "CosignatureVerifier",
    "cosignature_time",
    "cosigned_message",
]

COSIGNATURE_SIZE = 8 + 64  # u64 timestamp || Ed25519 signature
MAX_TIMESTAMP = (1 << 63) - 1  # "It MUST NOT exceed 2^63 - 1"
_SKEY_PREFIX = "PRIVATE+KEY+"


def cosigned_message(text: bytes, timestamp: int) -> bytes:
    """What an Ed25519 cosignature signs: header line, time line, checkpoint text."""
    return b"cosignature/v1\ntime %d\n" % timestamp + text


def cosignature_time(signature: NoteSignature | bytes) -> int:
    """The timestamp of a (verified) cosignature.

    Raises:
        LogFormatError: the bytes are not a 72-byte timestamped signature.
    """
    raw = signature.signature if isinstance(signature, NoteSignature) else signature
    if len(raw) != COSIGNATURE_SIZE:
        raise LogFormatError(f"a cosignature is {COSIGNATURE_SIZE} bytes, not {len(raw)}")
    return int.from_bytes(raw[:8], "big")


def _public_bytes(key: ed25519.Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True, slots=True)
class CosignatureVerifier:
    """Verifies type 0x04 cosignatures by one witness (a :class:`~.note.NoteVerifier`)."""

    name: str
    public: bytes
    key_id: int = field(init=False)
    _key: ed25519.Ed25519PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if len(self.public) != 32:
            raise LogFormatError("an Ed25519 cosigner public key is 32 bytes")
        try:
            key = ed25519.Ed25519PublicKey.from_public_bytes(self.public)
        except ValueError as exc:
            raise LogFormatError(f"invalid Ed25519 public key: {exc}") from exc
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "key_id", key_id(self.name, SIG_COSIGNATURE, self.public))

    @classmethod
    def from_vkey(cls, vkey: VerifierKey) -> CosignatureVerifier:
        """From a parsed vkey of type 0x04 whose key ID is the derived one."""
        if vkey.sig_type != SIG_COSIGNATURE:
            raise LogFormatError(f"verifier key type 0x{vkey.sig_type:02x} is not a cosigner")
        verifier = cls(vkey.name, vkey.public)
        if verifier.key_id != vkey.key_id:
            raise LogFormatError(f"verifier key {vkey.name}: key ID does not match the key")
        return verifier

    def verify(self, text: bytes, signature: bytes) -> bool:
        if len(signature) != COSIGNATURE_SIZE:
            return False
        timestamp = int.from_bytes(signature[:8], "big")
        if timestamp > MAX_TIMESTAMP:
            return False
        try:
            self._key.verify(signature[8:], cosigned_message(text, timestamp))
        except InvalidSignature:
            return False
        return True

    def vkey(self) -> str:
        return str(VerifierKey(self.name, self.key_id, SIG_COSIGNATURE, self.public))


class CosignatureSigner:
    """A witness key: signs checkpoints with timestamped cosignatures.

    ``clock`` returns the POSIX time to stamp (time is a parameter: tests and the
    witness pass theirs; :meth:`sign_at` takes it explicitly).
    """

    def __init__(
        self,
        name: str,
        private_key: ed25519.Ed25519PrivateKey,
        clock: Callable[[], int] | None = None,
    ) -> None:
        self._verifier = CosignatureVerifier(name, _public_bytes(private_key.public_key()))
        self._key = private_key
        self._clock = clock

    @classmethod
    def generate(cls, name: str, clock: Callable[[], int] | None = None) -> CosignatureSigner:
        return cls(name, ed25519.Ed25519PrivateKey.generate(), clock)

    @classmethod
    def from_skey(cls, text: str, clock: Callable[[], int] | None = None) -> CosignatureSigner:
        """Parse cosigner key text (never echoed in errors: it is secret)."""
        text = text.strip()
        if not text.startswith(_SKEY_PREFIX):
            raise LogFormatError("not a cosigner key (PRIVATE+KEY+...)")
        try:
            vkey = VerifierKey.parse(text[len(_SKEY_PREFIX) :])
        except LogFormatError:
            raise LogFormatError("malformed cosigner key") from None
        if vkey.sig_type != SIG_COSIGNATURE or len(vkey.public) != 32:
            raise LogFormatError("cosigner key is not a type 0x04 Ed25519 seed")
        signer = cls(vkey.name, ed25519.Ed25519PrivateKey.from_private_bytes(vkey.public), clock)
        if signer.key_id != vkey.key_id:
            raise LogFormatError("cosigner key: key ID does not match the key")
        return signer

    def with_clock(self, clock: Callable[[], int]) -> CosignatureSigner:
        return CosignatureSigner(self.name, self._key, clock)

    @property
    def name(self) -> str:
        return self._verifier.name

    @property
    def key_id(self) -> int:
        return self._verifier.key_id

    def sign_at(self, text: bytes, timestamp: int) -> bytes:
        """The 72 signature bytes over note ``text`` at POSIX time ``timestamp``."""
        # The spec forbids a zero timestamp on checkpoint cosignatures (tlog-witness).
        if not 0 < timestamp <= MAX_TIMESTAMP:
            raise LogFormatError(f"cosignature timestamp {timestamp} is out of range")
        return timestamp.to_bytes(8, "big") + self._key.sign(cosigned_message(text, timestamp))

    def sign(self, text: bytes) -> bytes:
        if self._clock is None:
            raise LogFormatError("this cosigner has no clock: use sign_at")
        return self.sign_at(text, self._clock())

    def cosign(self, text: str, timestamp: int) -> NoteSignature:
        """The signature line for checkpoint note ``text`` at ``timestamp``."""
        return NoteSignature(self.name, self.key_id, self.sign_at(text.encode("utf-8"), timestamp))

    def verifier(self) -> CosignatureVerifier:
        return self._verifier

    def vkey(self) -> str:
        return self._verifier.vkey()

    def skey(self) -> str:
        """The secret key text, for the 0600 key file only."""
        seed = self._key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        key = base64.b64encode(bytes([SIG_COSIGNATURE]) + seed).decode("ascii")
        return f"{_SKEY_PREFIX}{self.name}+{self.key_id:08x}+{key}"

    def __repr__(self) -> str:  # never show key material
        return f"CosignatureSigner({self.vkey()!r})"


register_signature_type(SIG_COSIGNATURE, CosignatureVerifier.from_vkey)
