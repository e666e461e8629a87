"""Go's sumdb note/tlog packages (an independent implementation) check our formats."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from llmseal.log.note.checkpoint import Checkpoint, SignedCheckpoint, sign_checkpoint
from llmseal.log.note.notekeys import Ed25519NoteSigner, load_verifier
from llmseal.log.tree.merkle import consistency_proof, leaf_hash, root_of
from llmseal.log.tree.proof import LogProof
from llmseal.log.tree.tilereader import TileLog
from tests.integration.log.gopeer import GoPeer
from tests.unit.log import spec_tiles

pytestmark = pytest.mark.slow

VECTORS = Path(__file__).parents[2] / "vectors" / "tlog"
TESSERA_ORIGIN = "example.com/log/testdata"
TESSERA_VKEY = "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx"


def write_proofs(
    log: TileLog, latest: SignedCheckpoint, indices: list[int], out: Path
) -> list[Path]:
    """tlog-proof@v1 files computed by our code from the log's tiles."""
    paths = []
    for i in indices:
        proof = LogProof(i, tuple(log.prove_inclusion(i, latest)), latest.encode())
        path = out / f"proof-{i}.tlog-proof"
        path.write_bytes(proof.encode())
        paths.append(path)
    return paths


def write_consistency(
    log: TileLog, olds: list[SignedCheckpoint], latest: SignedCheckpoint, out: Path
) -> list[Path]:
    """'old N', our consistency proof to ``latest``, blank line, the old checkpoint."""
    paths = []
    for old in olds:
        proof = consistency_proof(old.size, latest.size, log.reader(latest.size))
        lines = [f"old {old.size}", *(base64.b64encode(h).decode() for h in proof)]
        path = out / f"consistency-{old.size}"
        path.write_bytes(("\n".join(lines) + "\n\n").encode() + old.encode())
        paths.append(path)
    return paths


def test_go_peer_reads_the_tessera_log_and_our_proofs_of_it(
    go_peer: GoPeer, tmp_path: Path
) -> None:
    log = TileLog.directory(VECTORS / "tessera-log", TESSERA_ORIGIN, [load_verifier(TESSERA_VKEY)])
    latest = log.checkpoint()
    olds = [log.checkpoint(f"checkpoint.{n}") for n in range(1, 16)]
    result = go_peer.check(
        VECTORS / "tessera-log",
        TESSERA_VKEY,
        TESSERA_ORIGIN,
        proofs=write_proofs(log, latest, list(range(15)), tmp_path),
        consistency=write_consistency(log, olds, latest, tmp_path),
    )
    assert result["size"] == 15 and result["inclusion_ok"] == 15
    assert result["consistency_ok"] == 15 and result["tiles_compared"] == 1


def _our_log(tmp_path: Path, size: int) -> tuple[Path, Ed25519NoteSigner, list[SignedCheckpoint]]:
    """Tiles from the spec formulas, checkpoints signed by our note code."""
    origin = "log.example.com/receipts"
    signer = Ed25519NoteSigner.generate(origin)
    entries = [b'{"receipt":%d}' % i for i in range(size)]
    log_dir = tmp_path / "log"
    for path, data in spec_tiles.build(entries).items():
        (log_dir / path).parent.mkdir(parents=True, exist_ok=True)
        (log_dir / path).write_bytes(data)
    leaves = [leaf_hash(e) for e in entries]
    olds = [
        sign_checkpoint(Checkpoint(origin, n, root_of(leaves[:n])), signer)
        for n in (1, 255, 256, 257, 1000, size)
    ]
    (log_dir / "checkpoint").write_bytes(olds[-1].encode())
    return log_dir, signer, olds


def test_go_peer_verifies_our_signatures_key_id_and_proofs(go_peer: GoPeer, tmp_path: Path) -> None:
    log_dir, signer, olds = _our_log(tmp_path, 70_000)
    log = TileLog.directory(log_dir, signer.name, [signer.verifier()])
    latest = log.checkpoint()
    result = go_peer.check(
        log_dir,
        signer.vkey(),
        signer.name,
        proofs=write_proofs(log, latest, [0, 255, 256, 65_535, 69_999], tmp_path),
        consistency=write_consistency(log, olds, latest, tmp_path),
    )
    assert result["key_id"] == f"{signer.key_id:08x}"  # Go derives the same key ID
    assert result["tiles_compared"] == 277  # the spec's worked example for 70,000 + bundles
    assert (result["inclusion_ok"], result["consistency_ok"]) == (5, 6)


def test_go_peer_refuses_tampering(go_peer: GoPeer, tmp_path: Path) -> None:
    log_dir, signer, _ = _our_log(tmp_path, 600)
    log = TileLog.directory(log_dir, signer.name, [signer.verifier()])
    latest = log.checkpoint()
    (proof,) = write_proofs(log, latest, [300], tmp_path)
    go_peer.check(log_dir, signer.vkey(), signer.name, proofs=[proof])

    lines = proof.read_bytes().split(b"\n")
    lines[1] = b"index 301"
    proof.write_bytes(b"\n".join(lines))
    with pytest.raises(AssertionError, match="invalid transparency proof"):
        go_peer.check(log_dir, signer.vkey(), signer.name, proofs=[proof])

    other = Ed25519NoteSigner.generate(signer.name)
    with pytest.raises(AssertionError, match=r"verifier|signature|unknown"):
        go_peer.check(log_dir, other.vkey(), signer.name)

    tile = log_dir / "tile/0/001"
    data = bytearray(tile.read_bytes())
    data[5] ^= 1
    tile.write_bytes(bytes(data))
    with pytest.raises(AssertionError, match="differs"):
        go_peer.check(log_dir, signer.vkey(), signer.name)


def test_go_peer_checks_a_log_our_sequencer_wrote(go_peer: GoPeer, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from llmseal.core.keys import Ed25519Signer
    from llmseal.core.keyset import KeyEntry, KeySet
    from llmseal.core.sign import issue_receipt
    from llmseal.log.service.service import TransparencyLog, init_log

    issuer = Ed25519Signer.generate("issuer")
    keys = KeySet([KeyEntry(issuer.key_id, issuer.public_key())])
    vkey = init_log(tmp_path / "log", "log.example.com/go")
    log = TransparencyLog.open(tmp_path / "log", keys=keys, batch_size=97, batch_age=0.002)
    at = datetime(2026, 5, 1, tzinfo=UTC)
    olds: list[SignedCheckpoint] = []
    for start in range(0, 1500, 300):  # several batches of uneven sizes, a checkpoint each
        futures = [
            log.submit(
                issue_receipt(
                    issuer, model_id="m", prompt_hash=f"{i:064x}", output_hash="0" * 64, at=at
                ).to_dict()
            )
            for i in range(start, start + 300)
        ]
        last = max(f.result(30).index for f in futures)
        olds.append(log.sequencer.wait_published(last + 1, 30))
    log.close()
    public = tmp_path / "log" / "public"
    reader = TileLog.directory(public, "log.example.com/go", [log.verifier])
    latest = reader.checkpoint()
    result = go_peer.check(
        public,
        vkey,
        "log.example.com/go",
        proofs=write_proofs(reader, latest, [0, 97, 255, 256, 1499], tmp_path),
        consistency=write_consistency(reader, olds, latest, tmp_path),
    )
    assert result["size"] == 1500 and result["tiles_compared"] == 7
    assert (result["inclusion_ok"], result["consistency_ok"]) == (5, 5)
