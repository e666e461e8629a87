"""C2SP tlog-tiles: the path rule, the tile set of a size, tile and bundle encodings."""

from __future__ import annotations

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from llmseal.errors import LogFormatError
from llmseal.log.tree.tiles import (
    ENTRIES,
    MAX_ENTRY_SIZE,
    TileRef,
    decode_bundle,
    decode_tile,
    encode_bundle,
    encode_tile,
    parse_tile_path,
    tile_index_path,
    tiles_for_size,
)
from tests.unit.log import spec_tiles


@pytest.mark.parametrize(
    ("n", "path"),
    [(0, "000"), (7, "007"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067")],
)
def test_index_path_rule(n: int, path: str) -> None:
    assert tile_index_path(n) == path


def test_paths_of_tiles_and_bundles() -> None:
    assert TileRef(0, 1234067).path() == "tile/0/x001/x234/067"
    assert TileRef(2, 5, 17).path() == "tile/2/005.p/17"
    assert TileRef(ENTRIES, 1000, 3).path() == "tile/entries/x001/000.p/3"


def test_worked_example_of_size_70000() -> None:
    # tlog-tiles, "Partial Tiles": 273 full L0 + L0 of width 112, one full L1 + L1 of
    # width 17, L2 of width 1.
    tiles = list(tiles_for_size(70_000))
    level0 = [t for t in tiles if t.level == 0]
    assert len(level0) == 274 and [t for t in level0 if t.partial] == [TileRef(0, 273, 112)]
    assert [t for t in tiles if t.level == 1] == [TileRef(1, 0), TileRef(1, 1, 17)]
    assert [t for t in tiles if t.level == 2] == [TileRef(2, 0, 1)]
    assert list(tiles_for_size(256)) == [TileRef(0, 0), TileRef(1, 0, 1)]
    assert list(tiles_for_size(0)) == []


@given(st.integers(1, 300_000), st.integers(0, 300_000))
def test_incremental_tiles_are_exactly_the_changed_ones(size: int, start: int) -> None:
    start = min(start, size)
    old = {t.full(): t for t in tiles_for_size(start)}
    new = set(tiles_for_size(size))
    changed = {t for t in new if old.get(t.full()) != t}
    delta = set(tiles_for_size(size, start=start))
    event("grew" if size > start else "same size")
    assert changed <= delta <= new


@given(st.integers(-1, 63), st.integers(0, (1 << 63) - 1), st.integers(1, 256))
def test_paths_parse_back(level: int, index: int, width: int) -> None:
    ref = TileRef(level, index, width)
    event("partial" if ref.partial else "full")
    assert parse_tile_path(ref.path()) == ref


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/1",
        "tile/0/0001",
        "tile/00/000",
        "tile/64/000",
        "tile/-1/000",
        "tile/0/x000/001",  # a second spelling of tile 1
        "tile/0/001/002",
        "tile/0/y001/002",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/08",
        "tile/0/000.p/",
        "tile/0/000.q/5",
        "tile/data/000",
        "tile/entries",
        "tiles/0/000",
        "tile/0/x001/x002/x003/x004/x005/x006/x007/008",
        "tile/0/000/",
    ],
)
def test_bad_tile_paths(path: str) -> None:
    with pytest.raises(LogFormatError):
        parse_tile_path(path)


def test_tile_encoding() -> None:
    hashes = [bytes([i]) * 32 for i in range(3)]
    assert decode_tile(encode_tile(hashes), 3) == hashes
    for bad in (b"", b"x" * 31, b"x" * 96 + b"y"):
        with pytest.raises(LogFormatError):
            decode_tile(bad, 3)
    with pytest.raises(LogFormatError):
        encode_tile([b"x" * 31])
    with pytest.raises(LogFormatError):
        encode_tile([])


def test_bundle_encoding_matches_the_spec_builder() -> None:
    entries = [b"one", b"", b"x" * MAX_ENTRY_SIZE]
    data = encode_bundle(entries)
    assert data == spec_tiles.build(entries)["tile/entries/000.p/3"]
    assert decode_bundle(data, 3) == entries
    with pytest.raises(LogFormatError, match="over 65535"):
        encode_bundle([b"x" * (MAX_ENTRY_SIZE + 1)])


@pytest.mark.parametrize(
    ("data", "width", "message"),
    [
        (b"\x00", None, "length prefix"),
        (b"\x00\x05abc", None, "inside an entry"),
        (b"\x00\x01a\x00", None, "length prefix"),
        (b"\x00\x01a", 2, "expected 2"),
        (b"\x00\x01a\x00\x01b", 1, "expected 1"),
        (b"\x00\x00" * 257, None, "more than 256"),
    ],
)
def test_hostile_bundles(data: bytes, width: int | None, message: str) -> None:
    with pytest.raises(LogFormatError, match=message):
        decode_bundle(data, width)


@given(st.lists(st.binary(max_size=300), min_size=1, max_size=256))
def test_bundles_round_trip(entries: list[bytes]) -> None:
    event("has empty entry" if b"" in entries else "no empty entry")
    assert decode_bundle(encode_bundle(entries), len(entries)) == entries
