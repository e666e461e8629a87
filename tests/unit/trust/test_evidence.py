"""Evidence store: replay uniqueness, samples complete or absent, manifest last."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmseal.errors import ReplayError
from llmseal.store.evidence import EvidenceRecord, EvidenceStore, Sample


def _record(
    receipt_id: str, nonce: str = "n1", status: str = "valid", issuer: str = "api/x"
) -> EvidenceRecord:
    return EvidenceRecord(
        receipt_id=receipt_id, status=status, issuer=issuer, key_id="k", model_id="m",
        issued_at="2026-01-01T00:00:00Z", verified_at="2026-01-01T00:00:01Z", nonce=nonce,
        prompt_hash="a" * 64, output_hash="b" * 64, endpoint="/v1/chat/completions",
        reasons=(), receipt=b'{"receipt_id": "x"}',
    )  # fmt: skip


def test_accepted_nonce_is_unique_across_connections(tmp_path: Path) -> None:
    EvidenceStore(tmp_path).record(_record("r1", "n1"))
    other = EvidenceStore(tmp_path)  # another process/thread sharing the directory
    with pytest.raises(ReplayError):
        other.record(_record("r2", "n1"))
    other.record(_record("r3", "n1", status="tampered"))  # failures may repeat
    assert other.seen("k", "n1") and not other.seen("k", "n2")


def test_sample_layout_and_manifest(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path)
    record = _record("r/1 ..")
    path = store.write_sample(record, Sample(b'{"q": 1}', b'{"a": 2}', b'{"r": 3}'))
    assert path is not None and path.parent.parent == tmp_path / "verification_samples"
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["files"]["response.json"]["bytes"] == 8
    assert sorted(p.name for p in path.iterdir()) == [
        "manifest.json",
        "receipt.json",
        "request.json",
        "response.json",
    ]
    assert store.sample_path(record) == path


def test_over_the_cap_writes_nothing(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path, sample_cap=100)
    assert store.write_sample(_record("big"), Sample(b"x" * 60, b"y" * 60, b"{}")) is None
    assert not (tmp_path / "verification_samples").exists()


def test_a_crash_before_the_manifest_leaves_no_complete_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = EvidenceStore(tmp_path)
    real_replace = __import__("os").replace

    def crash(src: object, dst: object) -> None:
        raise OSError(5, "I/O error")

    monkeypatch.setattr("llmseal.store.evidence.os.replace", crash)
    with pytest.raises(Exception, match="cannot write evidence sample"):
        store.write_sample(_record("r9"), Sample(b"{}", b"{}", b"{}"))
    monkeypatch.setattr("llmseal.store.evidence.os.replace", real_replace)
    assert store.sample_path(_record("r9")) is None  # no manifest: not a sample


def test_background_submit_checks_replay_synchronously(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path)
    ran: list[str] = []
    store.submit(_record("r1", "n1"), lambda: ran.append("sample"))
    with pytest.raises(ReplayError):  # still pending, not yet written: refused anyway
        store.submit(_record("r2", "n1"))
    store.flush()
    assert ran == ["sample"] and store.get("r1") is not None
    other = EvidenceStore(tmp_path)  # committed: seen by every process
    with pytest.raises(ReplayError):
        other.submit(_record("r3", "n1"))
    other.submit(_record("r4", "n1", status="tampered"))  # failures are always recorded
    other.close()
    store.close()
    assert [r.receipt_id for r in EvidenceStore(tmp_path).list()] == ["r1", "r4"]
