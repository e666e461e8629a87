"""The tlog-witness add-checkpoint rules: every status, the race, persistence, evidence."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from llmseal.errors import ConfigError
from llmseal.log.note.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from llmseal.log.note.cosignature import CosignatureSigner, cosignature_time
from llmseal.log.note.note import parse_note, verify_note
from llmseal.log.note.notekeys import Ed25519NoteSigner
from llmseal.log.tree.merkle import EMPTY_ROOT
from llmseal.log.witness.addcheckpoint import AddCheckpoint, parse_cosignature_lines, parse_size
from llmseal.log.witness.witness import Witness, WitnessAnswer
from llmseal.log.witness.witnessstore import WitnessStore, origin_hash
from tests.logtree import TreeLog

T = 1_780_000_000
SIGNER = CosignatureSigner.generate("witness.example/w1")


class Clock:
    def __init__(self) -> None:
        self.now = T

    def __call__(self) -> int:
        self.now += 1
        return self.now


@pytest.fixture
def log() -> TreeLog:
    return TreeLog.new(size=10)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[WitnessStore]:
    s = WitnessStore(tmp_path / "w")
    yield s
    s.close()


@pytest.fixture
def witness(log: TreeLog, store: WitnessStore) -> Witness:
    return Witness.for_keys(SIGNER, [log.signer.verifier()], store, Clock())


def add(witness: Witness, body: bytes) -> WitnessAnswer:
    return asyncio.run(witness.add_checkpoint(body))


def cosigned(log: TreeLog, answer: WitnessAnswer, size: int | None = None) -> int:
    """Verify a 200 answer as a client does; the cosignature's time."""
    assert answer.status == 200, answer.body
    (line,) = parse_cosignature_lines(answer.body)
    note = log.checkpoint(size).note.with_signatures(line)
    (good,) = verify_note(parse_note(note.encode()), [SIGNER.verifier()])
    return cosignature_time(good)


def test_first_checkpoint_then_growth_are_cosigned(witness: Witness, log: TreeLog) -> None:
    t1 = cosigned(log, add(witness, log.request(0)))
    log.append(7)
    t2 = cosigned(log, add(witness, log.request(10)))
    assert t2 > t1
    # The same checkpoint again: cosigned again, with a fresh time.
    assert cosigned(log, add(witness, log.request(17))) > t2
    stored = witness.store.latest(log.origin)
    assert stored is not None and stored.size == 17


@pytest.mark.parametrize(
    "body",
    [b"", b"old 1\n", b"old 01\n\nx\n", b"old -1\n\n", b"new 1\n\n", b"old 0\nnot base64\n\n",
     b"old 0\n" + base64.b64encode(b"short") + b"\n\n", b"old 0\n\nno signature\n"],
)  # fmt: skip
def test_malformed_bodies_are_400(witness: Witness, log: TreeLog, body: bytes) -> None:
    if body.endswith(b"\n\n"):
        body += log.checkpoint().encode()
    assert add(witness, body).status == 400


def test_too_many_proof_lines_are_400(witness: Witness, log: TreeLog) -> None:
    lines = b"".join(base64.b64encode(bytes(32)) + b"\n" for _ in range(64))
    assert add(witness, b"old 1\n" + lines + b"\n" + log.checkpoint().encode()).status == 400


def test_unknown_origin_is_404_and_bad_signatures_are_403(witness: Witness, log: TreeLog) -> None:
    stranger = TreeLog.new("example.com/other", 3)
    assert add(witness, stranger.request(0)).status == 404
    impostor = TreeLog(Ed25519NoteSigner.generate(log.origin), list(log.entries))
    answer = add(witness, impostor.request(0))
    assert answer.status == 403 and b"not signed by a trusted key" in answer.body
    # A line with our log's name and key ID whose signature fails: 403 too.
    note = log.checkpoint().note
    sig = note.signatures[0]
    bad = type(sig)(sig.name, sig.key_id, bytes(64))
    forged = type(note)(note.text, (bad,)).encode()
    assert add(witness, AddCheckpoint(0, (), forged).encode()).status == 403
    assert witness.store.latest(log.origin) is None


def test_wrong_old_size_is_409_with_our_size(witness: Witness, log: TreeLog) -> None:
    cosigned(log, add(witness, log.request(0)))
    log.append(5)
    for old in (0, 3, 12):
        answer = add(witness, log.request(old))
        assert answer.status == 409
        assert answer.content_type == "text/x.tlog.size"
        assert parse_size(answer.body) == 10


def test_rollback_is_refused(witness: Witness, log: TreeLog) -> None:
    log.append(10)
    cosigned(log, add(witness, log.request(0)))
    # The log (or anyone replaying its older checkpoint) tries to go back to 10.
    older = log.checkpoint(10).encode()
    assert add(witness, AddCheckpoint(20, (), older).encode()).status == 400
    assert add(witness, AddCheckpoint(10, (), older).encode()).status == 409
    assert add(witness, AddCheckpoint(0, (), older).encode()).status == 409
    stored = witness.store.latest(log.origin)
    assert stored is not None and stored.size == 20


