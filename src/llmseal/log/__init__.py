"""The transparency log layer: RFC 9162 Merkle trees and the C2SP formats over them.

Sits above ``store`` and below ``gateway``/``client``/``audit`` (design.md). One
subpackage per concept: ``tree`` (hashing, tiles, proofs), ``note`` (signed notes,
checkpoints, cosignatures), ``witness``, ``monitor``, and for the running log
``storage`` (directory, PostgreSQL), ``service`` (admission, sequencing, the log
object, the PostgreSQL log the gateway replicas share, waiting for publication) and
``http``.

* :mod:`.tree.merkle` — RFC 9162 hashing, inclusion and consistency proofs.
* :mod:`.note.note`, :mod:`.note.notekeys` — C2SP signed notes, key IDs, vkeys, Ed25519 (0x01).
* :mod:`.note.checkpoint` — C2SP tlog-checkpoint.
* :mod:`.tree.tiles` — C2SP tlog-tiles paths, tiles and entry bundles.
* :mod:`.tree.tilereader` — reading any tile log (directory or HTTP) into proofs.
* :mod:`.tree.proof` — C2SP tlog-proof@v1, the offline proof of one entry.
* :mod:`.entry` — what an llmseal log entry is (the receipt's RFC 8785 bytes).
* :mod:`.note.cosignature` — C2SP tlog-cosignature, timestamped Ed25519 (0x04).
* :mod:`.witness.witnesspolicy`, :mod:`.witness.quorum` — C2SP tlog-policy, quorums, proven time.
"""

from __future__ import annotations

from llmseal.log.entry import receipt_entry, receipt_leaf_hash
from llmseal.log.note.checkpoint import (
    Checkpoint,
    SignedCheckpoint,
    open_checkpoint,
    sign_checkpoint,
)
from llmseal.log.note.cosignature import CosignatureSigner, CosignatureVerifier, cosignature_time
from llmseal.log.note.note import (
    Note,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    parse_note,
    verify_note,
)
from llmseal.log.note.notekeys import (
    Ed25519NoteSigner,
    Ed25519NoteVerifier,
    VerifierKey,
    load_verifier,
)
from llmseal.log.tree.merkle import (
    EMPTY_ROOT,
    leaf_hash,
    node_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)
from llmseal.log.tree.proof import LogProof, ProvenEntry, verify_log_proof
from llmseal.log.tree.tilereader import TileHashReader, TileLog
from llmseal.log.tree.tiles import TileRef
from llmseal.log.witness.quorum import Witnessed, check_quorum, open_witnessed
from llmseal.log.witness.witnesspolicy import WitnessPolicy

__all__ = [
    "EMPTY_ROOT",
    "Checkpoint",
    "CosignatureSigner",
    "CosignatureVerifier",
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
    "WitnessPolicy",
    "Witnessed",
    "check_quorum",
    "cosignature_time",
    "leaf_hash",
    "load_verifier",
    "node_hash",
    "open_checkpoint",
    "open_witnessed",
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
