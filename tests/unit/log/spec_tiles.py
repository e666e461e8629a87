"""A tile log written straight from the C2SP tlog-tiles formulas, as an independent check.

Hash ``i`` of tile ``n`` at level ``l`` is MTH(D[(n*256+i)*256**l : (n*256+i+1)*256**l]);
partial tiles hold floor(s / 256**l) mod 256 hashes. Nothing here shares code with the
log's writer or reader except the leaf/node hash primitives of RFC 9162.
"""

from __future__ import annotations

from collections.abc import Callable

from llmseal.errors import LogError
from llmseal.log.tree.merkle import leaf_hash, root_of


def _path_index(n: int) -> str:
    s = f"{n:d}"
    s = "0" * (-len(s) % 3) + s
    groups = [s[i : i + 3] for i in range(0, len(s), 3)]
    return "/".join(["x" + g for g in groups[:-1]] + groups[-1:])


def build(entries: list[bytes]) -> dict[str, bytes]:
    """Every tile and entry bundle of the tree over ``entries`` (partials at full size)."""
    size = len(entries)
    leaves = [leaf_hash(e) for e in entries]
    files: dict[str, bytes] = {}
    level = 0
    while size >> (8 * level):
        span = 256**level
        count = size // span
        for n in range(-(-count // 256)):
            width = min(256, count - n * 256)
            hashes = [
                root_of(leaves[(n * 256 + i) * span : (n * 256 + i + 1) * span])
                for i in range(width)
            ]
            suffix = "" if width == 256 else f".p/{width}"
            files[f"tile/{level}/{_path_index(n)}{suffix}"] = b"".join(hashes)
        level += 1
    for n in range(-(-size // 256)):
        chunk = entries[n * 256 : (n + 1) * 256]
        suffix = "" if len(chunk) == 256 else f".p/{len(chunk)}"
        files[f"tile/entries/{_path_index(n)}{suffix}"] = b"".join(
            len(e).to_bytes(2, "big") + e for e in chunk
        )
    return files


def fetcher(files: dict[str, bytes]) -> Callable[[str], bytes]:
    """A tile-log fetch function over ``files``."""

    def fetch(path: str) -> bytes:
        try:
            return files[path]
        except KeyError:
            raise LogError(f"no {path}") from None

    return fetch
