"""Evidence store: replay uniqueness, samples complete or absent, manifest last."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from llmseal.errors import ReplayError
from llmseal.store.evidence import EvidenceStore
from llmseal.store.evidencerecord import EvidenceRecord, Sample


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
    sample = Sample(b'{"q": 1}', b'{"a": 2}', b'{"r": 3}')
    path = store.write_sample(record, sample)
    assert path is not None and path.parent.parent == tmp_path / "verification_samples"
    assert path.relative_to(store.samples_dir).as_posix() == f"accepted/{sample.digest}"
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["files"]["response.json"]["bytes"] == 8
    assert sorted(p.name for p in path.iterdir()) == [
        "manifest.json",
        "receipt.json",
        "request.json",
        "response.json",
    ]
    assert store.sample_path(replace(record, sample=store.sample_name(record, sample))) == path
    assert store.sample_path(record) is None  # a record that names no sample
    assert store.sample_path(replace(record, sample="../../etc")) is None


def test_over_the_cap_writes_nothing(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path, sample_cap=100)
    assert store.write_sample(_record("big"), Sample(b"x" * 60, b"y" * 60, b"{}")) is None
    assert not (tmp_path / "verification_samples").exists()


def test_a_crash_before_the_manifest_leaves_no_complete_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = EvidenceStore(tmp_path)
    real_rename = __import__("os").rename

    def crash(src: object, dst: object) -> None:
        raise OSError(5, "I/O error")

    sample = Sample(b"{}", b"{}", b"{}")
    monkeypatch.setattr("llmseal.store._samples.os.rename", crash)
    with pytest.raises(Exception, match="cannot write evidence sample"):
        store.write_sample(_record("r9"), sample)
    monkeypatch.setattr("llmseal.store._samples.os.rename", real_rename)
    record = _record("r9")
    named = replace(record, sample=store.sample_name(record, sample))
    assert store.sample_path(named) is None  # never renamed into place: not a sample
    assert not list((tmp_path / "verification_samples").rglob("manifest.json"))


def test_submit_commits_the_row_and_checks_replay_synchronously(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path)
    stored = store.submit(_record("r1", "n1"), Sample(b"{}", b"{}", b"{}"))
    with pytest.raises(ReplayError):  # the sample may still be pending: refused anyway
        store.submit(_record("r2", "n1"))
    store.flush()
    assert store.get("r1") == stored and store.sample_path(stored) is not None
    other = EvidenceStore(tmp_path)  # committed: seen by every process
    with pytest.raises(ReplayError):
        other.submit(_record("r3", "n1"))
    other.submit(_record("r4", "n1", status="tampered"))  # failures are always recorded
    other.close()
    store.close()
    assert [r.receipt_id for r in EvidenceStore(tmp_path).list()] == ["r1", "r4"]


def test_samples_are_named_by_content_and_never_overwritten(tmp_path: Path) -> None:
    """Issue 9, defect 6: the old names (issuer, receipt_id) let one sample replace another."""
    store = EvidenceStore(tmp_path)
    honest = Sample(b'{"q": "honest"}', b'{"a": "honest"}', b'{"r": 1}')
    forged = Sample(b'{"q": "honest"}', b'{"a": "FORGED"}', b'{"r": 2}')
    kept = store.write_sample(_record("same-id", issuer="api.example"), honest)
    refused = _record("same-id", status="unknown_key", issuer="api.example")
    other = store.write_sample(refused, forged)
    assert kept is not None and other is not None and kept != other
    assert kept.parent.name == "accepted" and other.parent.name == "refused"
    assert (kept / "response.json").read_bytes() == b'{"a": "honest"}'
    again = store.write_sample(_record("same-id", issuer="api.example"), honest)
    assert again == kept and (kept / "response.json").read_bytes() == b'{"a": "honest"}'


def test_names_the_old_rule_collapsed_stay_apart(tmp_path: Path) -> None:
    """``"a/b"`` and ``"a_b-<hash of a/b>"`` were one folder under the old name rule."""
    store = EvidenceStore(tmp_path)
    import hashlib

    twin = "a_b-" + hashlib.sha256(b"a/b").hexdigest()[:8]
    first = store.write_sample(_record("r", issuer="a/b"), Sample(b"{}", b'{"n": 1}', b"{}"))
    second = store.write_sample(_record("r", issuer=twin), Sample(b"{}", b'{"n": 2}', b"{}"))
    assert first is not None and second is not None and first != second
    assert (first / "response.json").read_bytes() == b'{"n": 1}'
    assert (second / "response.json").read_bytes() == b'{"n": 2}'
