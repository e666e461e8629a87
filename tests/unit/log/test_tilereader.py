"""Reading tile logs: a real Tessera log, and proofs from tiles equal proofs from memory."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from llmseal.errors import LogError, LogFormatError, NoteSignatureError, ProofError
from llmseal.log.note.notekeys import Ed25519NoteSigner, load_verifier
from llmseal.log.tree.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    memory_reader,
    root_of,
    tree_root,
)
from llmseal.log.tree.tilereader import TileHashReader, TileLog, directory_fetch
from tests.unit.log import spec_tiles

TESSERA = Path(__file__).parents[2] / "vectors" / "tlog" / "tessera-log"
TESSERA_ORIGIN = "example.com/log/testdata"
TESSERA_VKEY = "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx"
WORDS = [
    *("one", "two", "three", "four", "five", "six", "seven", "eit", "nain", "ten"),
    *("ileven", "twelf", "threeten", "fourten", "fivten"),
]


@pytest.fixture(scope="module")
def tessera() -> TileLog:
    assert TESSERA_VKEY in (TESSERA.parent / "SOURCE.txt").read_text()
    return TileLog.directory(TESSERA, TESSERA_ORIGIN, [load_verifier(TESSERA_VKEY)])


def test_tessera_latest_checkpoint_root_and_entries(tessera: TileLog) -> None:
    latest = tessera.checkpoint()
    assert latest.size == 15
    assert tessera.root(15) == latest.root
    assert [e.decode() for e in tessera.entries(15)] == WORDS
    assert tessera.verify_entries(latest) == 15
    for i, word in enumerate(WORDS):
        tessera.check_inclusion(word.encode(), i, latest)


@pytest.mark.parametrize("size", range(16))
def test_tessera_checkpoint_at_every_size(tessera: TileLog, size: int) -> None:
    cp = tessera.checkpoint(f"checkpoint.{size}")
    assert cp.size == size
    if size == 0:
        assert cp.root == EMPTY_ROOT
        return
    # that size's own partial tile and bundle (tile/0/000.p/<size>) give its root
    assert tessera.root(size) == cp.root == root_of(leaf_hash(w.encode()) for w in WORDS[:size])
    assert tessera.verify_entries(cp) == size


def test_tessera_consistency_between_every_pair(tessera: TileLog) -> None:
    cps = [tessera.checkpoint(f"checkpoint.{n}") for n in range(16)]
    checked = 0
    for old, new in itertools.combinations_with_replacement(cps, 2):
        tessera.check_consistency(old, new)
        checked += 1
    assert checked == 136
    with pytest.raises(ProofError):  # and never backwards
        tessera.check_consistency(cps[9], cps[8])


def test_tessera_tampered_checkpoint_and_wrong_key(tessera: TileLog) -> None:
    data = (TESSERA / "checkpoint").read_bytes().replace(b"\n15\n", b"\n14\n")
    with pytest.raises(NoteSignatureError):
        tessera.open(data)
    other = TileLog.directory(
        TESSERA, TESSERA_ORIGIN, [Ed25519NoteSigner.generate(TESSERA_ORIGIN).verifier()]
    )
    with pytest.raises(NoteSignatureError):
        other.checkpoint()


def test_tessera_entry_at_wrong_index_fails(tessera: TileLog) -> None:
    latest = tessera.checkpoint()
    with pytest.raises(ProofError):
        tessera.check_inclusion(b"two", 0, latest)


def test_directory_fetch_refuses_escapes(tmp_path: Path) -> None:
    fetch = directory_fetch(tmp_path)
    for bad in ("../x", "/etc/passwd", "tile/../../x"):
        with pytest.raises(LogFormatError):
            fetch(bad)
    with pytest.raises(LogError, match="cannot read"):
        fetch("checkpoint")


def test_bigger_tree_through_every_tile_level() -> None:
    # 65,536 + 300 leaves: full L0 tiles, a full L1 tile, partial tiles on three levels.
    entries = [b"entry %d" % i for i in range(65_836)]
    files = spec_tiles.build(entries)
    reader = TileHashReader(spec_tiles.fetcher(files), len(entries))
    leaves = [leaf_hash(e) for e in entries]
    assert tree_root(reader, len(entries)) == root_of(leaves)
    assert reader(16, 0) == root_of(leaves[:65_536])  # one hash of the level-2 tile
    mem = memory_reader(leaves)
    for index in (0, 255, 256, 65_535, 65_536, 65_835):
        assert inclusion_proof(index, len(entries), reader) == inclusion_proof(
            index, len(entries), mem
        )
    for old in (1, 256, 65_536, 65_600):
        assert consistency_proof(old, len(entries), reader) == consistency_proof(
            old, len(entries), mem
        )


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 1500), st.data())
def test_tile_proofs_equal_memory_proofs(size: int, data: st.DataObject) -> None:
    entries = [b"e%d" % i for i in range(size)]
    files = spec_tiles.build(entries)
    reader = TileHashReader(spec_tiles.fetcher(files), size)
    mem = memory_reader([leaf_hash(e) for e in entries])
    index = data.draw(st.integers(0, size - 1))
    old = data.draw(st.integers(1, size))
    event("multi-tile" if size > 256 else "one tile")
    assert inclusion_proof(index, size, reader) == inclusion_proof(index, size, mem)
    assert consistency_proof(old, size, reader) == consistency_proof(old, size, mem)


def test_reader_refuses_subtrees_outside_the_tree_and_short_tiles() -> None:
    entries = [b"e%d" % i for i in range(10)]
    files = spec_tiles.build(entries)
    reader = TileHashReader(spec_tiles.fetcher(files), 10)
    with pytest.raises(ProofError):
        reader(0, 10)
    with pytest.raises(ProofError):
        reader(2, 2)  # leaves 8..11 are not all in a tree of 10
    files["tile/0/000.p/10"] = files["tile/0/000.p/10"][:-1]
    with pytest.raises(LogFormatError, match="expected 320"):
        TileHashReader(spec_tiles.fetcher(files), 10)(0, 0)
