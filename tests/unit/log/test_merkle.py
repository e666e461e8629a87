"""RFC 9162 tree hashing and proofs: the transparency-dev vectors and properties."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from llmseal.errors import ProofError
from llmseal.log.tree.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    memory_reader,
    root_of,
    subtree_hashes_after_append,
    tree_root,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).parents[2] / "vectors" / "merkle"


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


def _cases(kind: str) -> list[Path]:
    found = sorted((VECTORS / kind).rglob("*.json"))
    assert len(found) > 40  # the whole vector set is present
    return found


def _mth(leaves: list[bytes]) -> bytes:
    """MTH written straight from RFC 9162 §2.1.1, recursively, as an independent check."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


@pytest.mark.parametrize("path", _cases("inclusion"), ids=lambda p: str(p.relative_to(VECTORS)))
def test_inclusion_vectors(path: Path) -> None:
    case = json.loads(path.read_text())
    proof = [_b64(p) for p in case["proof"] or []]
    args = (_b64(case["leafHash"]), case["leafIdx"], case["treeSize"], proof, _b64(case["root"]))
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("path", _cases("consistency"), ids=lambda p: str(p.relative_to(VECTORS)))
def test_consistency_vectors(path: Path) -> None:
    case = json.loads(path.read_text())
    proof = [_b64(p) for p in case["proof"] or []]
    args = (case["size1"], case["size2"], _b64(case["root1"]), _b64(case["root2"]), proof)
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def test_empty_tree() -> None:
    assert root_of([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert tree_root(memory_reader([]), 0) == EMPTY_ROOT


leaf_lists = st.lists(st.binary(max_size=8), min_size=1, max_size=70)


@given(leaf_lists, st.data())
def test_generated_proofs_verify_and_match_the_rfc(
    leaves: list[bytes], data: st.DataObject
) -> None:
    hashes = [leaf_hash(x) for x in leaves]
    n = len(hashes)
    read = memory_reader(hashes)
    root = _mth(leaves)
    assert root_of(hashes) == root == tree_root(read, n)
    index = data.draw(st.integers(0, n - 1))
    proof = inclusion_proof(index, n, read)
    verify_inclusion(hashes[index], index, n, proof, root)
    old = data.draw(st.integers(1, n))
    cproof = consistency_proof(old, n, read)
    verify_consistency(old, n, _mth(leaves[:old]), root, cproof)
    event(f"tree size bucket {min(n // 16, 4)}")


@given(st.lists(st.binary(max_size=8), min_size=1, max_size=70, unique=True), st.data())
def test_altered_proofs_never_verify(leaves: list[bytes], data: st.DataObject) -> None:
    # Distinct leaves: with repeated leaves a proof for one copy honestly proves another.
    # The size is not altered: a proof alone does not bind the tree size, the root does.
    hashes = [leaf_hash(x) for x in leaves]
    n = len(hashes)
    index = data.draw(st.integers(0, n - 1))
    leaf = hashes[index]
    proof = inclusion_proof(index, n, memory_reader(hashes))
    how = data.draw(st.sampled_from(["flip", "drop", "extra", "index"]))
    if how in ("flip", "drop") and not proof:
        how = "extra"
    if how == "flip":
        i = data.draw(st.integers(0, len(proof) - 1))
        proof[i] = bytes([proof[i][0] ^ 1]) + proof[i][1:]
    elif how == "drop":
        proof.pop()
    elif how == "extra":
        proof.append(b"\x00" * 32)
    else:
        index = data.draw(st.integers(0, n).filter(lambda j: j != index))
    event(how)
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, n, proof, root_of(hashes))


def test_stored_hashes_from_appends_match_the_memory_tree() -> None:
    stored: dict[tuple[int, int], bytes] = {}
    hashes = [leaf_hash(bytes([i])) for i in range(77)]
    for i, h in enumerate(hashes):
        for level, index, value in subtree_hashes_after_append(
            i, h, lambda lv, ix: stored[(lv, ix)]
        ):
            stored[(level, index)] = value
    read = memory_reader(hashes)
    for (level, index), value in stored.items():
        assert read(level, index) == value
    assert tree_root(lambda lv, ix: stored[(lv, ix)], 77) == root_of(hashes)
    assert len(stored) == 2 * 77 - bin(77).count("1")


@pytest.mark.parametrize(("index", "size"), [(-1, 3), (3, 3), (0, 0)])
def test_no_proof_for_absent_leaves(index: int, size: int) -> None:
    with pytest.raises(ProofError):
        inclusion_proof(index, size, memory_reader([leaf_hash(b"x")] * 3))


@pytest.mark.parametrize(("old", "new"), [(0, 3), (4, 3)])
def test_no_consistency_proof_for_bad_sizes(old: int, new: int) -> None:
    with pytest.raises(ProofError):
        consistency_proof(old, new, memory_reader([leaf_hash(b"x")] * 3))


def test_consistency_failures_say_why() -> None:
    from llmseal.log.tree.merkle import (
        consistency_proof,
        leaf_hash,
        memory_reader,
        tree_root,
        verify_consistency,
    )

    leaves = [leaf_hash(bytes([i])) for i in range(7)]
    read = memory_reader(leaves)
    root3, root7 = tree_root(read, 3), tree_root(read, 7)
    proof = consistency_proof(3, 7, read)
    verify_consistency(3, 7, root3, root7, proof)
    root4 = tree_root(read, 4)
    cases = [
        ((0, 7, root3, root7, proof), "no consistency between sizes 0 and 7"),
        ((8, 7, root3, root7, proof), "no consistency between sizes 8 and 7"),
        ((3, 3, root3, root3, proof), "consistency proof between equal sizes must be empty"),
        ((3, 3, root3, root7, []), "equal tree sizes with different roots"),
        ((3, 7, root3, root7, [*proof, root3]), "consistency proof is too long"),
        ((3, 7, root3, root7, proof[:-1]), "consistency proof is too short"),
        ((3, 7, root3, root4, proof), "consistency proof does not lead to both roots"),
        ((3, 7, root3, root7, []), "empty consistency proof"),
        ((3, 7, root3, b"short", proof), "new root hash is 5 bytes, not 32"),
        ((3, 7, b"short", root7, proof), "old root hash is 5 bytes, not 32"),
        ((3, 7, root3, root7, [b"x", *proof]), "proof hash 0 is 1 bytes, not 32"),
    ]
    for args, message in cases:
        with pytest.raises(ProofError) as info:
            verify_consistency(*args)
        assert str(info.value) == message, (args[:2], str(info.value))
    verify_consistency(3, 3, root3, root3, [])