def test_bad_proofs_are_422_and_the_state_stays(witness: Witness, log: TreeLog) -> None:
    cosigned(log, add(witness, log.request(0)))
    log.append(6)
    good = log.proof(10, 16)
    cp = log.checkpoint().encode()
    for proof in ([], good[:-1], [*good, good[0]], [bytes(32)] * len(good)):
        assert add(witness, AddCheckpoint(10, tuple(proof), cp).encode()).status == 422
    assert add(witness, AddCheckpoint(0, (good[0],), cp).encode()).status == 409
    stored = witness.store.latest(log.origin)
    assert stored is not None and stored.size == 10
    assert cosigned(log, add(witness, log.request(10)))


def test_a_proof_from_size_zero_is_422(store: WitnessStore) -> None:
    log = TreeLog.new(size=4)
    w = Witness.for_keys(SIGNER, [log.signer.verifier()], store, Clock())
    body = AddCheckpoint(0, (bytes(32),), log.checkpoint().encode()).encode()
    assert add(w, body).status == 422


def test_empty_tree_rules(store: WitnessStore) -> None:
    log = TreeLog.new(size=0)
    w = Witness.for_keys(SIGNER, [log.signer.verifier()], store, Clock())
    bad = sign_checkpoint(Checkpoint(log.origin, 0, hashlib.sha256(b"x").digest()), log.signer)
    assert add(w, AddCheckpoint(0, (), bad.encode()).encode()).status == 422
    cosigned(log, add(w, log.request(0)), 0)
    assert log.checkpoint().root == EMPTY_ROOT
    log.append(3)
    cosigned(log, add(w, log.request(0)))


def test_a_fork_is_refused_and_kept_as_evidence(witness: Witness, log: TreeLog) -> None:
    log.append(10)
    cosigned(log, add(witness, log.request(0)))
    fork = log.fork(12, 8)  # same size 20, another root, signed by the same log key
    answer = add(witness, fork.request(20))
    assert answer.status == 422
    assert orjson.loads(answer.body)["error"]["code"] == "fork"
    # A fork that grew: its own proof from 20 does not lead from the root we cosigned.
    fork.append(5)
    assert add(witness, fork.request(20)).status == 422
    (same, grown) = witness.store.evidence(log.origin)
    assert (same.kind, grown.kind) == ("fork", "inconsistent")
    for item in (same, grown):
        # Both notes verify under the log key: a third party can check the contradiction.
        ours = open_checkpoint(item.cosigned, origin=log.origin, verifiers=[log.signer.verifier()])
        theirs = open_checkpoint(item.refused, origin=log.origin, verifiers=[log.signer.verifier()])
        assert ours.size == 20 and ours.root == log.root()
        assert theirs.root in (fork.root(20), fork.root())
        verify_note(parse_note(item.cosigned), [SIGNER.verifier()])  # and we cosigned ours
    assert grown.proof == tuple(fork.proof(20, 25))
    # Sent again: kept once.
    assert add(witness, fork.request(20)).status == 422
    assert len(witness.store.evidence(log.origin)) == 2
    stored = witness.store.latest(log.origin)
    assert stored is not None and stored.root == log.root()


def test_concurrent_requests_never_roll_back(witness: Witness, log: TreeLog) -> None:
    # The race of tlog-witness "add-checkpoint": A (to N) and B (to N+K) both from the
    # same old size; exactly one wins, the other learns the new size from a 409.
    cosigned(log, add(witness, log.request(0)))
    a = log.request(10, 10)
    log.append(30)
    bodies = [log.request(10, 10 + k) for k in (5, 30, 12, 1)] + [a]

    async def race() -> list[WitnessAnswer]:
        return list(await asyncio.gather(*(witness.add_checkpoint(b) for b in bodies)))

    answers = asyncio.run(race())
    statuses = [ans.status for ans in answers]
    assert statuses.count(200) == 1 and statuses.count(409) == len(bodies) - 1
    winner = statuses.index(200)
    stored = witness.store.latest(log.origin)
    assert stored is not None and stored.size == [15, 40, 22, 11, 10][winner]
    # Every loser hears the winner's size, so none can roll the state back.
    assert {parse_size(ans.body) for ans in answers if ans.status == 409} == {stored.size}
    assert witness.store.commits <= 3  # one batch for the swaps (group commit)


def test_state_survives_a_restart(tmp_path: Path, log: TreeLog) -> None:
    store = WitnessStore(tmp_path / "w")
    w = Witness.for_keys(SIGNER, [log.signer.verifier()], store, Clock())
    cosigned(log, add(w, log.request(0)))
    with pytest.raises(ConfigError, match="another witness"):
        WitnessStore(tmp_path / "w")
    store.close()
    again = WitnessStore(tmp_path / "w")
    try:
        w2 = Witness.for_keys(SIGNER, [log.signer.verifier()], again, Clock())
        assert parse_size(add(w2, log.request(0)).body) == 10
        note = w2.checkpoint(origin_hash(log.origin))
        assert note is not None
        opened = open_checkpoint(note, origin=log.origin, verifiers=[log.signer.verifier()])
        assert opened.size == 10
        verify_note(opened.note, [SIGNER.verifier()])
    finally:
        again.close()


def test_a_failing_disk_is_a_503_and_nothing_is_cosigned(witness: Witness, log: TreeLog) -> None:
    witness.store._db.execute("DROP TABLE latest")  # the next commit fails
    answer = add(witness, log.request(0))
    assert answer.status == 503
    assert witness.store.latest(log.origin) is None
    assert witness.checkpoint(origin_hash(log.origin)) is None
