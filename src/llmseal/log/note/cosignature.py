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

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from cryptography.hazmat.primitives.asymmetric import ed25519

from llmseal.errors import LogFormatError
from llmseal.log.note.note import NoteSignature
from llmseal.log.note.notekeys import (
    SIG_COSIGNATURE,
    Ed25519Key,
    Ed25519Signer,
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


@dataclass(frozen=True, slots=True)
class CosignatureVerifier(Ed25519Key):
    """Verifies type 0x04 cosignatures by one witness (a :class:`~.note.NoteVerifier`)."""

    SIG_TYPE: ClassVar[int] = SIG_COSIGNATURE
    KIND: ClassVar[str] = "cosigner"

    def verify(self, text: bytes, signature: bytes) -> bool:
        if len(signature) != COSIGNATURE_SIZE:
            return False
        timestamp = int.from_bytes(signature[:8], "big")
        return timestamp <= MAX_TIMESTAMP and self._valid(
            signature[8:], cosigned_message(text, timestamp)
        )


class CosignatureSigner(Ed25519Signer[CosignatureVerifier]):
    """A witness key: signs checkpoints with timestamped cosignatures.

    ``clock`` returns the POSIX time to stamp (time is a parameter: tests and the
    witness pass theirs; :meth:`sign_at` and :meth:`cosign` take it explicitly).
    """

    SIG_TYPE: ClassVar[int] = SIG_COSIGNATURE

    def __init__(
        self,
        name: str,
        private_key: ed25519.Ed25519PrivateKey,
        clock: Callable[[], int] | None = None,
    ) -> None:
        super().__init__(name, private_key)
        self._clock = clock

    @classmethod
    def _verifier_for(cls, name: str, public: bytes) -> CosignatureVerifier:
        return CosignatureVerifier(name, public)

    def with_clock(self, clock: Callable[[], int]) -> CosignatureSigner:
        return CosignatureSigner(self.name, self._key, clock)

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


register_signature_type(SIG_COSIGNATURE, CosignatureVerifier.from_vkey)
