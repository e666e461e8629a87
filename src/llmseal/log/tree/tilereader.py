"""Reading a tile log — ours or anyone's (Tessera, Sunlight's tlog-tiles logs).

A :class:`TileLog` sits on a :data:`Fetch` function (``path`` below the log
prefix → bytes: a directory, an HTTP client, a log's own storage) and gives
checkpoints, entries and proofs. Nothing fetched is trusted: a tile only ever
feeds a proof or a root that is then checked against a verified checkpoint.

:class:`TileHashReader` is the :data:`~llmseal.log.tree.merkle.HashReader` over tiles:
the hash of a complete subtree at Merkle level ``l`` comes from tile level
``l // 8`` (one stored hash when ``l`` is a multiple of 8, otherwise a small
subtree hashed inside the tile; a :class:`TileCache` keeps each tile with its
inner levels, so a proof costs O(log n) dictionary reads).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from llmseal.errors import LogError, LogFormatError, ProofError
from llmseal.log.note.checkpoint import SignedCheckpoint, open_checkpoint
from llmseal.log.note.note import MAX_NOTE_BYTES, NoteVerifier
from llmseal.log.tree.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_of,
    tree_root,
    verify_consistency,
    verify_inclusion,
)
from llmseal.log.tree.tiles import (
    ENTRIES,
    TILE_HEIGHT,
    TILE_WIDTH,
    TileRef,
    decode_bundle,
    decode_tile,
)

__all__ = ["Fetch", "TileCache", "TileHashReader", "TileLog", "directory_fetch", "tile_width"]

Fetch = Callable[[str], bytes]
"""``fetch(path)`` → the resource at ``<prefix>/<path>``; raises :class:`LogError` if absent."""

_MAX_RESOURCE = max(MAX_NOTE_BYTES, TILE_WIDTH * (2 + 0xFFFF))


def directory_fetch(root: Path | str) -> Fetch:
    """A :data:`Fetch` over a directory holding the tlog-tiles layout."""
    base = Path(root)

    def fetch(path: str) -> bytes:
        if path.startswith("/") or ".." in path.split("/"):
            raise LogFormatError(f"unsafe log path {path!r}")
        try:
            with (base / path).open("rb") as handle:
                data = handle.read(_MAX_RESOURCE + 1)
        except OSError as exc:
            raise LogError(f"cannot read {path} from log at {base}: {exc.strerror}") from exc
        if len(data) > _MAX_RESOURCE:
            raise LogFormatError(f"{path} is larger than any tile log resource")
        return data

    return fetch


def tile_width(level: int, index: int, size: int) -> int:
    """The width of tile ``index`` at tile level ``level`` in a tree of ``size`` (0 if none)."""
    count = size >> (TILE_HEIGHT * max(level, 0))
    return max(0, min(TILE_WIDTH, count - index * TILE_WIDTH))


class TileCache:
    """A bounded, thread-safe cache of tiles with their inner levels computed.

    Keys include the width, and a tile of a given width never changes, so one
    cache serves readers of every tree size (a log shares one across checkpoints).
    """

    def __init__(self, max_tiles: int = 4096) -> None:
        self._limit = max_tiles
        self._tiles: OrderedDict[TileRef, list[list[bytes]]] = OrderedDict()
        self._lock = threading.Lock()

    def levels(self, ref: TileRef, fetch: Fetch) -> list[list[bytes]]:
        """Level 0 is the tile's hashes; level ``r`` the subtrees of ``2**r`` of them."""
        with self._lock:
            levels = self._tiles.get(ref)
            if levels is not None:
                self._tiles.move_to_end(ref)
                return levels
        levels = [decode_tile(fetch(ref.path()), ref.width)]
        while len(levels[-1]) > 1:
            below = levels[-1]
            levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
        with self._lock:
            self._tiles[ref] = levels
            if len(self._tiles) > self._limit:
                self._tiles.popitem(last=False)
        return levels


