"""Commitments over a small GGUF: stable, self-checking, every one-byte change located."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from llmseal.errors import WeightsError, WeightsMismatchError
from llmseal.log.tree.merkle import leaf_hash, root_of
from llmseal.weights import WeightManifest, check_file, commit_file, differences
from llmseal.weights._gguf import read_header
from tests.unit.weights.conftest import TENSORS, write_gguf

SMALL = 4096


def test_header_agrees_with_ggufs_own_reader(tiny_gguf: Path) -> None:
    from gguf import GGUFReader

    theirs = GGUFReader(tiny_gguf)
    data = tiny_gguf.read_bytes()
    ours = read_header(data, len(data))
    assert ours.data_offset == theirs.data_offset
    got = sorted((t.name, t.type, t.shape, t.offset, t.size) for t in ours.tensors)
    want = sorted(
        (t.name, t.tensor_type.name, tuple(int(d) for d in t.shape), int(t.data_offset),
         int(t.n_bytes))
        for t in theirs.tensors
    )  # fmt: skip
    assert got == want
    assert set(ours.fields) == set(theirs.fields) - {"GGUF.version", "GGUF.tensor_count",
                                                     "GGUF.kv_count"}  # fmt: skip


def test_manifest_describes_the_file(tiny_gguf: Path) -> None:
    m = commit_file(tiny_gguf, chunk_size=SMALL)
    data = tiny_gguf.read_bytes()
    assert [t.name for t in m.tensors] == list(TENSORS)
    # GGUF lists dimensions fastest-varying first: numpy's shape reversed.
    assert {t.name: t.shape[::-1] for t in m.tensors} == TENSORS
    assert m.tensor("blk.0.ffn_down.weight").type == "F16"  # type: ignore[union-attr]
    assert m.file_size == len(data) and m.chat_template_sha256 is not None
    # The root is over every chunk in file order, with the RFC 9162 leaf prefix.
    chunks = [m.chunk(i) for i in range(m.chunk_count)]
    assert b"".join(data[c.offset : c.offset + c.size] for c in chunks) == data
    leaves = [leaf_hash(data[c.offset : c.offset + c.size]) for c in chunks]
    assert root_of(leaves).hex() == m.weight_hash
    # Chunks never cross a tensor boundary.
    for t in m.tensors:
        covered = [c for c in chunks if c.region == t.name]
        assert covered[0].offset == t.region.offset and len(covered) == t.region.chunks


def test_manifest_round_trips_and_is_canonical(tiny_gguf: Path) -> None:
    m = commit_file(tiny_gguf, chunk_size=SMALL)
    assert WeightManifest.from_json(m.to_json()) == m
    assert commit_file(tiny_gguf, chunk_size=SMALL, workers=1).to_json() == m.to_json()
    assert commit_file(tiny_gguf, chunk_size=SMALL * 2).weight_hash != m.weight_hash


def test_every_one_byte_change_is_located(tiny_gguf: Path, tmp_path: Path) -> None:
    m = commit_file(tiny_gguf, chunk_size=SMALL)
    copy = tmp_path / "copy.gguf"
    for name, region in m.regions():
        for offset in (region.offset + region.span - 1, region.offset + region.span // 2):
            shutil.copyfile(tiny_gguf, copy)
            with copy.open("r+b") as f:
                f.seek(offset)
                byte = f.read(1)
                f.seek(offset)
                f.write(bytes([byte[0] ^ 0x01]))
            try:
                other = commit_file(copy, chunk_size=SMALL)
            except WeightsError:
                assert name == "(header)"  # a flipped header byte may not parse at all
                continue
            assert other.weight_hash != m.weight_hash
            where = differences(m, other)
            expected = (
                "header (metadata or tensor table)"
                if name == "(header)"
                else (f"tensor {name} content")
            )
            assert expected in where, (name, where)
            if name != "(header)":
                assert where == [expected]
            with pytest.raises(WeightsMismatchError, match=name.split(".")[0].strip("()")):
                check_file(copy, m)


def test_metadata_hashes_follow_the_tokenizer_and_template(tmp_path: Path) -> None:
    a = commit_file(write_gguf(tmp_path / "a.gguf"), chunk_size=SMALL)
    b = commit_file(write_gguf(tmp_path / "b.gguf", template="{{ other }}"), chunk_size=SMALL)
    assert a.chat_template_sha256 != b.chat_template_sha256
    assert a.tokenizer_sha256 != b.tokenizer_sha256  # the template is a tokenizer.* key
    assert [t.region.root for t in a.tensors] == [t.region.root for t in b.tensors]


def _mutations(doc: dict) -> list[tuple[str, dict]]:  # type: ignore[type-arg]
    out = []
    for path, value in [
        (("chunking", "chunks"), doc["chunking"]["chunks"] + 1),
        (("chunking", "chunk_size"), 100),
        (("file", "size"), doc["file"]["size"] - 1),
        (("header", "span"), doc["header"]["span"] + 32),
        (("tensors", 1, "first_chunk"), 0),
        (("tensors", 2, "offset"), 7),
        (("tensors", 0, "chunks"), 0),
        (("weight_hash",), "AB" * 32),
        (("format",), "llmseal-weights/0"),
        (("tensors", 3, "size"), 10**9),
    ]:
        bad = json.loads(json.dumps(doc))
        target = bad
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        out.append(("/".join(map(str, path)), bad))
    return out


def test_inconsistent_manifests_are_refused(tiny_gguf: Path) -> None:
    doc = commit_file(tiny_gguf, chunk_size=SMALL).to_dict()
    refused = []
    for what, bad in _mutations(doc):
        with pytest.raises(WeightsError):
            WeightManifest.from_dict(bad)
        refused.append(what)
    assert len(refused) == 10
    assert WeightManifest.from_dict(doc).to_dict() == doc


@settings(deadline=None, max_examples=150)
@given(cut=st.integers(0, 3000), flip=st.integers(0, 3000), bit=st.integers(0, 7))
def test_hostile_headers_fail_as_weights_errors(cut: int, flip: int, bit: int) -> None:
    data = bytearray(_TINY)
    data[flip] ^= 1 << bit
    data = data[: len(data) - cut]
    try:
        header = read_header(bytes(data), len(data))
    except WeightsError:
        event("refused")
        return
    event("parsed")
    assert all(t.size > 0 for t in header.tensors)


_TINY = b""


@pytest.fixture(autouse=True, scope="module")
def _tiny_bytes(tmp_path_factory: pytest.TempPathFactory) -> None:
    global _TINY
    _TINY = write_gguf(tmp_path_factory.mktemp("g") / "t.gguf").read_bytes()


def test_not_gguf_is_one_readable_error(tmp_path: Path) -> None:
    bogus = tmp_path / "x.gguf"
    bogus.write_bytes(b"PK\x03\x04" + bytes(5000))
    with pytest.raises(WeightsError, match="not a GGUF"):
        commit_file(bogus)
    with pytest.raises(WeightsError, match="chunk size"):
        commit_file(bogus, chunk_size=10)
