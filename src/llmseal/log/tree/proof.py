"""C2SP tlog-proof@v1: an offline proof that one entry is in a log.

```
c2sp.org/tlog-proof@v1
[extra <base64>]            opaque, unauthenticated application data
index <decimal>
<base64 hash>               inclusion path, leaf's sibling first (0 or more lines)
                            (empty line)
<checkpoint note, verbatim: log signature and any cosignatures>
```

Verifying (spec, "Verifying a tlog proof"): hash the entry the application holds
(for llmseal: the RFC 6962 leaf hash of the receipt's RFC 8785 bytes), open the
checkpoint under the log's origin and keys, then check the inclusion path against
its root. Witness cosignatures are in :attr:`ProvenEntry.checkpoint`'s note for a
witness policy to judge.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from llmseal.errors import LogFormatError
from llmseal.log.note.checkpoint import MAX_TREE_SIZE, SignedCheckpoint, open_checkpoint
from llmseal.log.note.note import MAX_NOTE_BYTES, Note, NoteVerifier, decode_b64, parse_note
from llmseal.log.tree.merkle import HASH_SIZE, leaf_hash, verify_inclusion

__all__ = ["HEADER", "MAX_PROOF_BYTES", "LogProof", "ProvenEntry", "verify_log_proof"]

HEADER = "c2sp.org/tlog-proof@v1"
MAX_PATH = 63  # a tree of fewer than 2**63 leaves is at most 63 levels deep
MAX_EXTRA = 1 << 16
MAX_PROOF_BYTES = MAX_NOTE_BYTES + (MAX_PATH + 2) * 64 + MAX_EXTRA * 2
_INDEX = re.compile(r"\Aindex (0|[1-9][0-9]{0,18})\Z")


@dataclass(frozen=True, slots=True)
class LogProof:
    """A parsed tlog-proof. ``checkpoint`` is the note exactly as it was served."""

    index: int
    path: tuple[bytes, ...]
    checkpoint: bytes
    extra: bytes | None = None
    note: Note = field(init=False, repr=False, compare=False)
    """``checkpoint`` parsed (well-formed, not yet trusted): parsed once, here."""

    def __post_init__(self) -> None:
        if not 0 <= self.index < MAX_TREE_SIZE:
            raise LogFormatError("tlog-proof index out of range")
        if len(self.path) > MAX_PATH or any(len(h) != HASH_SIZE for h in self.path):
            raise LogFormatError("tlog-proof path must be at most 63 hashes of 32 bytes")
        if self.extra is not None and not 0 < len(self.extra) <= MAX_EXTRA:
            raise LogFormatError("tlog-proof extra data must be 1..65536 bytes")
        object.__setattr__(self, "note", parse_note(self.checkpoint))

    def encode(self) -> bytes:
        """The text form (``.tlog-proof`` file, ``receipt_evidence.log``)."""
        lines = [HEADER]
        if self.extra is not None:
            lines.append("extra " + base64.b64encode(self.extra).decode("ascii"))
        lines.append(f"index {self.index}")
        lines += [base64.b64encode(h).decode("ascii") for h in self.path]
        return ("\n".join(lines) + "\n\n").encode("ascii") + self.checkpoint

    def text(self) -> str:
        return self.encode().decode("utf-8")

    @classmethod
    def parse(cls, data: bytes | str) -> LogProof:
        """Parse hostile text; :class:`LogFormatError` on anything but the one form."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        if len(data) > MAX_PROOF_BYTES:
            raise LogFormatError("tlog-proof is too large")
        head, sep, note = data.partition(b"\n\n")
        if not sep:
            raise LogFormatError("tlog-proof has no empty line before its checkpoint")
        try:
            lines = head.decode("ascii").split("\n")
        except UnicodeDecodeError:
            raise LogFormatError("tlog-proof header is not ASCII") from None
        if lines[0] != HEADER:
            raise LogFormatError(f"not a tlog-proof (first line must be {HEADER})")
        pos, extra = 1, None
        if pos < len(lines) and lines[pos].startswith("extra "):
            extra = decode_b64(lines[pos][6:], "tlog-proof extra data")
            pos += 1
        if pos >= len(lines) or not (m := _INDEX.match(lines[pos])):
            raise LogFormatError("tlog-proof needs an 'index <decimal>' line")
        hashes = lines[pos + 1 :]
        if len(hashes) > MAX_PATH:
            raise LogFormatError("tlog-proof path is longer than 63 hashes")
        path = tuple(decode_b64(h, "tlog-proof hash") for h in hashes)
        return cls(int(m.group(1)), path, note, extra)


@dataclass(frozen=True, slots=True)
class ProvenEntry:
    """What a verified tlog-proof establishes."""

    origin: str
    index: int
    tree_size: int
    root: bytes
    leaf_hash: bytes
    checkpoint: SignedCheckpoint


def verify_log_proof(
    proof: LogProof | bytes | str,
    entry: bytes,
    *,
    origin: str,
    verifiers: Iterable[NoteVerifier],
) -> ProvenEntry:
    """Check that ``entry`` is at ``proof.index`` in a checkpoint signed by the log.

    Raises:
        LogFormatError: the proof or its checkpoint is malformed.
        ProofError: the checkpoint is not the log's (origin, keys) or the path does
            not lead from the entry to its root.
    """
    parsed = proof if isinstance(proof, LogProof) else LogProof.parse(proof)
    signed = open_checkpoint(parsed.note, origin=origin, verifiers=verifiers)
    leaf = leaf_hash(entry)
    verify_inclusion(leaf, parsed.index, signed.size, parsed.path, signed.root)
    return ProvenEntry(origin, parsed.index, signed.size, signed.root, leaf, signed)
