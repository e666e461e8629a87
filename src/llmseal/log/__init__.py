"""The transparency log layer: RFC 9162 Merkle trees and the C2SP formats over them.

Sits above ``store`` and below ``gateway``/``client``/``audit`` (design.md).

* :mod:`.merkle` — RFC 9162 hashing, inclusion and consistency proofs.
* :mod:`.note`, :mod:`.notekeys` — C2SP signed notes, key IDs, vkeys, Ed25519 (0x01).
* :mod:`.checkpoint` — C2SP tlog-checkpoint.
* :mod:`.tiles` — C2SP tlog-tiles paths, tiles and entry bundles.
* :mod:`.tilereader` — reading any tile log (directory or HTTP) into proofs.
* :mod:`.proof` — C2SP tlog-proof@v1, the offline proof of one entry.
* :mod:`.entry` — what an llmseal log entry is (the receipt's RFC 8785 bytes).
"""

from __future__ import annotations

from llmseal.log.checkpoint import Checkpoint, SignedCheckpoint, open_checkpoint, sign_checkpoint
from llmseal.log.entry import receipt_entry, receipt_leaf_hash
from llmseal.log.merkle import (
    EMPTY_ROOT,
    leaf_hash,
    node_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)
from llmseal.log.note import Note, NoteSignature, NoteSigner, NoteVerifier, parse_note, verify_note
from llmseal.log.notekeys import (
    Ed25519NoteSigner,
    Ed25519NoteVerifier,
    VerifierKey,
    load_verifier,
)
from llmseal.log.proof import LogProof, ProvenEntry, verify_log_proof
from llmseal.log.tilereader import TileHashReader, TileLog
from llmseal.log.tiles import TileRef

__all__ = [
    "EMPTY_ROOT",
    "Checkpoint",
    "Ed25519NoteSigner",
    "Ed25519NoteVerifier",
    "LogProof",
    "Note",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "ProvenEntry",
    "SignedCheckpoint",
    "TileHashReader",
    "TileLog",
    "TileRef",
    "VerifierKey",
    "leaf_hash",
    "load_verifier",
    "node_hash",
    "open_checkpoint",
    "parse_note",
    "receipt_entry",
    "receipt_leaf_hash",
    "root_of",
    "sign_checkpoint",
    "verify_consistency",
    "verify_inclusion",
    "verify_log_proof",
    "verify_note",
]
