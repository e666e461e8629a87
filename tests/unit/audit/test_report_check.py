"""``audit report verify`` and ``show``: a third party reproduces a DIFF, and every edit shows.

Audits here run the real families (kbf, logprob, stack) over the deterministic
fake model of ``fakemodel.py``, every answer sealed with a real key; the
substitute is the same fake with another salt (another model family).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import random
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from llmseal.audit import EnrollOptions, Outcome, Reference, registry
from llmseal.audit.enrollment.enroll import enroll
from llmseal.audit.enrollment.reference import content_id
from llmseal.audit.exchange import ObservedExchange
from llmseal.audit.family import Family, Probe
from llmseal.audit.reports.report import AuditReport, build_report, load_report
from llmseal.audit.reports.reportcheck import check_report, record_report
from llmseal.audit.reports.reportview import render_html
from llmseal.audit.routing.ledger import Ledger, Tier
from llmseal.audit.runner import pick_references, run_audit
from llmseal.audit.stats.sequential import ErrorRates
from llmseal.core.canonical import canonicalize
from llmseal.core.keys import Ed25519Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.errors import AuditIntegrityError
from tests.unit.audit.conftest import Exchange
from tests.unit.audit.fakemodel import FakeSource, answer

MODEL = "smollm2-135m-instruct"
OPTIONS = EnrollOptions(model_id=MODEL, seed=7, probes=30, repeats=2)


def _families() -> list[Family]:
    return registry().resolve(["kbf", "logprob", "stack"])


@pytest.fixture
def reference(t0: datetime) -> Reference:
    sources = [FakeSource("endpoint", kind="endpoint"), FakeSource("n_batch=512"),
               FakeSource("n_batch=1", noisy=True)]  # fmt: skip
    return enroll(sources, _families(), OPTIONS, at=t0)


@pytest.fixture
def auditor() -> Ed25519Signer:
    return Ed25519Signer.generate("auditor-1")


def _report(
    reference: Reference, signed_exchange: Exchange, t0: datetime, signer: Any = None,
    fail_every: int = 0, **model: Any,
) -> AuditReport:  # fmt: skip
    sent = [0]

    def send(probe: Probe) -> ObservedExchange:
        sent[0] += 1
        if fail_every and sent[0] % fail_every == 0:  # an answer whose receipt did not verify
            return ObservedExchange(probe.id, probe.family, probe.method, probe.endpoint, b"{}",
                                    200, b"{}", (), "tampered", error="bad signature")  # fmt: skip
        if probe.body is None:
            return ObservedExchange(probe.id, probe.family, probe.method, probe.endpoint, b"",
                                    200, b'{"data": []}', (), "unsigned")  # fmt: skip
        request = {**probe.body, "model": MODEL}
        ex = signed_exchange(probe.id, probe.family, request, answer(request, **model))
        return dataclasses.replace(ex, variant=probe.variant)

    refs = pick_references([reference], MODEL)
    run = run_audit(_families(), refs, send, budget=300, rates=ErrorRates(),
                    rng=random.Random(3))  # fmt: skip
    return build_report(run, endpoint="http://seller.test/v1", model_id=MODEL, at=t0,
                        signer=signer)  # fmt: skip


@pytest.fixture
def diff_report(
    reference: Reference, signed_exchange: Exchange, t0: datetime, auditor: Ed25519Signer
) -> AuditReport:
    report = _report(reference, signed_exchange, t0, auditor, salt="gemma")
    assert report.outcome is Outcome.DIFF
    return report


def _edited(report: AuditReport, edit: Callable[[dict[str, Any]], None]) -> AuditReport:
    """The report edited and re-hashed (so the id check passes and the rest must catch it)."""
    data = report.to_dict()
    edit(data)
    data["report_id"] = content_id(data, exclude=("report_id", "signature"))
    return load_report(canonicalize(data))


def test_a_third_party_reproduces_a_diff(
    diff_report: AuditReport, reference: Reference, issuer_keys: KeySet, auditor: Ed25519Signer
) -> None:
    again = load_report(diff_report.to_json())
    auditors = KeySet([KeyEntry(auditor.key_id, auditor.public_key())])
    checked = check_report(again, keys=issuer_keys, references=[reference], auditors=auditors)
    assert checked.outcome is Outcome.DIFF and checked.auditor == "auditor-1"
    assert checked.receipts == len(diff_report.body["receipt_ids"]) > 0
    assert [v.outcome for v in checked.verdicts] == [v.outcome for v in diff_report.verdicts]


def test_an_honest_same_is_reproduced_too(
    reference: Reference, signed_exchange: Exchange, t0: datetime, issuer_keys: KeySet
) -> None:
    report = _report(reference, signed_exchange, t0)
    checked = check_report(report, keys=issuer_keys, references=[reference])
    assert checked.outcome is report.outcome and checked.auditor is None


def _answer_edit(data: dict[str, Any]) -> None:
    """Change the first signed answer's content (the receipt no longer matches it)."""
    for ex in data["exchanges"]:
        if ex["verification"] == "valid":
            body = json.loads(base64.b64decode(ex["response_b64"]))
            body["choices"][0]["message"]["content"] = "The answer is 1."
            ex["response_b64"] = base64.b64encode(json.dumps(body).encode()).decode()
            return


