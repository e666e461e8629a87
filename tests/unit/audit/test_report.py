"""Audit reports: content-addressed, signed over a domain-separated id, round-trip whole."""

from __future__ import annotations

import json
import random
from datetime import datetime
from pathlib import Path

import orjson
import pytest

from llmseal.audit import Outcome, Reference, registry
from llmseal.audit.enrollment.enroll import enroll
from llmseal.audit.packs.packfile import load_references
from llmseal.audit.reports.report import build_report, load_report, write_report
from llmseal.audit.runner import pick_references, recompute, run_audit
from llmseal.audit.stats.sequential import ErrorRates
from llmseal.core.keys import Ed25519Signer
from llmseal.errors import AuditError, AuditIntegrityError, InputError
from tests.unit.audit.conftest import Exchange
from tests.unit.audit.fakemodel import FakeSource
from tests.unit.audit.test_text_families import OPTIONS, _sender


@pytest.fixture
def reference(t0: datetime) -> Reference:
    sources = [FakeSource("endpoint", kind="endpoint"), FakeSource("n_batch=1", noisy=True)]
    return enroll(sources, registry().resolve(["kbf", "logprob", "stack"]), OPTIONS, at=t0)


def test_a_report_round_trips_and_recomputes(
    reference: Reference, signed_exchange: Exchange, tmp_path: Path, t0: datetime
) -> None:
    families = registry().resolve(["kbf", "logprob", "stack"])
    refs = pick_references([reference], "smollm2-135m-instruct")
    run = run_audit(families, refs, _sender(signed_exchange, salt="gemma"), budget=100,
                    rates=ErrorRates(), rng=random.Random(1))  # fmt: skip
    assert run.outcome is Outcome.DIFF
    signer = Ed25519Signer.generate("auditor")
    report = build_report(run, endpoint="http://x/v1", model_id="smollm2-135m-instruct",
                          at=t0, signer=signer)  # fmt: skip
    path = write_report(report, tmp_path)
    assert path.parent == tmp_path / "audits"
    loaded = load_report(path)
    assert loaded.report_id == report.report_id and loaded.outcome is Outcome.DIFF
    assert loaded.signature_valid(signer.public_key())
    assert not loaded.signature_valid(Ed25519Signer.generate("other").public_key())
    assert loaded.exchanges == run.exchanges
    assert set(loaded.body["receipt_ids"]) == {e.receipt_id for e in run.exchanges if e.signed}
    again = recompute(families, refs, loaded.exchanges, loaded.rates)
    assert all(a.same_decision(b) for a, b in zip(again, loaded.verdicts, strict=True))
    summary = loaded.summary()
    assert summary["verdict"] == "DIFF" and set(summary["families"]) == {"kbf", "logprob", "stack"}


def test_a_changed_report_is_refused(
    reference: Reference, signed_exchange: Exchange, tmp_path: Path, t0: datetime
) -> None:
    families = registry().resolve(["kbf"])
    refs = pick_references([reference], "smollm2-135m-instruct", ["kbf"])
    run = run_audit(families, refs, _sender(signed_exchange, salt="gemma"), budget=50,
                    rates=ErrorRates(), rng=random.Random(1))  # fmt: skip
    data = build_report(run, endpoint="http://x/v1", model_id="m", at=t0).to_dict()
    data["verdict"] = "SAME"
    with pytest.raises(AuditIntegrityError):
        load_report(orjson.dumps(data))
    with pytest.raises(InputError):
        load_report(b'{"type": "something else"}')


def test_packs_and_bare_references_load(reference: Reference, tmp_path: Path, t0: datetime) -> None:
    bare = tmp_path / "ref.json"
    bare.write_bytes(reference.to_json())
    assert load_references(bare, trusted=None, at=t0) == [reference]
    unsigned = tmp_path / "pack.json"  # a bundle without pack_id and signature is no pack
    unsigned.write_text(json.dumps({"references": [reference.to_dict()]}))
    with pytest.raises(InputError, match="not a fingerprint pack"):
        load_references(unsigned, trusted=None, at=t0)
    forged = reference.to_dict()
    forged["model_id"] = "gpt-5"
    bare.write_text(json.dumps(forged))
    with pytest.raises(AuditIntegrityError):
        load_references(bare, trusted=None, at=t0)
    with pytest.raises(AuditError):
        pick_references([reference], "gpt-5")
