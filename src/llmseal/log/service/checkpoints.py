"""The checkpoints a sequencer signs and keeps.

* :func:`sign_extension` — the checkpoint of a grown tree, signed only if the tree
  extends the last published one (tlog-checkpoint: a log never signs a fork);
* :data:`WITNESSED` and :func:`read_witnessed` — the newest checkpoint witnesses
  cosigned, kept beside ``checkpoint`` for proofs (issue 11).
"""

from __future__ import annotations

from collections.abc import Callable

from llmseal.errors import LogCorruptError, LogError, ProofError
from llmseal.log.note.checkpoint import (
    Checkpoint,
    SignedCheckpoint,
    open_checkpoint,
    sign_checkpoint,
)
from llmseal.log.note.note import NoteSigner, NoteVerifier
from llmseal.log.tree.edge import TreeEdge
from llmseal.log.tree.merkle import consistency_proof, verify_consistency
from llmseal.log.tree.tilereader import TileCache, TileHashReader

__all__ = ["WITNESSED", "read_witnessed", "sign_extension"]

WITNESSED = "checkpoint.witnessed"  # the newest cosigned checkpoint, for proofs


def sign_extension(
    old: SignedCheckpoint,
    edge: TreeEdge,
    files: dict[str, bytes],
    read: Callable[[str], bytes],
    origin: str,
    signer: NoteSigner,
) -> SignedCheckpoint:
    """Sign the tree ``edge`` ends, whose new tiles are ``files`` (not yet published).

    Raises:
        LogCorruptError: the tree does not extend ``old`` (a consistency proof over the
            tiles, new ones read before the storage's, does not verify).
    """
    root = edge.root()
    if old.size:  # never sign a tree that does not extend the last one (tlog-checkpoint)
        overlay = _Overlay(files, read)
        reader = TileHashReader(overlay, edge.size, cache=TileCache(64))
        try:
            proof = consistency_proof(old.size, edge.size, reader)
            verify_consistency(old.size, edge.size, old.root, root, proof)
        except ProofError as exc:
            raise LogCorruptError(f"refusing to sign an inconsistent tree: {exc}") from exc
    return sign_checkpoint(Checkpoint(origin, edge.size, root), signer)


def read_witnessed(
    read: Callable[[str], bytes],
    origin: str,
    verifier: NoteVerifier,
    published: SignedCheckpoint,
) -> SignedCheckpoint | None:
    """The kept cosigned checkpoint, if there is one and it is no newer than ``published``."""
    try:
        cp = open_checkpoint(read(WITNESSED), origin=origin, verifiers=[verifier])
    except LogError:
        return None  # none yet (or damaged: proofs use the latest checkpoint)
    return cp if cp.size <= published.size else None


class _Overlay:
    """Files of the batch being published, in front of the storage."""

    def __init__(self, files: dict[str, bytes], fallback: Callable[[str], bytes]) -> None:
        self._files = files
        self._fallback = fallback

    def __call__(self, path: str) -> bytes:
        data = self._files.get(path)
        return data if data is not None else self._fallback(path)
