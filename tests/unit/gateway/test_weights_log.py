"""The commitment receipt: one per key and weights, found again after a restart or a race."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pytest

from llmseal.core.keys import Ed25519Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.core.verify import Status, verify_receipt
from llmseal.errors import StoreError
from llmseal.gateway.weights.commitment import commitment_id, ensure_commitment
from llmseal.store.base import StoredReceipt
from llmseal.store.opening import open_receipt_store
from llmseal.weights import WeightManifest, commit_file
from tests.unit.weights.conftest import write_gguf


@pytest.fixture
def manifest(tmp_path: Path) -> WeightManifest:
    return commit_file(write_gguf(tmp_path / "m.gguf", seed=1), chunk_size=4096)


class _Racing:
    """A store another worker writes first: put_many fails, the receipt is there."""

    def __init__(self, stored: StoredReceipt | None) -> None:
        self.stored = stored
        self.calls = 0

    def get(self, receipt_id: str) -> StoredReceipt | None:
        self.calls += 1
        return self.stored if self.calls > 1 else None

    def put_many(self, records: Sequence[StoredReceipt]) -> None:
        raise StoreError("UNIQUE constraint failed: receipts.receipt_id")

    def count(self) -> int:
        return 1

    def close(self) -> None:
        return None


def test_one_commitment_per_key_and_weights(
    manifest: WeightManifest, tmp_path: Path, t0: datetime
) -> None:
    signer = Ed25519Signer.generate("k1")
    store = open_receipt_store(tmp_path / "store", outbox=True)
    try:
        first = ensure_commitment(store, signer, manifest, at=t0, issuer="i.example")
        again = ensure_commitment(store, signer, manifest, at=t0.replace(year=2027))
        assert again == first and store.count() == 1
        receipt = first.receipt()
        assert receipt.receipt_id == commitment_id("k1", manifest.weight_hash)
        assert receipt.output_hash == hashlib.sha256(manifest.to_json()).hexdigest()
        assert receipt.weight_hash == manifest.weight_hash
        keys = KeySet([KeyEntry("k1", signer.public_key(), "active", t0.replace(month=1))])
        assert verify_receipt(receipt.to_dict(), keys).status is Status.VALID
        other = ensure_commitment(store, Ed25519Signer.generate("k2"), manifest, at=t0)
        assert other.receipt_id != first.receipt_id and store.count() == 2
    finally:
        store.close()


def test_a_race_returns_the_winner_and_a_failing_store_raises(
    manifest: WeightManifest, t0: datetime
) -> None:
    signer = Ed25519Signer.generate("k1")
    winner = StoredReceipt("id", "k1", "m", "t", "n", b"{}")
    assert ensure_commitment(_Racing(winner), signer, manifest, at=t0) is winner
    with pytest.raises(StoreError):
        ensure_commitment(_Racing(None), signer, manifest, at=t0)
