"""Replaying the evidence store: only samples whose bytes still hash to their receipt."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from llmseal.audit.replay.passive import evidence_answers
from llmseal.core.keys import Ed25519Signer
from llmseal.core.sign import sign_exchange
from llmseal.errors import InputError
from llmseal.store.evidence import EvidenceStore
from llmseal.store.evidencerecord import EvidenceRecord, Sample

AT = datetime(2026, 4, 12, 14, 32, tzinfo=UTC)
REQUEST = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0}


def _store(tmp_path: Path, cases: list[tuple[str, bool]]) -> Path:
    signer = Ed25519Signer.generate("k")
    store = EvidenceStore(tmp_path)
    for i, (status, tamper) in enumerate(cases):
        response = {"id": str(i), "choices": [{"message": {"content": f"answer {i}"}}]}
        receipt = sign_exchange(signer, model_id="m", request=REQUEST, response=response, at=AT,
                                weight_hash="ab" * 32)  # fmt: skip
        delivered = {**response, "receipt": receipt.to_dict()}
        if tamper:
            delivered["choices"] = [{"message": {"content": "edited afterwards"}}]
        rec = EvidenceRecord(
            receipt.receipt_id, status, "issuer", "k", "m", receipt.issued_at, receipt.issued_at,
            receipt.nonce, receipt.prompt_hash, receipt.output_hash, "/v1/chat/completions", (),
            orjson.dumps(receipt.to_dict()), sampled=True,
        )  # fmt: skip
        sample = Sample(orjson.dumps(REQUEST), orjson.dumps(delivered),
                        orjson.dumps(receipt.to_dict()))  # fmt: skip
        store.submit(rec, sample)
    store.close()
    return tmp_path


def test_valid_samples_become_answers_others_count_as_failed(tmp_path: Path) -> None:
    answers = evidence_answers(_store(tmp_path, [("valid", False), ("tampered", False),
                                                 ("valid", True), ("valid", False)]))  # fmt: skip
    assert [a is not None for a in answers] == [True, False, False, True]
    first = answers[0]
    assert first is not None and first.receipt.weight_hash == "ab" * 32
    assert "receipt" not in first.response and first.request == REQUEST


def test_not_a_client_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"evidence\.db"):
        evidence_answers(tmp_path)
