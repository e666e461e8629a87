"""Chunk proofs: every chunk of the committed file verifies, anything else does not."""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import pytest

from llmseal.errors import WeightsError, WeightsMismatchError
from llmseal.weights import commit_file
from llmseal.weights.commit import mapped
from llmseal.weights.proof import ChunkProver, verify_chunk
from tests.unit.weights.conftest import write_gguf

SMALL = 4096


def test_every_chunk_proves_and_verifies(tiny_gguf: Path) -> None:
    m = commit_file(tiny_gguf, chunk_size=SMALL)
    with mapped(tiny_gguf) as view:
        prover = ChunkProver(m, view)
        for i in range(m.chunk_count):
            answer = prover.prove(i)
            check = verify_chunk(m, i, answer)
            assert check.ok, check.reason
            assert check.region == m.chunk(i).region
        with pytest.raises(WeightsError, match="no chunk"):
            prover.prove(m.chunk_count)


def _tamper(answer: dict[str, Any]) -> list[tuple[str, Any]]:
    data = bytearray(base64.b64decode(answer["data"]))
    data[-1] ^= 0x80
    cases: list[tuple[str, Any]] = [
        ("data", {**answer, "data": base64.b64encode(bytes(data)).decode()}),
        ("short data", {**answer, "data": base64.b64encode(bytes(data[:-1])).decode()}),
        ("proof", {**answer, "proof": answer["proof"][:-1]}),
        ("proof order", {**answer, "proof": answer["proof"][::-1]}),
        ("index", {**answer, "index": answer["index"] + 1}),
        ("offset", {**answer, "offset": 0}),
        ("weight_hash", {**answer, "weight_hash": "0" * 64}),
        ("not base64", {**answer, "data": "***"}),
        ("proof not hex", {**answer, "proof": ["zz"]}),
        ("proof item not str", {**answer, "proof": [1]}),
        ("no proof", {k: v for k, v in answer.items() if k != "proof"}),
        ("not an object", [answer]),
    ]
    return cases


def test_altered_answers_fail(tiny_gguf: Path) -> None:
    m = commit_file(tiny_gguf, chunk_size=SMALL)
    index = m.chunk_count // 2
    with mapped(tiny_gguf) as view:
        answer = ChunkProver(m, view).prove(index)
    failed = []
    for what, bad in _tamper(answer):
        check = verify_chunk(m, index, copy.deepcopy(bad))
        assert not check.ok, what
        assert check.reason
        failed.append(what)
    assert len(failed) == 12


def test_an_issuer_holding_other_weights_cannot_answer(tmp_path: Path) -> None:
    committed = write_gguf(tmp_path / "a.gguf", seed=1)
    held = write_gguf(tmp_path / "b.gguf", seed=2)  # same layout, other weights
    m = commit_file(committed, chunk_size=SMALL)
    with mapped(held) as view:
        with pytest.raises(WeightsMismatchError):
            ChunkProver(m, view)  # our own gateway refuses to serve them
        liar = ChunkProver(m, view, check=False)  # a liar's does not
        results = [verify_chunk(m, i, liar.prove(i)) for i in range(m.chunk_count)]
    bad = [r for r in results if not r.ok]
    # Only the header (same metadata) can pass; every tensor chunk fails.
    assert {r.region for r in results if r.ok} <= {"(header)"}
    assert len(bad) >= m.chunk_count - m.header.chunks
