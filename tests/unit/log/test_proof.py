"""C2SP tlog-proof@v1: round trips and hostile proofs that must never verify."""

from __future__ import annotations

import base64

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from llmseal.errors import LogFormatError, NoteSignatureError, ProofError
from llmseal.log.note.checkpoint import Checkpoint, sign_checkpoint
from llmseal.log.note.notekeys import Ed25519NoteSigner
from llmseal.log.tree.merkle import inclusion_proof, leaf_hash, memory_reader, root_of
from llmseal.log.tree.proof import HEADER, LogProof, verify_log_proof

ORIGIN = "example.com/log"
LOG = Ed25519NoteSigner.generate(ORIGIN)
ENTRIES = [b"entry %d" % i for i in range(21)]
LEAVES = [leaf_hash(e) for e in ENTRIES]


def _proof(
    index: int, size: int = 21, signer: Ed25519NoteSigner = LOG, origin: str = ORIGIN
) -> LogProof:
    root = root_of(LEAVES[:size])
    signed = sign_checkpoint(Checkpoint(origin, size, root), signer)
    path = inclusion_proof(index, size, memory_reader(LEAVES[:size]))
    return LogProof(index, tuple(path), signed.encode())


def _verify(proof: LogProof | bytes, entry: bytes) -> None:
    verify_log_proof(proof, entry, origin=ORIGIN, verifiers=[LOG.verifier()])


def test_text_form_and_verification() -> None:
    proof = _proof(13)
    text = proof.encode()
    assert text.startswith(f"{HEADER}\nindex 13\n".encode())
    assert LogProof.parse(text) == proof
    result = verify_log_proof(text, ENTRIES[13], origin=ORIGIN, verifiers=[LOG.verifier()])
    assert (result.index, result.tree_size, result.leaf_hash) == (13, 21, LEAVES[13])
    with_extra = LogProof(13, proof.path, proof.checkpoint, b"opaque")
    assert LogProof.parse(with_extra.encode()) == with_extra
    assert b"\nextra b3BhcXVl\nindex 13\n" in with_extra.encode()


def test_single_entry_tree_has_an_empty_path() -> None:
    proof = _proof(0, size=1)
    assert proof.path == () and b"index 0\n\n" in proof.encode()
    _verify(LogProof.parse(proof.encode()), ENTRIES[0])


@settings(deadline=None, max_examples=50)
@given(st.integers(1, 21), st.data())
def test_every_index_round_trips(size: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, size - 1))
    event("rightmost" if index == size - 1 else "inner")
    proof = LogProof.parse(_proof(index, size).encode())
    _verify(proof, ENTRIES[index])
    with pytest.raises(ProofError):
        _verify(proof, ENTRIES[index] + b"x")


def _lines(proof: LogProof) -> list[str]:
    return proof.encode().decode().split("\n")


def test_hostile_proofs_never_verify() -> None:
    good = _proof(13)
    lines = _lines(good)  # header, index, 5 hashes, "", checkpoint...
    assert lines[1] == "index 13" and lines[7] == ""
    path = lines[2:7]

    def build(head: list[str]) -> bytes:
        return ("\n".join(head) + "\n\n").encode() + good.checkpoint

    cases: dict[str, bytes] = {
        "wrong index": build([HEADER, "index 12", *path]),
        "index beyond size": build([HEADER, "index 21", *path]),
        "leading zero": build([HEADER, "index 013", *path]),
        "negative": build([HEADER, "index -1", *path]),
        "no index": build([HEADER, *path]),
        "two index lines": build([HEADER, "index 13", "index 13", *path]),
        "short hash": build([HEADER, "index 13", *path[:4], path[4][:-4] + "===="]),
        "truncated hash": build(
            [HEADER, "index 13", *path[:4], base64.b64encode(b"x" * 31).decode()]
        ),
        "long hash": build([HEADER, "index 13", *path[:4], base64.b64encode(b"x" * 33).decode()]),
        "missing hash": build([HEADER, "index 13", *path[:4]]),
        "extra hash": build([HEADER, "index 13", *path, path[0]]),
        "reordered": build([HEADER, "index 13", *reversed(path)]),
        "extra line": build([HEADER, "index 13", *path, "foo"]),
        "extra after header": build([HEADER, "extrax", "index 13", *path]),
        "two extras": build([HEADER, "extra AA==", "extra AA==", "index 13", *path]),
        "wrong header": build(["c2sp.org/tlog-proof@v2", "index 13", *path]),
        "crlf": build([HEADER + "\r", "index 13", *path]),
        "64 hashes": build([HEADER, "index 13", *([path[0]] * 64)]),
        "no checkpoint": build([HEADER, "index 13", *path])[: -len(good.checkpoint)],
        "trailing garbage": good.encode() + b"junk\n",
        "trailing note": good.encode() + b"\n" + good.checkpoint,
        "other origin": _proof(13, origin="example.com/other").encode(),
        "other key": _proof(13, signer=Ed25519NoteSigner.generate(ORIGIN)).encode(),
        "smaller tree": build([HEADER, "index 13", *path]).replace(b"\n21\n", b"\n20\n"),
        "not utf-8": b"\xff" + good.encode(),
    }
    for name, data in cases.items():
        with pytest.raises((LogFormatError, ProofError, NoteSignatureError)):
            _verify(data, ENTRIES[13])
            pytest.fail(f"{name} verified")
    _verify(good.encode(), ENTRIES[13])  # and the honest one still does


def test_proof_for_a_smaller_signed_tree_needs_its_own_path() -> None:
    small = _proof(3, size=8)
    _verify(small, ENTRIES[3])
    with pytest.raises(ProofError):  # the size-21 path against the size-8 checkpoint
        _verify(LogProof(3, _proof(3).path, small.checkpoint), ENTRIES[3])


def test_constructor_refuses_bad_values() -> None:
    cp = _proof(0).checkpoint
    for kwargs in (
        {"index": -1, "path": (), "checkpoint": cp},
        {"index": 0, "path": (b"x",), "checkpoint": cp},
        {"index": 0, "path": (), "checkpoint": b"not a note"},
        {"index": 0, "path": (), "checkpoint": cp, "extra": b""},
    ):
        with pytest.raises(LogFormatError):
            LogProof(**kwargs)  # type: ignore[arg-type]
