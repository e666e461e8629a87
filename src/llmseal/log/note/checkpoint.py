"""Checkpoints (c2sp.org/tlog-checkpoint): a log's signed tree head as a signed note.

The note text is three or more non-empty lines: the log's *origin*, the tree size
in decimal (no leading zeros), the base64 RFC 6962 root hash, then optional
extension lines (not recommended: monitors cannot audit them). The log's key name
should be the origin.

:func:`open_checkpoint` is the only way to read a checkpoint from the wire: it
verifies the note first (the spec says the text must be ignored until a trusted
signature verified) and then checks the origin the caller expects, so a
checkpoint of another log — even one signed by a trusted key — never verifies.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass

from llmseal.errors import LogFormatError, ProofError
from llmseal.log.note.note import (
    Note,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    decode_b64,
    parse_note,
    sign_note,
    verify_note,
)
from llmseal.log.tree.merkle import HASH_SIZE

__all__ = [
    "MAX_TREE_SIZE",
    "Checkpoint",
    "SignedCheckpoint",
    "open_checkpoint",
    "sign_checkpoint",
]

MAX_TREE_SIZE = (1 << 63) - 1  # sizes travel as int64 in Go and as u64 in cosignatures
_DECIMAL = re.compile(r"\A(0|[1-9][0-9]{0,18})\Z")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A tree head: ``size`` leaves with root hash ``root``, for the log ``origin``."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise LogFormatError("a checkpoint origin is one non-empty line")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise LogFormatError(f"checkpoint tree size {self.size} is out of range")
        if len(self.root) != HASH_SIZE:
            raise LogFormatError(f"checkpoint root hash is {len(self.root)} bytes, not 32")
        for line in self.extensions:
            if not line or "\n" in line:
                raise LogFormatError("checkpoint extension lines are non-empty single lines")

    def text(self) -> str:
        """The note text (what the log signs), ending in a newline."""
        root = base64.b64encode(self.root).decode("ascii")
        return "\n".join((self.origin, str(self.size), root, *self.extensions)) + "\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse note text (only ever text whose signature was verified)."""
        if not text.endswith("\n"):
            raise LogFormatError("checkpoint text must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise LogFormatError("a checkpoint has an origin, a size and a root hash line")
        origin, size, root, *extensions = lines
        if not _DECIMAL.match(size):
            raise LogFormatError("checkpoint tree size is not a decimal without leading zeros")
        return cls(origin, int(size), decode_b64(root, "checkpoint root hash"), tuple(extensions))


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint with the note that carries it (log signature, any cosignatures)."""

    checkpoint: Checkpoint
    note: Note
    verified_by: tuple[NoteSignature, ...] = ()
    """The signatures a caller's trusted keys verified (empty when just signed)."""

    @property
    def origin(self) -> str:
        return self.checkpoint.origin

    @property
    def size(self) -> int:
        return self.checkpoint.size

    @property
    def root(self) -> bytes:
        return self.checkpoint.root

    def encode(self) -> bytes:
        """The signed note as served at ``<prefix>/checkpoint``."""
        return self.note.encode()


def sign_checkpoint(checkpoint: Checkpoint, *signers: NoteSigner) -> SignedCheckpoint:
    """Sign a checkpoint (the log key first, by convention named as the origin)."""
    return SignedCheckpoint(checkpoint, sign_note(checkpoint.text(), *signers))


def open_checkpoint(
    data: bytes | str | Note, *, origin: str, verifiers: Iterable[NoteVerifier]
) -> SignedCheckpoint:
    """Verify and parse a checkpoint of log ``origin``.

    Raises:
        LogFormatError: the note or its text is malformed.
        NoteSignatureError: no trusted key signed it (or a trusted signature fails).
        ProofError: it is a checkpoint of another origin.
    """
    note = data if isinstance(data, Note) else parse_note(data)
    good = verify_note(note, verifiers)
    checkpoint = Checkpoint.parse(note.text)
    if checkpoint.origin != origin:
        raise ProofError(f"checkpoint is for log {checkpoint.origin!r}, not {origin!r}")
    return SignedCheckpoint(checkpoint, note, good)
