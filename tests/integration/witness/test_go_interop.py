"""Interop with Go's x/mod note package: our cosignatures verify there, its verify here."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from llmseal.log.checkpoint import open_checkpoint
from llmseal.log.cosignature import cosignature_time
from llmseal.log.note import Note, NoteSignature, parse_note
from llmseal.log.notekeys import load_verifier
from llmseal.log.quorum import open_witnessed
from llmseal.log.witnesspolicy import WitnessPolicy
from llmseal.log.witnessstore import origin_hash
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
