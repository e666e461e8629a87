"""C2SP tlog-tiles: resource paths, tile and entry-bundle encodings.

A tile is up to 256 consecutive hashes of one tree level; tile level ``L`` holds
Merkle level ``8 * L``. Hash ``i`` of tile ``N`` at level ``L`` is
MTH(D[(N*256+i) * 256**L : (N*256+i+1) * 256**L]). The rightmost tiles of a tree
of size ``s`` are *partial*: the one at level ``L`` has ``floor(s / 256**L) mod
256`` hashes and is served as ``.p/<W>``; partial tiles are never hashed upward.

Paths: ``tile/<L>/<N>[.p/<W>]`` and ``tile/entries/<N>[.p/<W>]``, with ``N`` in
zero-padded groups of three digits, all but the last prefixed ``x``
(1234067 → ``x001/x234/067``). An entry bundle is the entries of one level-0
tile, each as a big-endian uint16 length then the bytes (so ≤ 65,535 bytes each).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from llmseal.errors import LogFormatError
from llmseal.log.tree.merkle import HASH_SIZE

__all__ = [
    "ENTRIES",
    "MAX_ENTRY_SIZE",
    "MAX_TILE_LEVEL",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "TileRef",
    "decode_bundle",
    "decode_tile",
    "encode_bundle",
    "encode_tile",
    "parse_tile_path",
    "tile_index_path",
    "tiles_for_size",
]

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT  # 256 hashes, 8,192 bytes when full
MAX_TILE_LEVEL = 63
MAX_ENTRY_SIZE = 0xFFFF
ENTRIES = -1  # the "level" of entry bundles in a TileRef
_GROUP = re.compile(r"\A[0-9]{3}\Z")
_LEVEL = re.compile(r"\A(0|[1-9][0-9]?)\Z")
_WIDTH = re.compile(r"\A[1-9][0-9]{0,2}\Z")


def tile_index_path(n: int) -> str:
    """``N`` as path elements: 1234067 → ``x001/x234/067``."""
    if n < 0:
        raise LogFormatError("a tile index is non-negative")
    groups = [f"{n % 1000:03d}"]
    n //= 1000
    while n:
        groups.append(f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(reversed(groups))


@dataclass(frozen=True, slots=True, order=True)
class TileRef:
    """One tile (``level`` ≥ 0) or entry bundle (``level`` == -1), full or partial."""

    level: int
    index: int
    width: int = TILE_WIDTH

    def __post_init__(self) -> None:
        if not ENTRIES <= self.level <= MAX_TILE_LEVEL or self.index < 0:
            raise LogFormatError("tile level or index out of range")
        if not 1 <= self.width <= TILE_WIDTH:
            raise LogFormatError("tile width must be 1..256")

    @property
    def is_entries(self) -> bool:
        return self.level == ENTRIES

    @property
    def partial(self) -> bool:
        return self.width < TILE_WIDTH

    def path(self) -> str:
        """The resource path below the log prefix."""
        kind = "entries" if self.is_entries else str(self.level)
        suffix = f".p/{self.width}" if self.partial else ""
        return f"tile/{kind}/{tile_index_path(self.index)}{suffix}"

    def full(self) -> TileRef:
        """The full tile this one is (or will become) a prefix of."""
        return TileRef(self.level, self.index)


def parse_tile_path(path: str) -> TileRef:
    """Parse ``tile/...`` strictly (one spelling per tile); :class:`LogFormatError` if not."""
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "tile":
        raise LogFormatError("not a tile path")
    kind, rest = parts[1], parts[2:]
    width = TILE_WIDTH
    if len(rest) >= 2 and rest[-2].endswith(".p"):
        if not _WIDTH.match(rest[-1]) or int(rest[-1]) >= TILE_WIDTH:
            raise LogFormatError("partial tile width must be 1..255 without leading zeros")
        width = int(rest[-1])
        rest = [*rest[:-2], rest[-2][:-2]]
    if len(rest) > 7:  # 2**63 needs seven groups of three digits
        raise LogFormatError("tile index too long")
    *upper, last = rest
    if not _GROUP.match(last) or not all(g[:1] == "x" and _GROUP.match(g[1:]) for g in upper):
        raise LogFormatError("tile index must be xNNN/.../NNN groups")
    index = int("".join(g.lstrip("x") for g in rest))
    if upper and upper[0] == "x000":  # leading zero groups would give one tile two paths
        raise LogFormatError("tile index has a leading zero group")
    if kind == "entries":
        return TileRef(ENTRIES, index, width)
    if not _LEVEL.match(kind) or int(kind) > MAX_TILE_LEVEL:
        raise LogFormatError("tile level must be 0..63 without leading zeros")
    return TileRef(int(kind), index, width)


def tiles_for_size(size: int, *, start: int = 0) -> Iterator[TileRef]:
    """Every hash tile of a tree of ``size`` leaves (partials at their widths).

    With ``start`` (an older size), only the tiles that growing from ``start`` to
    ``size`` creates or changes: what a log writes for one batch.
    """
    level = 0
    while size >> (TILE_HEIGHT * level):
        count = size >> (TILE_HEIGHT * level)  # hashes at Merkle level 8*level
        first = (start >> (TILE_HEIGHT * level)) // TILE_WIDTH
        for n in range(first, -(-count // TILE_WIDTH)):
            yield TileRef(level, n, min(TILE_WIDTH, count - n * TILE_WIDTH))
        level += 1


def encode_tile(hashes: Sequence[bytes]) -> bytes:
    """Concatenated hashes (1..256 of them)."""
    if not 1 <= len(hashes) <= TILE_WIDTH or any(len(h) != HASH_SIZE for h in hashes):
        raise LogFormatError("a tile holds 1..256 hashes of 32 bytes")
    return b"".join(hashes)


def decode_tile(data: bytes, width: int) -> list[bytes]:
    """The ``width`` hashes of a tile; the length must be exact."""
    if len(data) != width * HASH_SIZE:
        raise LogFormatError(f"tile is {len(data)} bytes, expected {width * HASH_SIZE}")
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def encode_bundle(entries: Sequence[bytes]) -> bytes:
    """uint16-length-prefixed entries (1..256 of them)."""
    if not 1 <= len(entries) <= TILE_WIDTH:
        raise LogFormatError("an entry bundle holds 1..256 entries")
    out = bytearray()
    for entry in entries:
        if len(entry) > MAX_ENTRY_SIZE:
            raise LogFormatError(f"log entry is {len(entry)} bytes, over {MAX_ENTRY_SIZE}")
        out += len(entry).to_bytes(2, "big") + entry
    return bytes(out)


def decode_bundle(data: bytes, width: int | None = None) -> list[bytes]:
    """The entries of a bundle; exactly ``width`` of them when given, nothing left over."""
    entries: list[bytes] = []
    pos, end = 0, len(data)
    while pos < end:
        if end - pos < 2:
            raise LogFormatError("entry bundle ends inside a length prefix")
        length = int.from_bytes(data[pos : pos + 2], "big")
        pos += 2
        if end - pos < length:
            raise LogFormatError("entry bundle ends inside an entry")
        entries.append(data[pos : pos + length])
        pos += length
        if len(entries) > TILE_WIDTH:
            raise LogFormatError("entry bundle holds more than 256 entries")
    if width is not None and len(entries) != width:
        raise LogFormatError(f"entry bundle holds {len(entries)} entries, expected {width}")
    return entries
