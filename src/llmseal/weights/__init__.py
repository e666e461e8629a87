"""Weight commitments: a Merkle root over a GGUF file's chunks, and its manifest.

Sits above ``log`` (it reuses the RFC 9162 tree) and below ``gateway`` (which puts
``weight_hash`` in receipts and serves chunks with proofs) and ``audit`` (which
re-executes answers under the committed weights).
"""

from __future__ import annotations

from llmseal.weights.commit import check_file, commit_file, differences
from llmseal.weights.manifest import DEFAULT_CHUNK_SIZE, ChunkRef, WeightManifest

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "ChunkRef",
    "WeightManifest",
    "check_file",
    "commit_file",
    "differences",
]
