"""An in-memory signed log for witness and monitor tests: checkpoints, proofs, forks."""

from __future__ import annotations

from dataclasses import dataclass, field

from llmseal.log.note.checkpoint import Checkpoint, SignedCheckpoint, sign_checkpoint
from llmseal.log.note.notekeys import Ed25519NoteSigner
from llmseal.log.tree.merkle import consistency_proof, leaf_hash, memory_reader, root_of
from llmseal.log.witness.addcheckpoint import AddCheckpoint


@dataclass
class TreeLog:
    """A log of ``entries`` signed by ``signer`` (its name is the origin)."""

    signer: Ed25519NoteSigner
    entries: list[bytes] = field(default_factory=list)

    @classmethod
    def new(cls, origin: str = "example.com/log", size: int = 0) -> TreeLog:
        log = cls(Ed25519NoteSigner.generate(origin))
        log.append(size)
        return log

    @property
    def origin(self) -> str:
        return self.signer.name

    def append(self, count: int, tag: bytes = b"entry") -> TreeLog:
        start = len(self.entries)
        self.entries += [b"%s %d" % (tag, start + i) for i in range(count)]
        return self

    def fork(self, at: int, count: int) -> TreeLog:
        """Another tree signed by the same key: our first ``at`` entries, then others."""
        other = TreeLog(self.signer, self.entries[:at])
        return other.append(count, b"forged")

    def root(self, size: int | None = None) -> bytes:
        size = len(self.entries) if size is None else size
        return root_of(leaf_hash(e) for e in self.entries[:size])

    def checkpoint(self, size: int | None = None) -> SignedCheckpoint:
        size = len(self.entries) if size is None else size
        return sign_checkpoint(Checkpoint(self.origin, size, self.root(size)), self.signer)

    def proof(self, old: int, new: int | None = None) -> list[bytes]:
        new = len(self.entries) if new is None else new
        if old == 0:
            return []
        read = memory_reader([leaf_hash(e) for e in self.entries[:new]])
        return consistency_proof(old, new, read)

    def request(self, old: int, new: int | None = None) -> bytes:
        """An add-checkpoint body from ``old`` to ``new`` with the right proof."""
        cp = self.checkpoint(new)
        return AddCheckpoint(old, tuple(self.proof(old, cp.size)), cp.encode()).encode()
