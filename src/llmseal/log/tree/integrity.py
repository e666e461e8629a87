"""Checking a stored tile log against its checkpoint before serving or signing over it.

A log that signs a checkpoint over damaged tiles would publish a tree nobody can
prove anything against (or worse, extend a corrupt one). So at startup the
sequencer checks, in O(tree size / 256) reads:

* every hash tile exists with exactly the right length;
* every hash of a level ``L + 1`` tile is the root of the full tile below it;
* the root the right edge gives equals the checkpoint's root;
* the partial entry bundle hashes to the partial level-0 tile.

With ``entries=True`` (``llmseal log check``) every entry bundle is read and
hashed against its level-0 tile too.
"""

from __future__ import annotations

from llmseal.errors import LogCorruptError, LogError
from llmseal.log.note.checkpoint import SignedCheckpoint
from llmseal.log.tree.edge import TreeEdge
from llmseal.log.tree.merkle import leaf_hash, root_of
from llmseal.log.tree.tilereader import Fetch
from llmseal.log.tree.tiles import (
    ENTRIES,
    TILE_WIDTH,
    TileRef,
    decode_bundle,
    decode_tile,
    tiles_for_size,
)

__all__ = ["check_tree"]


def _read(fetch: Fetch, ref: TileRef) -> list[bytes]:
    try:
        data = fetch(ref.path())
        return decode_bundle(data, ref.width) if ref.is_entries else decode_tile(data, ref.width)
    except LogError as exc:
        raise LogCorruptError(f"log tile {ref.path()} is damaged: {exc}") from exc


def check_tree(fetch: Fetch, checkpoint: SignedCheckpoint, *, entries: bool = False) -> TreeEdge:
    """Check the stored tree of ``checkpoint``; its right edge when it is intact.

    Raises:
        LogCorruptError: naming the first tile that contradicts the rest.
    """
    size = checkpoint.size
    child_roots: dict[tuple[int, int], bytes] = {}  # (level, index) of a full tile -> its root
    for ref in tiles_for_size(size):
        hashes = _read(fetch, ref)
        if not ref.partial:
            child_roots[(ref.level, ref.index)] = root_of(hashes)
        if ref.level > 0:
            for i, h in enumerate(hashes):
                below = child_roots.pop((ref.level - 1, ref.index * TILE_WIDTH + i), None)
                if below != h:
                    raise LogCorruptError(
                        f"log tile {ref.path()} hash {i} is not the root of the tile below it"
                    )
        if entries and ref.level == 0:
            bundle = _read(fetch, TileRef(ENTRIES, ref.index, ref.width))
            if [leaf_hash(e) for e in bundle] != hashes:
                raise LogCorruptError(f"entry bundle {ref.index} does not match tile {ref.path()}")
    edge = TreeEdge.load(size, fetch)
    if edge.root() != checkpoint.root:
        raise LogCorruptError(
            f"the stored tiles do not hash to the checkpoint's root (size {size})"
        )
    return edge