def _fabricate_receipt_id(data: dict[str, Any]) -> None:
    ex = next(e for e in data["exchanges"] if e["verification"] == "valid")
    ex["receipt_id"] = "fabricated-0001"


def _flip(data: dict[str, Any]) -> None:
    family = next(iter(data["families"].values()))
    family["verdict"] = "SAME" if family["verdict"] == "DIFF" else "DIFF"


def _drop_last(data: dict[str, Any]) -> None:
    data["exchanges"].pop()
    data["receipt_ids"] = [e["receipt_id"] for e in data["exchanges"]
                           if e["verification"] == "valid"]  # fmt: skip


@pytest.mark.parametrize(
    ("edit", "code"),
    [
        (_answer_edit, "receipt_invalid"),
        (_fabricate_receipt_id, "receipt_invalid"),
        (lambda d: d["receipt_ids"].pop(), "receipt_invalid"),
        (_flip, "verdict_mismatch"),
        (lambda d: d.update(verdict="SAME"), "verdict_mismatch"),
        (lambda d: d["rates"].update(alpha=1e-9), "verdict_mismatch"),
        (_drop_last, "verdict_mismatch"),
        (lambda d: d["references"].update(kbf="sha256:" + "0" * 64), "missing_reference"),
        (lambda d: d["references"].pop("kbf"), "missing_reference"),
    ],
)
def test_every_edit_is_caught(
    diff_report: AuditReport, reference: Reference, issuer_keys: KeySet,
    edit: Callable[[dict[str, Any]], None], code: str,
) -> None:  # fmt: skip
    edited = _edited(diff_report, edit)
    with pytest.raises(AuditIntegrityError) as info:
        check_report(edited, keys=issuer_keys, references=[reference])
    assert info.value.code == code, info.value


def test_receipts_are_checked_against_the_issuers_keys(
    diff_report: AuditReport, reference: Reference
) -> None:
    stranger = Ed25519Signer.generate("audit-test")  # same key id, another key
    keys = KeySet([KeyEntry(stranger.key_id, stranger.public_key())])
    with pytest.raises(AuditIntegrityError) as info:
        check_report(diff_report, keys=keys, references=[reference])
    assert info.value.code == "receipt_invalid" and "tampered" in str(info.value)


def test_the_auditor_signature_is_checked_when_asked(
    diff_report: AuditReport, reference: Reference, issuer_keys: KeySet, auditor: Ed25519Signer
) -> None:
    auditors = KeySet([KeyEntry(auditor.key_id, auditor.public_key())])
    others = KeySet([KeyEntry("auditor-2", Ed25519Signer.generate("x").public_key())])
    with pytest.raises(AuditIntegrityError) as info:
        check_report(diff_report, keys=issuer_keys, references=[reference], auditors=others)
    assert info.value.code == "untrusted_auditor"
    # a re-hashed report keeps the old signature, which no longer covers its id
    edited = _edited(diff_report, lambda d: d.update(endpoint="http://other.test/v1"))
    with pytest.raises(AuditIntegrityError) as info:
        check_report(edited, keys=issuer_keys, references=[reference], auditors=auditors)
    assert info.value.code == "bad_signature"


def test_a_reproduced_diff_becomes_routing_evidence(
    diff_report: AuditReport, reference: Reference, issuer_keys: KeySet, t0: datetime
) -> None:
    checked = check_report(diff_report, keys=issuer_keys, references=[reference])
    ledger = Ledger()
    assert record_report(ledger, checked, issuer="seller.test") == 1
    standing = ledger.standing("seller.test", MODEL, at=t0)
    assert standing.tier is Tier.EXCLUDED and standing.last_diff == t0
    assert ledger.standing("seller.test", "gemma-3-270m", at=t0).tier is Tier.UNAUDITED


