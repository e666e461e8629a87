"""The log bench group's pieces run and report what they measured (speed is judged by
`llmseal bench --only log`, not here)."""

from __future__ import annotations

from pathlib import Path

from llmseal.bench import GROUPS
from llmseal.bench import log as bench_log
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.log.tree.tilereader import TileLog


def test_log_is_a_group() -> None:
    assert "log" in GROUPS


def test_sequencing_rows_publish_every_entry(tmp_path: Path) -> None:
    issuer, receipts = bench_log.signed_receipts(600)
    assert len(set(receipts)) == 600
    keys = KeySet([KeyEntry(issuer.key_id, issuer.public_key())])
    row = bench_log._sequence(tmp_path / "a", keys, receipts, 60.0, batch=256)
    assert row["entries"] == 600 and row["pool_exhausted"] and row["ops_per_s"] > 0
    from llmseal.log.note.notekeys import load_verifier
    from llmseal.log.service.service import read_log_info

    info = read_log_info(tmp_path / "a")
    tiles = TileLog.directory(
        tmp_path / "a" / "public", info["origin"], [load_verifier(info["vkey"])]
    )
    assert tiles.verify_entries(tiles.checkpoint()) == 600
    latency = bench_log._latency(tmp_path / "b", keys, receipts, 2_000.0, 0.1)
    assert latency["entries"] == 200 and 0 < latency["p50_ms"] <= latency["p99_ms"]


def test_proof_rows() -> None:
    rows = bench_log._proofs(quick=True)
    assert rows["inclusion_verify"]["proof_hashes"] == 16
    assert rows["inclusion_verify"]["us"] > 0 and rows["proof_generation"]["us"] > 0
