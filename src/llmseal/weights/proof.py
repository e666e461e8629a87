"""Chunk proofs: one chunk of the committed file and its RFC 9162 inclusion path.

An issuer that holds the committed file answers any chunk at once; one that
committed to weights it does not have cannot, because every chunk is bound to
``weight_hash`` by its path (RFC 9162 §2.1.3). Wire form (``docs/spec/weights.md``)::

    {"weight_hash", "index", "offset", "size", "region", "tree_size",
     "data": base64(chunk), "proof": [hex, ...]}
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmseal.errors import ProofError, WeightsError, WeightsMismatchError
from llmseal.log.tree.merkle import (
    HashReader,
    inclusion_proof,
    leaf_hash,
    memory_reader,
    root_of,
    verify_inclusion,
)
from llmseal.weights.commit import file_leaves
from llmseal.weights.manifest import WeightManifest

__all__ = ["ChunkCheck", "ChunkProver", "verify_chunk"]


class ChunkProver:
    """Answers chunk requests from a mapped file that matches ``manifest``."""

    def __init__(self, manifest: WeightManifest, view: memoryview, *, check: bool = True) -> None:
        self.manifest = manifest
        self._view = view
        leaves = file_leaves(view, manifest)
        # A liar's prover (the tests build one) skips this; ours refuses to serve other bytes.
        if check and root_of(leaves).hex() != manifest.weight_hash:
            raise WeightsMismatchError(f"the weights file does not hash to {manifest.weight_hash}")
        self._read: HashReader = memory_reader(leaves)

    def prove(self, index: int) -> dict[str, Any]:
        ref = self.manifest.chunk(index)
        path = inclusion_proof(index, self.manifest.chunk_count, self._read)
        return {
            "weight_hash": self.manifest.weight_hash,
            "index": index,
            "offset": ref.offset,
            "size": ref.size,
            "region": ref.region,
            "tree_size": self.manifest.chunk_count,
            "data": base64.b64encode(self._view[ref.offset : ref.offset + ref.size]).decode(),
            "proof": [h.hex() for h in path],
        }


@dataclass(frozen=True, slots=True)
class ChunkCheck:
    index: int
    region: str
    ok: bool
    reason: str = ""


def verify_chunk(manifest: WeightManifest, index: int, answer: Any) -> ChunkCheck:
    """Check one chunk answer against the manifest; never raises on hostile input."""
    ref = manifest.chunk(index)
    try:
        data, proof = _parse(manifest, ref.index, ref.offset, ref.size, answer)
        verify_inclusion(leaf_hash(data), index, manifest.chunk_count, proof,
                         bytes.fromhex(manifest.weight_hash))  # fmt: skip
    except (WeightsError, ProofError) as exc:
        return ChunkCheck(index, ref.region, False, str(exc))
    return ChunkCheck(index, ref.region, True)


def _parse(
    manifest: WeightManifest, index: int, offset: int, size: int, answer: Any
) -> tuple[bytes, list[bytes]]:
    if not isinstance(answer, Mapping):
        raise WeightsError("the chunk answer is not a JSON object")
    expected = {
        "weight_hash": manifest.weight_hash,
        "index": index,
        "offset": offset,
        "size": size,
        "tree_size": manifest.chunk_count,
    }
    for key, value in expected.items():
        if answer.get(key) != value:
            raise WeightsMismatchError(f"{key} is {answer.get(key)!r}, the manifest says {value!r}")
    raw, proof = answer.get("data"), answer.get("proof")
    if not isinstance(raw, str) or not isinstance(proof, list):
        raise WeightsError("the chunk answer lacks data or proof")
    try:
        data = base64.b64decode(raw, validate=True)
        path = [bytes.fromhex(p) for p in proof if isinstance(p, str)]
    except (binascii.Error, ValueError):
        raise WeightsError("the chunk answer's data or proof is not encoded right") from None
    if len(path) != len(proof):
        raise WeightsError("the chunk proof holds something other than hex strings")
    if len(data) != size:
        raise WeightsMismatchError(f"the chunk is {len(data)} bytes, not {size}")
    return data, path