def test_failed_exchanges_are_reproduced_and_recorded(
    reference: Reference, signed_exchange: Exchange, t0: datetime, issuer_keys: KeySet
) -> None:
    report = _report(reference, signed_exchange, t0, fail_every=3, salt="gemma")
    checked = check_report(report, keys=issuer_keys, references=[reference])
    assert checked.failed > 0 and checked.outcome is report.outcome
    ledger = Ledger()
    assert record_report(ledger, checked, issuer="seller.test") == checked.failed + 1
    assert sum(1 for e in ledger if e.kind == "failure") == checked.failed
    # promoting a failed exchange to "valid" is caught: it has no receipt to re-verify
    edited = _edited(report, lambda d: next(e for e in d["exchanges"]
                                            if e["verification"] == "tampered").update(
        verification="valid", receipt_id="r-1"))  # fmt: skip
    with pytest.raises(AuditIntegrityError) as info:
        check_report(edited, keys=issuer_keys, references=[reference])
    assert info.value.code == "receipt_invalid" and "missing" in str(info.value)


def test_the_page_is_self_contained_and_escaped(
    diff_report: AuditReport, reference: Reference
) -> None:
    hostile = _edited(diff_report, lambda d: d.update(model_id='<script>alert("x")</script>'))
    page = render_html(hostile)
    assert "<script" not in page and "&lt;script&gt;" in page
    assert "default-src 'none'" in page
    # nothing is fetched: no src= attribute, no link to anywhere but the page itself
    assert " src=" not in page and "<link" not in page
    assert set(re.findall(r'href="([^"#]?)', page)) <= {""}
    # one chart pair per family, and every plotted point links to an exchange on the page
    assert page.count("<svg") == 2 * len(diff_report.verdicts)
    anchors = set(re.findall(r'<details id="([^"]+)"', page))
    links = set(re.findall(r'<a href="#([^"]+)"', page))
    assert links and links <= anchors
    assert page.count("<details") == len(diff_report.exchanges)


def test_report_cli_verify_and_show(
    diff_report: AuditReport, reference: Reference, issuer_keys: KeySet, tmp_path: Path,
    cli: Callable[..., Any],
) -> None:  # fmt: skip
    path, ref, keys = tmp_path / "report.json", tmp_path / "ref.json", tmp_path / "keys.json"
    path.write_bytes(diff_report.to_json())
    ref.write_bytes(reference.to_json())
    keys.write_text(json.dumps(issuer_keys.to_dict()))
    result = cli("audit", "report", "verify", path, "--keys", keys, "--references", ref,
                 "--data-dir", tmp_path / "buyer", "--record-as", "seller.test")  # fmt: skip
    assert result.status == 0, result.stderr
    routing = Ledger(tmp_path / "buyer" / "routing" / "evidence.jsonl")
    assert [(e.issuer, e.kind) for e in routing] == [("seller.test", "DIFF")]
    assert result.stdout.startswith("reproduced  audit report sha256:")
    assert "verdict    DIFF" in result.stdout and "unsigned" not in result.stdout
    as_json = cli("audit", "report", "verify", path, "--keys", keys, "--references", ref,
                  "--data-dir", tmp_path / "none", "--json").json()  # fmt: skip
    assert as_json["verdict"] == "DIFF" and as_json["receipts"] > 0
    # without the reference: one line, exit 2
    missing = cli("audit", "report", "verify", path, "--keys", keys, "--data-dir", tmp_path)
    assert missing.status == 2 and missing.stderr.count("\n") == 1
    assert "missing_reference" in missing.stderr
    tampered = tmp_path / "tampered.json"
    tampered.write_bytes(_edited(diff_report, _flip).to_json())
    bad = cli("audit", "report", "verify", tampered, "--keys", keys, "--references", ref,
              "--data-dir", tmp_path / "none")  # fmt: skip
    assert bad.status == 2 and "verdict_mismatch" in bad.stderr and bad.stdout == ""
    page = tmp_path / "report.html"
    shown = cli("audit", "report", "show", path, "--html", page)
    assert shown.status == 0, shown.stderr
    assert shown.stdout.startswith("DIFF  audit report") and "kbf" in shown.stdout
    assert page.read_text().startswith("<!doctype html>")
    truncated = tmp_path / "cut.json"
    truncated.write_bytes(diff_report.to_json()[:300])
    cut = cli("audit", "report", "show", truncated)
    assert cut.status == 2 and "must be JSON" in cut.stderr
