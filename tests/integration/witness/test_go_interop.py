"""Interop with Go's x/mod note package: our cosignatures verify there, its verify here."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from llmseal.core.keys import Ed25519Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.core.sign import issue_receipt
from llmseal.log.note.checkpoint import open_checkpoint
from llmseal.log.note.cosignature import CosignatureSigner, cosignature_time
from llmseal.log.note.note import Note, NoteSignature, parse_note
from llmseal.log.note.notekeys import load_verifier
from llmseal.log.service.service import TransparencyLog, init_log
from llmseal.log.witness.quorum import open_witnessed
from llmseal.log.witness.witnessclient import merge_cosignatures
from llmseal.log.witness.witnesspolicy import WitnessPolicy
from llmseal.log.witness.witnessstore import origin_hash
from tests.integration.log.gopeer import GoPeer
from tests.integration.witness.gopeer import WitnessPeer
from tests.logtree import TreeLog
from tests.witnessproc import running_witness

VECTORS = Path(__file__).parents[2] / "vectors" / "tlog"
SUNLIGHT_WITNESS = "witness.example.org+b8a2cf20+BFLN3yikSfFkVAJtrnh/CiY3Zozkoy7clp+P7XB28qUN"


def test_go_verifies_the_sunlight_cosignature_and_ignores_its_log_signature(
    witness_peer: WitnessPeer, tmp_path: Path
) -> None:
    vector = VECTORS / "sunlight-cosigned" / "checkpoint"
    out = witness_peer.run("verify", "-note", str(vector), "-witness-vkey", SUNLIGHT_WITNESS)
    assert out["verified"] == [
        {"name": "witness.example.org", "key_hash": "b8a2cf20", "time": 1767139200}
    ]
    assert out["unverified"] == 1  # the RFC 6962 (0x05) log signature: an unknown key
    edited = tmp_path / "edited"
    edited.write_bytes(vector.read_bytes().replace(b"\n300\n", b"\n301\n"))
    with pytest.raises(AssertionError, match="invalid signature"):
        witness_peer.run("verify", "-note", str(edited), "-witness-vkey", SUNLIGHT_WITNESS)


def test_go_verifies_what_our_witness_serves(witness_peer: WitnessPeer, tmp_path: Path) -> None:
    log = TreeLog.new(size=300)
    with (
        running_witness(tmp_path / "w", [log.signer.vkey()]) as w,
        httpx.Client(base_url=w.url) as c,
    ):
        assert c.post("/add-checkpoint", content=log.request(0)).status_code == 200
        served = c.get(f"/{origin_hash(log.origin)}/checkpoint").content
    note = tmp_path / "cosigned"
    note.write_bytes(served)
    out = witness_peer.run("verify", "-note", str(note), "-log-vkey", log.signer.vkey(),
                           "-witness-vkey", w.vkey)  # fmt: skip
    names = [v["name"] for v in out["verified"]]
    assert names == [log.origin, "witness.example/w"] and out["unverified"] == 0
    ours = cosignature_time(parse_note(served).signatures[1])
    assert out["verified"][1]["time"] == ours
    # A cosignature whose time was moved fails in Go as well.
    sig = parse_note(served).signatures[1]
    moved = NoteSignature(sig.name, sig.key_id, (ours - 1).to_bytes(8, "big") + sig.signature[8:])
    bad = tmp_path / "moved"
    bad.write_bytes(
        Note(parse_note(served).text, (parse_note(served).signatures[0], moved)).encode()
    )
    with pytest.raises(AssertionError, match="invalid signature"):
        witness_peer.run("verify", "-note", str(bad), "-log-vkey", log.signer.vkey(),
                         "-witness-vkey", w.vkey)  # fmt: skip


def test_go_cosignatures_verify_in_ours_and_give_the_proven_time(
    witness_peer: WitnessPeer, tmp_path: Path
) -> None:
    log = TreeLog.new(size=42)
    source = tmp_path / "checkpoint"
    source.write_bytes(log.checkpoint().encode())
    stamp = 1_767_225_600
    out = witness_peer.run("cosign", "-note", str(source), "-log-vkey", log.signer.vkey(),
                           "-name", "go.witness.example", "-time", str(stamp))  # fmt: skip
    verifier = load_verifier(out["vkey"])
    policy = WitnessPolicy.parse(f"log {log.signer.vkey()}\nwitness go {out['vkey']}\nquorum go\n")
    result = open_witnessed(out["note"], origin=log.origin, policy=policy).require()
    assert result.proven_at == datetime.fromtimestamp(stamp, UTC)
    cp = open_checkpoint(out["note"], origin=log.origin, verifiers=[verifier])
    assert cp.size == 42 and len(cp.note.signatures) == 2


def test_a_cosigned_log_and_its_proofs_still_read_in_go(
    log_peer: GoPeer, witness_peer: WitnessPeer, tmp_path: Path, t0: datetime
) -> None:
    issuer = Ed25519Signer.generate("issuer/k")
    keys = KeySet([KeyEntry(issuer.key_id, issuer.public_key())])
    log_dir = tmp_path / "log"
    vkey = init_log(log_dir, "log.test/go")
    tlog = TransparencyLog.open(log_dir, keys=keys, batch_age=0.002)
    try:
        receipts = [
            issue_receipt(issuer, model_id="m", prompt_hash=f"{n:064x}", output_hash="1" * 64,
                          at=t0).to_dict()
            for n in range(300)
        ]  # fmt: skip
        for receipt in receipts:
            tlog.submit(receipt)
        cp = tlog.sequencer.wait_published(300, timeout=60)
        witness = CosignatureSigner.generate("w.test")
        tlog.sequencer.add_cosigned(
            merge_cosignatures(cp, [witness.cosign(cp.note.text, 1_800_000_000)])
        )
        proof = tlog.prove(123)
    finally:
        tlog.close()
    assert proof is not None
    proof_file = tmp_path / "123.tlog-proof"
    proof_file.write_bytes(proof.encode())
    # x/mod's note ignores the 0x04 line it does not know; the tree and proof still check.
    result = log_peer.check(log_dir / "public", vkey, "log.test/go", proofs=[proof_file])
    assert result["size"] == 300
    published = tmp_path / "checkpoint"
    published.write_bytes((log_dir / "public" / "checkpoint").read_bytes())
    out = witness_peer.run("verify", "-note", str(published), "-log-vkey", vkey,
                           "-witness-vkey", witness.vkey())  # fmt: skip
    assert [v["name"] for v in out["verified"]] == ["log.test/go", "w.test"]
    assert out["verified"][1]["time"] == 1_800_000_000
