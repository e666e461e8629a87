"""The right edge of a tile log: all a sequencer needs in memory to grow the tree.

Full tiles never change once written; only the rightmost, partial tile of each
level and the partial entry bundle do. :class:`TreeEdge` holds exactly those and
:meth:`TreeEdge.append` returns the next edge plus every file the batch creates:
full tiles and bundles completed by the batch and the new partial ones (tlog-tiles,
"Partial Tiles": a partial tile is never hashed into the level above; a tile that
fills up is, as the root of its 256 hashes).

It is a value: appending does not change the old edge, so a batch that fails to
be written leaves the sequencer on the last published edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from llmseal.errors import LogCorruptError, LogFormatError
from llmseal.log.tree.merkle import EMPTY_ROOT, leaf_hash, node_hash, root_of
from llmseal.log.tree.tilereader import Fetch
from llmseal.log.tree.tiles import (
    ENTRIES,
    MAX_ENTRY_SIZE,
    TILE_HEIGHT,
    TILE_WIDTH,
    TileRef,
    decode_bundle,
    decode_tile,
    encode_bundle,
    encode_tile,
)

__all__ = ["TreeEdge"]


@dataclass(frozen=True, slots=True)
class TreeEdge:
    """``tiles[L]``: the hashes of the partial tile at level ``L`` (maybe none);
    ``bundle``: the entries of the partial entry bundle."""

    size: int
    tiles: tuple[tuple[bytes, ...], ...] = ()
    bundle: tuple[bytes, ...] = ()

    @classmethod
    def load(cls, size: int, fetch: Fetch) -> TreeEdge:
        """Read the partial tiles and bundle of a tree of ``size`` from storage.

        Raises:
            LogCorruptError: one is missing, truncated or holds the wrong count.
        """
        tiles: list[tuple[bytes, ...]] = []
        level = 0
        try:
            while size >> (TILE_HEIGHT * level):
                count = size >> (TILE_HEIGHT * level)
                width = count % TILE_WIDTH
                ref = TileRef(level, count // TILE_WIDTH, width) if width else None
                tiles.append(tuple(decode_tile(fetch(ref.path()), width)) if ref else ())
                level += 1
            width = size % TILE_WIDTH
            ref = TileRef(ENTRIES, size // TILE_WIDTH, width) if width else None
            bundle = tuple(decode_bundle(fetch(ref.path()), width)) if ref else ()
        except LogFormatError as exc:
            raise LogCorruptError(f"the log's right edge at size {size} is damaged: {exc}") from exc
        edge = cls(size, tuple(tiles), bundle)
        if any(leaf_hash(e) != h for e, h in zip(edge.bundle, edge._level0(), strict=False)):
            raise LogCorruptError("the partial entry bundle does not match its level-0 tile")
        return edge

    def _level0(self) -> tuple[bytes, ...]:
        return self.tiles[0] if self.tiles else ()

    def root(self) -> bytes:
        """The tree's root hash, from the edge alone.

        The tree splits into complete subtrees, one per set bit of ``size``; a
        subtree at Merkle level ``k`` is made of hashes of the partial tile at
        level ``k // 8``, so the partial tiles hold everything the root needs.
        """
        if self.size == 0:
            return EMPTY_ROOT
        parts: list[bytes] = []
        for level in reversed(range(len(self.tiles))):
            hashes, pos = self.tiles[level], 0
            for bit in reversed(range(TILE_HEIGHT)):
                if len(hashes) >> bit & 1:
                    parts.append(root_of(hashes[pos : pos + (1 << bit)]))
                    pos += 1 << bit
        acc = parts[-1]
        for h in reversed(parts[:-1]):
            acc = node_hash(h, acc)
        return acc

    def append(self, entries: Sequence[bytes]) -> tuple[TreeEdge, dict[str, bytes]]:
        """The edge after appending ``entries``, and the files to write for it."""
        tiles = [list(t) for t in self.tiles]
        bundle = list(self.bundle)
        size = self.size
        files: dict[str, bytes] = {}
        dirty: set[int] = set()
        for entry in entries:
            if len(entry) > MAX_ENTRY_SIZE:
                raise LogFormatError(f"log entry is {len(entry)} bytes, over {MAX_ENTRY_SIZE}")
            bundle.append(entry)
            size += 1
            if len(bundle) == TILE_WIDTH:
                files[TileRef(ENTRIES, size // TILE_WIDTH - 1).path()] = encode_bundle(bundle)
                bundle = []
            self._add(tiles, 0, leaf_hash(entry), size, files, dirty)
        for level in dirty:
            if tiles[level]:
                n = (size >> (TILE_HEIGHT * level)) // TILE_WIDTH
                files[TileRef(level, n, len(tiles[level])).path()] = encode_tile(tiles[level])
        if entries and bundle:
            files[TileRef(ENTRIES, size // TILE_WIDTH, len(bundle)).path()] = encode_bundle(bundle)
        return TreeEdge(size, tuple(tuple(t) for t in tiles), tuple(bundle)), files

    @staticmethod
    def _add(
        tiles: list[list[bytes]],
        level: int,
        h: bytes,
        size: int,
        files: dict[str, bytes],
        dirty: set[int],
    ) -> None:
        while True:
            if level == len(tiles):
                tiles.append([])
            tiles[level].append(h)
            dirty.add(level)
            if len(tiles[level]) < TILE_WIDTH:
                return
            n = (size >> (TILE_HEIGHT * level)) // TILE_WIDTH - 1
            files[TileRef(level, n).path()] = encode_tile(tiles[level])
            h = root_of(tiles[level])  # a full tile is one hash of the level above
            tiles[level] = []
            level += 1