class TileHashReader:
    """Complete-subtree hashes of a tree of ``size`` leaves, read from tiles."""

    def __init__(self, fetch: Fetch, size: int, *, cache: TileCache | None = None) -> None:
        self._fetch = fetch
        self.size = size
        self._cache = cache if cache is not None else TileCache()

    def __call__(self, level: int, index: int) -> bytes:
        tl, r = divmod(level, TILE_HEIGHT)
        first = index << r  # position of the subtree's first hash at Merkle level 8*tl
        n, offset = divmod(first, TILE_WIDTH)
        width = tile_width(tl, n, self.size)
        if offset + (1 << r) > width:
            raise ProofError(f"no complete subtree at level {level}, index {index}")
        return self._cache.levels(TileRef(tl, n, width), self._fetch)[r][offset >> r]


class TileLog:
    """A read-only view of a tile log, for verifiers, monitors and our own serving."""

    def __init__(self, fetch: Fetch, origin: str, verifiers: Iterable[NoteVerifier]) -> None:
        self._fetch = fetch
        self.origin = origin
        self._verifiers = tuple(verifiers)

    @classmethod
    def directory(cls, root: Path | str, origin: str, verifiers: Iterable[NoteVerifier]) -> TileLog:
        return cls(directory_fetch(root), origin, verifiers)

    def checkpoint(self, path: str = "checkpoint") -> SignedCheckpoint:
        """The verified checkpoint at ``path`` (``checkpoint`` unless told otherwise)."""
        return self.open(self._fetch(path))

    def open(self, data: bytes) -> SignedCheckpoint:
        """Verify checkpoint bytes against this log's origin and keys."""
        return open_checkpoint(data, origin=self.origin, verifiers=self._verifiers)

    def reader(self, size: int) -> TileHashReader:
        return TileHashReader(self._fetch, size)

    def root(self, size: int) -> bytes:
        """The root hash the tiles give for ``size`` (check it against a checkpoint)."""
        return tree_root(self.reader(size), size)

    def entries(self, size: int, start: int = 0) -> Iterator[bytes]:
        """Entries ``start`` .. ``size - 1`` from the entry bundles of a tree of ``size``."""
        for n in range(start // TILE_WIDTH, -(-size // TILE_WIDTH)):
            width = tile_width(0, n, size)
            ref = TileRef(ENTRIES, n, width)
            bundle = decode_bundle(self._fetch(ref.path()), width)
            yield from bundle[max(0, start - n * TILE_WIDTH) :]

    def verify_entries(self, checkpoint: SignedCheckpoint) -> int:
        """Recompute the checkpoint's root from the entry bundles alone; the entry count.

        Also checks the level-0 tiles hold the entries' leaf hashes.
        """
        leaves = [leaf_hash(e) for e in self.entries(checkpoint.size)]
        reader = self.reader(checkpoint.size)
        for i, h in enumerate(leaves):
            if reader(0, i) != h:
                raise ProofError(f"level-0 tile hash {i} is not the hash of entry {i}")
        if root_of(leaves) != checkpoint.root:
            raise ProofError("the entries do not hash to the checkpoint's root")
        return len(leaves)

    def prove_inclusion(self, index: int, checkpoint: SignedCheckpoint) -> list[bytes]:
        return inclusion_proof(index, checkpoint.size, self.reader(checkpoint.size))

    def check_inclusion(self, entry: bytes, index: int, checkpoint: SignedCheckpoint) -> None:
        """Prove from the tiles, then verify against the signed root."""
        proof = self.prove_inclusion(index, checkpoint)
        verify_inclusion(leaf_hash(entry), index, checkpoint.size, proof, checkpoint.root)

    def check_consistency(self, old: SignedCheckpoint, new: SignedCheckpoint) -> list[bytes]:
        """A consistency proof from the tiles of ``new``, verified against both roots."""
        if old.size == 0:  # the empty tree is a prefix of every tree: nothing to prove
            if old.root != EMPTY_ROOT:
                raise ProofError("a checkpoint of size 0 must carry the empty tree's root")
            return []
        proof = consistency_proof(old.size, new.size, self.reader(new.size))
        verify_consistency(old.size, new.size, old.root, new.root, proof)
        return proof
