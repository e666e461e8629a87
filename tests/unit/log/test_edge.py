"""The sequencer's tree edge writes exactly the tiles the tlog-tiles formulas define."""

from __future__ import annotations

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from llmseal.errors import LogCorruptError, LogFormatError
from llmseal.log.tree.edge import TreeEdge
from llmseal.log.tree.merkle import EMPTY_ROOT, leaf_hash, root_of
from tests.unit.log import spec_tiles


def _grow(entries: list[bytes], cuts: list[int]) -> tuple[TreeEdge, dict[str, bytes]]:
    edge, written = TreeEdge(0), dict[str, bytes]()
    assert edge.root() == EMPTY_ROOT
    for lo, hi in zip([0, *cuts], [*cuts, len(entries)], strict=True):
        edge, files = edge.append(entries[lo:hi])
        for path, data in files.items():
            assert written.setdefault(path, data) == data  # a path is never rewritten differently
        assert edge.size == hi
        assert edge.root() == root_of(leaf_hash(e) for e in entries[:hi])
        spec = spec_tiles.build(entries[:hi])
        assert {p: written[p] for p in spec} == spec  # every tile of this size, as specified
        assert TreeEdge.load(hi, spec_tiles.fetcher(written)) == edge
    return edge, written


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 1300), st.lists(st.integers(0, 1300), max_size=6))
def test_batches_write_the_specified_tiles(size: int, cuts: list[int]) -> None:
    entries = [b"entry-%d" % i for i in range(size)]
    cuts = sorted({c for c in cuts if 0 < c < size})
    event(f"{len(cuts) + 1} batches")
    _grow(entries, cuts)


def test_crossing_a_level_two_tile() -> None:
    entries = [b"%d" % i for i in range(65_536 + 3)]
    edge, written = _grow_fast(entries, [65_535, 65_536])
    assert "tile/2/000.p/1" in written and "tile/1/000" in written and "tile/0/255" in written
    assert edge.tiles[1] == () and len(edge.tiles[2]) == 1


def _grow_fast(entries: list[bytes], cuts: list[int]) -> tuple[TreeEdge, dict[str, bytes]]:
    edge, written = TreeEdge(0), dict[str, bytes]()
    for lo, hi in zip([0, *cuts], [*cuts, len(entries)], strict=True):
        edge, files = edge.append(entries[lo:hi])
        written.update(files)
    assert edge.root() == root_of(leaf_hash(e) for e in entries)
    spec = spec_tiles.build(entries)
    assert {p: written[p] for p in spec} == spec
    return edge, written


def test_oversize_entry_is_refused_and_edge_unchanged() -> None:
    edge, _ = TreeEdge(0).append([b"a", b"b"])
    with pytest.raises(LogFormatError):
        edge.append([b"c", b"x" * 65_536])
    assert edge.size == 2


def test_load_detects_damaged_edges() -> None:
    entries = [b"e%d" % i for i in range(300)]
    files = spec_tiles.build(entries)
    TreeEdge.load(300, spec_tiles.fetcher(files))
    truncated = dict(files, **{"tile/0/001.p/44": files["tile/0/001.p/44"][:-2]})
    with pytest.raises(LogCorruptError, match="damaged"):
        TreeEdge.load(300, spec_tiles.fetcher(truncated))
    edited = files["tile/entries/001.p/44"].replace(b"e299", b"e999")
    with pytest.raises(LogCorruptError, match="does not match"):
        TreeEdge.load(300, spec_tiles.fetcher(dict(files, **{"tile/entries/001.p/44": edited})))
