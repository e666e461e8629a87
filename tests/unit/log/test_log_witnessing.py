"""A running log with a witness policy: cosigned checkpoints published, proofs carry them,
and a witness that is offline for a while never stops the log."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from llmseal.log.entry import receipt_entry
from llmseal.log.note.checkpoint import open_checkpoint
from llmseal.log.note.cosignature import CosignatureSigner
from llmseal.log.service.checkpoints import WITNESSED
from llmseal.log.service.service import TransparencyLog
from llmseal.log.witness.quorum import check_quorum, verify_witnessed_proof
from llmseal.log.witness.witness import Witness
from llmseal.log.witness.witnesspolicy import WitnessPolicy
from llmseal.log.witness.witnessserver import WitnessApp, wall_clock
from llmseal.log.witness.witnessstore import WitnessStore
from tests.helpers import ThreadedUvicorn, eventually


class Witnesses:
    """Two in-process witnesses on sockets bound now; ``b`` listens only once started."""

    def __init__(self, tmp: Path, log_vkey: str) -> None:
        from llmseal.log.note.notekeys import load_verifier

        self.signers = [CosignatureSigner.generate(f"w{i}.example") for i in range(2)]
        self.stores = [WitnessStore(tmp / f"w{i}") for i in range(2)]
        apps = [
            WitnessApp(Witness.for_keys(s, [load_verifier(log_vkey)], st, wall_clock))
            for s, st in zip(self.signers, self.stores, strict=True)
        ]
        self.servers = [ThreadedUvicorn(app) for app in apps]
        pairs = enumerate(zip(self.signers, self.servers, strict=True))
        lines = [f"witness w{i} {s.vkey()} {srv.url}" for i, (s, srv) in pairs]
        self.policy = WitnessPolicy.parse(
            "\n".join([f"log {log_vkey}", *lines, "group both all w0 w1", "quorum both"])
        )
        self.started: list[ThreadedUvicorn] = []

    def start(self, i: int) -> None:
        self.servers[i].__enter__()
        self.started.append(self.servers[i])

    def close(self) -> None:
        for server in self.started:
            server.__exit__()
        for store in self.stores:
            store.close()


@pytest.fixture
def witnesses(tmp_path: Path, log_dir: Path) -> Iterator[Witnesses]:
    from llmseal.log.service.service import read_log_info

    w = Witnesses(tmp_path, read_log_info(log_dir)["vkey"])
    yield w
    w.close()


def test_a_witness_offline_delays_cosigning_never_the_log(
    open_log: Callable[..., TransparencyLog],
    witnesses: Witnesses,
    make_receipt: Callable[..., dict[str, Any]],
) -> None:
    witnesses.start(0)  # w1 is down: its port is bound but nobody listens
    tlog = open_log()
    first = make_receipt(0)
    tlog.add(first)
    seq = tlog.sequencer
    seq.wait_published(1, timeout=60)
    tlog.witness(witnesses.policy, interval=0.02)

    def cosigned_by(*names: str, size: int) -> bool:
        cp = seq.witnessed
        return (
            cp is not None
            and cp.size == size
            and set(check_quorum(cp, witnesses.policy).cosigned) == set(names)
        )

    assert eventually(lambda: cosigned_by("w0", size=1), timeout=60)
    assert not check_quorum(seq.witnessed, witnesses.policy).satisfied  # type: ignore[arg-type]
    # The log keeps publishing while w1 is away; w0 keeps cosigning.
    for n in range(1, 6):
        tlog.add(make_receipt(n))
    assert seq.wait_published(6, timeout=60).size == 6
    assert eventually(lambda: cosigned_by("w0", size=6), timeout=60)
    proof = tlog.prove(0)
    assert proof is not None
    early = verify_witnessed_proof(proof.encode(), receipt_entry(first), policy=witnesses.policy)
    assert not early.witnessed.satisfied and early.proven_at is None
    # w1 comes back: the next round gives it the checkpoint with a proof from 0.
    witnesses.start(1)
    assert eventually(lambda: cosigned_by("w0", "w1", size=6), timeout=60)
    proof = tlog.prove(0)
    assert proof is not None
    late = verify_witnessed_proof(proof.encode(), receipt_entry(first), policy=witnesses.policy)
    assert late.witnessed.satisfied and late.proven_at is not None
    # The checkpoint readers fetch carries the cosignatures too (same tree), and the
    # witnessed one is a file of its own that survives a restart.
    served = open_checkpoint(tlog.read("checkpoint"), origin=tlog.origin, verifiers=[tlog.verifier])
    assert check_quorum(served, witnesses.policy).satisfied
    assert tlog.read(WITNESSED) == seq.witnessed.encode()  # type: ignore[union-attr]
    tlog.close()
    again = open_log()
    assert again.sequencer.witnessed is not None and again.sequencer.witnessed.size == 6
    assert check_quorum(again.checkpoint(), witnesses.policy).satisfied


def test_cosignatures_of_a_tree_we_did_not_sign_are_refused(
    open_log: Callable[..., TransparencyLog], make_receipt: Callable[..., dict[str, Any]]
) -> None:
    from llmseal.errors import NoteSignatureError
    from llmseal.log.note.checkpoint import Checkpoint, sign_checkpoint
    from llmseal.log.note.notekeys import Ed25519NoteSigner

    tlog = open_log()
    tlog.add(make_receipt(0))
    cp = tlog.checkpoint()
    impostor = Ed25519NoteSigner.generate(tlog.origin)
    other = sign_checkpoint(Checkpoint(tlog.origin, cp.size, cp.root), impostor)
    with pytest.raises(NoteSignatureError):
        tlog.sequencer.add_cosigned(other)
    assert tlog.sequencer.witnessed is None
