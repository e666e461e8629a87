"""RFC 9162 Merkle tree hashing, inclusion proofs and consistency proofs (§2.1).

Nothing here holds a tree. Callers hand in a :data:`HashReader`, which returns the
hash of a *complete* subtree: ``read(level, index)`` covers leaves
``[index * 2**level, (index + 1) * 2**level)``. That is exactly what C2SP
tlog-tiles store, so a log answers any proof over ``n`` leaves with O(log n) reads,
and the weights commitment (a small tree in memory) uses :func:`memory_reader`.

Every verifier checks hash lengths and sizes before hashing: a proof from the wire
is hostile input, and RFC 9162 §2.1.3.2 / §2.1.4.2 only define the happy path.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Sequence

from llmseal.errors import ProofError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "HashReader",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "memory_reader",
    "node_hash",
    "range_hash",
    "root_of",
    "subtree_hashes_after_append",
    "tree_root",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()  # MTH({}) = HASH() (§2.1.1)

HashReader = Callable[[int, int], bytes]
"""``read(level, index)`` → the hash of the complete subtree at that position."""


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = HASH(0x00 || d): the 0x00 prefix keeps leaves and nodes apart."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """HASH(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_of(leaf_hashes: Iterable[bytes]) -> bytes:
    """MTH over leaf hashes in one pass, keeping only the O(log n) complete subtrees."""
    stack: list[tuple[int, bytes]] = []  # (size, hash) of complete subtrees, left to right
    for h in leaf_hashes:
        size, cur = 1, h
        while stack and stack[-1][0] == size:
            left = stack.pop()[1]
            size, cur = size * 2, node_hash(left, cur)
        stack.append((size, cur))
    return _fold(h for _, h in stack) if stack else EMPTY_ROOT


def memory_reader(leaf_hashes: Sequence[bytes]) -> HashReader:
    """A :data:`HashReader` over a tree kept in memory (every level precomputed)."""
    levels: list[list[bytes]] = [list(leaf_hashes)]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])

    def read(level: int, index: int) -> bytes:
        return levels[level][index]

    return read


def _fold(subtrees: Iterable[bytes]) -> bytes:
    """Combine complete subtrees given left to right: the right edge of the tree."""
    hashes = list(subtrees)
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def _largest_power_below(n: int) -> int:
    """k with k < n <= 2k (RFC 9162 §2.1.1, for n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_hash(read: HashReader, lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi]) for a range the RFC recursion produces (``lo`` aligned to the split)."""
    parts: list[bytes] = []
    while lo < hi:
        size = hi - lo
        step = 1 << (size.bit_length() - 1)  # largest power of two <= size
        level = step.bit_length() - 1
        parts.append(read(level, lo >> level))
        lo += step
    return _fold(parts)


def tree_root(read: HashReader, size: int) -> bytes:
    """The root hash of the tree of ``size`` leaves."""
    return range_hash(read, 0, size) if size else EMPTY_ROOT


def inclusion_proof(index: int, size: int, read: HashReader) -> list[bytes]:
    """PATH(index, D[size]) (§2.1.3.1), ordered from the leaf up."""
    if not 0 <= index < size:
        raise ProofError(f"no leaf {index} in a tree of size {size}")
    siblings: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _largest_power_below(hi - lo)
        if index < lo + k:
            siblings.append(range_hash(read, lo + k, hi))
            hi = lo + k
        else:
            siblings.append(range_hash(read, lo, lo + k))
            lo += k
    siblings.reverse()
    return siblings


def consistency_proof(old_size: int, new_size: int, read: HashReader) -> list[bytes]:
    """PROOF(old_size, D[new_size]) (§2.1.4.1); empty when the sizes are equal."""
    if not 0 < old_size <= new_size:
        raise ProofError(f"no consistency proof from size {old_size} to {new_size}")
    parts: list[bytes] = []
    lo, hi, whole_old_tree = 0, new_size, True
    while hi - lo != old_size - lo:
        k = _largest_power_below(hi - lo)
        if old_size - lo <= k:
            parts.append(range_hash(read, lo + k, hi))
            hi = lo + k
        else:
            parts.append(range_hash(read, lo, lo + k))
            lo += k
            whole_old_tree = False
    if not whole_old_tree:
        parts.append(range_hash(read, lo, hi))
    parts.reverse()
    return parts


def subtree_hashes_after_append(
    index: int, leaf: bytes, read: HashReader
) -> list[tuple[int, int, bytes]]:
    """The complete subtrees that appending leaf hash ``leaf`` at ``index`` creates.

    ``(level, index, hash)`` from level 0 up; a log stores these and nothing else.
    """
    out = [(0, index, leaf)]
    level, i, cur = 0, index, leaf
    while i & 1:
        cur = node_hash(read(level, i - 1), cur)
        level, i = level + 1, i >> 1
        out.append((level, i, cur))
    return out


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} is {len(value)} bytes, not {HASH_SIZE}")


def _check_path(proof: Sequence[bytes]) -> None:
    for n, p in enumerate(proof):
        _check_hash(p, f"proof hash {n}")


def _same(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise :class:`ProofError` unless ``proof`` puts ``leaf`` at ``index`` under ``root``.

    The algorithm of RFC 9162 §2.1.3.2, with lengths checked first.
    """
    _check_hash(leaf, "leaf hash")
    _check_hash(root, "root hash")
    _check_path(proof)
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree is deep")
    if not _same(r, root):
        raise ProofError("inclusion proof does not lead to the root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Raise :class:`ProofError` unless the tree of ``old_size`` is a prefix of ``new_size``.

    RFC 9162 §2.1.4.2. A proof from the empty tree proves nothing and is refused.
    """
    if old_size <= 0 or old_size > new_size:
        raise ProofError(f"no consistency between sizes {old_size} and {new_size}")
    if old_size == new_size:
        # Nothing is hashed: equal sizes are consistent exactly when the roots are equal
        # (the transparency-dev vectors use arbitrary bytes here).
        if proof:
            raise ProofError("consistency proof between equal sizes must be empty")
        if not _same(old_root, new_root):
            raise ProofError("equal tree sizes with different roots")
        return
    _check_hash(old_root, "old root hash")
    _check_hash(new_root, "new root hash")
    _check_path(proof)
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)  # the old tree is itself a complete subtree
    if not path:
        raise ProofError("empty consistency proof")
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if not (_same(fr, old_root) and _same(sr, new_root)):
        raise ProofError("consistency proof does not lead to both roots")
