"""Audit reports carried in an evidence bundle are re-checked by `bundle verify`.

The reports are real (families run over the deterministic fake model, every answer
sealed with a real key: see test_report_check.py); the bundle's own answer is
sealed by the same issuer key, as a seller's gateway would.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from llmseal.audit.enrollment.enroll import enroll
from llmseal.audit.enrollment.reference import Reference, content_id
from llmseal.audit.reports.bundled import CarriedAudits
from llmseal.audit.reports.report import AuditReport
from llmseal.bench._support.payload import REQUEST, RESPONSE
from llmseal.bundle.anchors import Anchors
from llmseal.bundle.create import item_from_response, make_bundle
from llmseal.bundle.format import Bundle
from llmseal.bundle.verify import verify_bundle
from llmseal.core.keys import Ed25519Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.core.sign import sign_exchange
from tests.unit.audit.conftest import Exchange
from tests.unit.audit.fakemodel import FakeSource
from tests.unit.audit.test_report_check import (
    OPTIONS,
    _answer_edit,
    _edited,
    _families,
    _flip,
    _report,
)


@pytest.fixture
def reference(t0: datetime) -> Reference:
    sources = [FakeSource("endpoint", kind="endpoint"), FakeSource("n_batch=512"),
               FakeSource("n_batch=1", noisy=True)]  # fmt: skip
    return enroll(sources, _families(), OPTIONS, at=t0)


@pytest.fixture
def auditor() -> Ed25519Signer:
    return Ed25519Signer.generate("auditor-1")


@pytest.fixture
def diff_report(
    reference: Reference, signed_exchange: Exchange, t0: datetime, auditor: Ed25519Signer
) -> AuditReport:
    return _report(reference, signed_exchange, t0, auditor, salt="gemma")


@pytest.fixture
def bundle_of(
    issuer_key: Ed25519Signer, t0: datetime
) -> Callable[[AuditReport | dict[str, Any]], Bundle]:
    receipt = sign_exchange(issuer_key, model_id="smollm2-135m-instruct", request=REQUEST,
                            response=RESPONSE, at=t0)  # fmt: skip
    item = item_from_response({**RESPONSE, "receipt": receipt.to_dict()}, request=REQUEST)

    def make(report: AuditReport | dict[str, Any]) -> Bundle:
        data = report.to_dict() if isinstance(report, AuditReport) else report
        made = make_bundle([item], at=t0, audits=[data])
        return Bundle.from_json(made.to_json())  # as a verifier reads it

    return make


def _auditors(auditor: Ed25519Signer) -> KeySet:
    return KeySet([KeyEntry(auditor.key_id, auditor.public_key())])


def test_a_carried_report_is_reproduced_with_auditors_and_references(
    diff_report: AuditReport, reference: Reference, issuer_keys: KeySet,
    auditor: Ed25519Signer, bundle_of: Any, t0: datetime,
) -> None:  # fmt: skip
    checker = CarriedAudits.of(auditors=_auditors(auditor), references=[reference])
    result = verify_bundle(bundle_of(diff_report), Anchors(keys=(issuer_keys,)), at=t0,
                           audits=checker)  # fmt: skip
    assert result, result.reasons()
    (audit,) = result.audits
    assert audit.checked == ("id", "signature", "receipts", "verdicts")
    assert audit.verdict == "DIFF" and audit.auditor == "auditor-1"
    assert audit.receipts == len(diff_report.body["receipt_ids"]) > 0
    assert result.to_dict()["audits"][0]["reproduced"] is True


def test_without_references_the_receipts_are_still_re_verified_and_it_says_so(
    diff_report: AuditReport, issuer_keys: KeySet, bundle_of: Any, t0: datetime
) -> None:
    result = verify_bundle(bundle_of(diff_report), Anchors(keys=(issuer_keys,)), at=t0,
                           audits=CarriedAudits())  # fmt: skip
    assert result, result.reasons()
    (audit,) = result.audits
    assert audit.checked == ("id", "receipts") and audit.receipts > 0
    assert any("--references" in n for n in audit.notes)
    assert any("--auditors" in n for n in audit.notes)


@pytest.mark.parametrize(
    ("edit", "rehash", "signed", "found"),
    [
        (_flip, False, True, "does not match its content"),  # edited, id left as it was
        # re-hashed: the old signature no longer covers the id ...
        (lambda d: d.update(endpoint="http://other.test/v1"), True, True, "does not verify"),
        # ... and, auditor unchecked, the edited answer no longer matches its receipt
        (_answer_edit, True, False, "is counted as signed but its receipt"),
        (_flip, True, False, None),  # a flipped verdict passes without the references ...
    ],
)
def test_a_tampered_carried_report_fails_the_bundle(
    diff_report: AuditReport, reference: Reference, issuer_keys: KeySet,
    auditor: Ed25519Signer, bundle_of: Any, t0: datetime,
    edit: Callable[[dict[str, Any]], None], rehash: bool, signed: bool, found: str | None,
) -> None:  # fmt: skip
    if rehash:
        data = _edited(diff_report, edit).to_dict()
    else:
        data = diff_report.to_dict()
        edit(data)
    anchors = Anchors(keys=(issuer_keys,))
    auditors = _auditors(auditor) if signed else None
    if found is None:
        # ... as a stated verdict, said so; the references recompute it and fail it.
        lax = verify_bundle(bundle_of(data), anchors, at=t0, audits=CarriedAudits.of())
        assert lax and "verdicts" not in lax.audits[0].checked
        found = "the exchanges give"
    checker = CarriedAudits.of(auditors=auditors, references=[reference])
    result = verify_bundle(bundle_of(data), anchors, at=t0, audits=checker)
    assert not result
    assert all(i.ok for i in result.items)  # the answer itself still verifies
    reasons = [r for r in result.reasons() if r.startswith("audit report ")]
    assert len(reasons) == 1 and found in reasons[0], result.reasons()


def test_a_report_by_another_issuer_key_or_no_checker_fails(
    diff_report: AuditReport, issuer_key: Ed25519Signer, bundle_of: Any, t0: datetime
) -> None:
    bundle = bundle_of(diff_report)
    unchecked = verify_bundle(bundle, Anchors(keys=(KeySet([]),)), at=t0)
    assert not unchecked and "no audit checker" in unchecked.reasons()[-1]
    stranger = Ed25519Signer.generate(issuer_key.key_id)  # same key id, another key
    keys = KeySet(
        [
            KeyEntry(issuer_key.key_id, issuer_key.public_key()),
        ]
    )
    wrong = KeySet([KeyEntry(stranger.key_id, stranger.public_key())])
    ok = verify_bundle(bundle, Anchors(keys=(keys,)), at=t0, audits=CarriedAudits())
    assert ok, ok.reasons()
    bad = verify_bundle(bundle, Anchors(keys=(wrong,)), at=t0, audits=CarriedAudits())
    assert not bad and "receipt" in bad.audits[0].failures[0]


def test_bundle_verify_cli_reports_carried_audits(
    diff_report: AuditReport, reference: Reference, issuer_keys: KeySet,
    auditor: Ed25519Signer, bundle_of: Any, t0: datetime, tmp_path: Path,
    cli: Callable[..., Any],
) -> None:  # fmt: skip
    path, ref, keys = tmp_path / "b.json", tmp_path / "ref.json", tmp_path / "keys.json"
    auditors = tmp_path / "auditors.json"
    path.write_bytes(bundle_of(diff_report).to_json())
    ref.write_bytes(reference.to_json())
    keys.write_text(json.dumps(issuer_keys.to_dict()))
    auditors.write_text(json.dumps(_auditors(auditor).to_dict()))
    at = (t0 + timedelta(minutes=5)).isoformat()
    args = ("bundle", "verify", path, "--keys", keys, "--at", at)
    full = cli(*args, "--auditors", auditors, "--references", ref, "--json")
    assert full.status == 0, full.stdout + full.stderr
    (audit,) = full.json()["audits"]
    assert audit["verdict"] == "DIFF" and audit["reproduced"] and audit["ok"]
    text = cli(*args)
    assert text.status == 0, text.stdout + text.stderr
    assert "audit report receipts re-verified  DIFF sha256:" in text.stdout
    assert "note: verdicts not recomputed" in text.stdout
    tampered = tmp_path / "t.json"
    tampered.write_bytes(bundle_of(_edited(diff_report, _flip)).to_json())
    bad = cli("bundle", "verify", tampered, "--keys", keys, "--at", at, "--references", ref)
    assert bad.status == 1 and "audit report FAILED" in bad.stdout
    assert "verdict_mismatch" in bad.stdout or "the report says" in bad.stdout


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("exchanges", "not a list"),
        ("exchanges", [1]),
        ("families", {"kbf": 3}),
        ("verdict", "MAYBE"),
        ("rates", {"alpha": "x"}),
        ("references", [1]),
        ("receipt_ids", 5),
        ("signature", "forged"),
    ],
)
def test_a_re_hashed_report_of_the_wrong_shape_fails_as_input_never_crashes(
    diff_report: AuditReport, issuer_keys: KeySet, bundle_of: Any, t0: datetime,
    member: str, value: Any,
) -> None:  # fmt: skip
    data = _edited(diff_report, lambda d: None).to_dict()
    data[member] = value
    data["report_id"] = content_id(data, exclude=("report_id", "signature"))
    result = verify_bundle(bundle_of(data), Anchors(keys=(issuer_keys,)), at=t0,
                           audits=CarriedAudits())  # fmt: skip
    assert not result
    (audit,) = result.audits
    assert (
        audit.failures[0].startswith("not an audit report:") and f"'{member}'" in audit.failures[0]
    )
