"""The wire format of C2SP tlog-witness ``add-checkpoint``, for both ends.

Request body (c2sp.org/tlog-witness, "add-checkpoint")::

    old <size>\\n            decimal, no leading zeros
    <base64 hash>\\n         0..63 consistency proof lines
    \\n
    <checkpoint note>        may carry several signatures

Answers: 200 with one or more cosignature lines (``— <name> <base64>\\n``);
409 with ``Content-Type: text/x.tlog.size`` and ``<stored size>\\n``; other
statuses with a body the client must not rely on.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

from llmseal.errors import LogFormatError
from llmseal.log.note.checkpoint import MAX_TREE_SIZE
from llmseal.log.note.note import MAX_NOTE_BYTES, Note, NoteSignature, parse_note
from llmseal.log.tree.merkle import HASH_SIZE

__all__ = [
    "MAX_PROOF_LINES",
    "MAX_REQUEST_BYTES",
    "SIZE_CONTENT_TYPE",
    "AddCheckpoint",
    "encode_size",
    "parse_cosignature_lines",
    "parse_size",
]

MAX_PROOF_LINES = 63
MAX_REQUEST_BYTES = MAX_NOTE_BYTES + 64 + MAX_PROOF_LINES * (44 + 1)
SIZE_CONTENT_TYPE = "text/x.tlog.size"
_OLD = re.compile(rb"\Aold (0|[1-9][0-9]{0,18})\Z")
_SIZE = re.compile(rb"\A(0|[1-9][0-9]{0,18})\n\Z")


@dataclass(frozen=True, slots=True)
class AddCheckpoint:
    """One add-checkpoint request: the client's idea of the witness's size, a proof, a note."""

    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: bytes
    """The note exactly as sent (well-formed; not yet verified)."""
    _note: Note | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.old_size <= MAX_TREE_SIZE:
            raise LogFormatError("old size is out of range")
        if len(self.proof) > MAX_PROOF_LINES or any(len(h) != HASH_SIZE for h in self.proof):
            raise LogFormatError("a consistency proof is at most 63 hashes of 32 bytes")

    def note(self) -> Note:
        return self._note if self._note is not None else parse_note(self.checkpoint)

    def encode(self) -> bytes:
        lines = [b"old %d" % self.old_size, *(base64.b64encode(h) for h in self.proof)]
        return b"\n".join(lines) + b"\n\n" + self.checkpoint

    @classmethod
    def parse(cls, body: bytes) -> AddCheckpoint:
        """Parse a request body; :class:`LogFormatError` (a 400) on anything else."""
        if len(body) > MAX_REQUEST_BYTES:
            raise LogFormatError("add-checkpoint body is too large")
        head, sep, note = body.partition(b"\n\n")
        if not sep:
            raise LogFormatError("add-checkpoint body has no empty line before the checkpoint")
        lines = head.split(b"\n")
        match = _OLD.match(lines[0])
        if match is None:
            raise LogFormatError("add-checkpoint body must start with 'old <size>'")
        if len(lines) - 1 > MAX_PROOF_LINES:
            raise LogFormatError("add-checkpoint proof has more than 63 lines")
        proof = tuple(_hash_line(line) for line in lines[1:])
        # Well-formed before anyone looks at it; parsed once.
        return cls(int(match.group(1)), proof, note, parse_note(note))


def _hash_line(line: bytes) -> bytes:
    """One proof line: a 32-byte hash in canonical standard base64 (44 characters)."""
    # binascii directly: this runs ~20 times per request on the witness's hot path.
    if len(line) != 44:
        raise LogFormatError("a proof line is one base64 SHA-256 hash")
    try:
        raw = binascii.a2b_base64(line, strict_mode=True)
    except binascii.Error:
        raise LogFormatError("proof hash is not standard base64") from None
    if binascii.b2a_base64(raw, newline=False) != line:
        raise LogFormatError("proof hash is not canonical base64")
    return raw


def encode_size(size: int) -> bytes:
    """The body of a 409 answer."""
    return b"%d\n" % size


def parse_size(body: bytes) -> int:
    """The stored size a witness reports with a 409."""
    match = _SIZE.match(body)
    if match is None:
        raise LogFormatError("a text/x.tlog.size body is one decimal line")
    return int(match.group(1))


def parse_cosignature_lines(body: bytes, max_lines: int = 16) -> tuple[NoteSignature, ...]:
    """The signature lines of a 200 answer (well-formed; verify them before use)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise LogFormatError("cosignature answer is not UTF-8") from None
    if not text.endswith("\n") or text.count("\n") > max_lines:
        raise LogFormatError(f"cosignature answer must be 1..{max_lines} signature lines")
    # Parsing the lines as the signature block of a stand-in note reuses every check.
    return parse_note("x\n\n" + text).signatures
