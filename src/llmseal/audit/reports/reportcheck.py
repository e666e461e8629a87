"""Re-checking an audit report: a third party reproduces its verdict, or finds out why not.

A report is evidence, not a claim (:mod:`llmseal.audit.reports.report`). :func:`check_report`
redoes everything that can be redone without the endpoint:

1. the **id** (done by :func:`~llmseal.audit.reports.report.load_report`);
2. the **auditor's signature**, when the caller gives the auditors it trusts
   (``bad_signature``, ``untrusted_auditor``);
3. every **receipt**: each exchange the report counts as signed is re-verified
   against the issuer's keys — signature and both content hashes, and the receipt
   id it names (``receipt_invalid``); the report's ``receipt_ids`` must be exactly
   those exchanges (``receipt_invalid``);
4. every **verdict**, recomputed by the families from the stored exchanges
   against the named references, which must be given and match their ids
   (``missing_reference``), at the report's error rates (``verdict_mismatch`` if any
   family, the overall verdict or the query count differs).

What it cannot see: exchanges the auditor left out. Leaving out answers can only
remove evidence (a DIFF rests on the signed answers that *are* there, each bound
to its request by the issuer's own signature), so a reproduced DIFF stands.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from llmseal.audit.enrollment.reference import Reference
from llmseal.audit.exchange import VALID
from llmseal.audit.family import Registry, registry
from llmseal.audit.reports.report import AuditReport
from llmseal.audit.routing.ledger import Ledger
from llmseal.audit.runner import recompute
from llmseal.audit.stats.verdict import Outcome, Verdict, combine
from llmseal.core import _time
from llmseal.core.keyset import KeyResolver
from llmseal.core.verify import Status
from llmseal.errors import AuditIntegrityError, Error

__all__ = ["ReportCheck", "check_receipts", "check_report", "check_signature", "record_report"]


@dataclass(frozen=True, slots=True)
class ReportCheck:
    """A report whose receipts and verdicts were all reproduced."""

    report: AuditReport
    outcome: Outcome
    verdicts: tuple[Verdict, ...]
    """The recomputed verdicts (equal in decision to the stated ones)."""
    receipts: int
    """Receipts re-verified."""
    failed: int
    """Exchanges the report itself counts as failed (no valid receipt: never samples)."""
    auditor: str | None
    """The auditor key id whose signature verified (None: not checked or unsigned)."""


def check_report(
    report: AuditReport,
    *,
    keys: KeyResolver,
    references: Iterable[Reference],
    auditors: KeyResolver | None = None,
    families: Registry | None = None,
) -> ReportCheck:
    """Reproduce ``report`` or raise :class:`~llmseal.errors.AuditIntegrityError`."""
    auditor = check_signature(report, auditors) if auditors is not None else None
    exchanges = report.exchanges
    receipts = check_receipts(report, keys)
    by_id = {r.reference_id: r for r in references}
    named = report.references
    missing = sorted({rid for rid in named.values() if rid not in by_id})
    if missing:
        raise AuditIntegrityError(
            f"the report rests on references not given: {', '.join(missing)} "
            "(give the pack or REF.json that holds them)",
            code="missing_reference",
        )
    stated = report.verdicts
    unnamed = sorted({v.family for v in stated} - set(named))
    if unnamed:
        raise AuditIntegrityError(
            f"the report names no reference for {', '.join(unnamed)}", code="missing_reference"
        )
    found = families or registry()
    chosen = [found.get(v.family) for v in stated]
    recomputed = recompute(chosen, {n: by_id[rid] for n, rid in named.items()}, exchanges,
                           report.rates)  # fmt: skip
    for old, new in zip(stated, recomputed, strict=True):
        if not old.same_decision(new):
            raise AuditIntegrityError(
                f"family {old.family}: the report says {old.outcome.value} after {old.queries} "
                f"queries (log10 e = {old.statistic:.4g}), the exchanges give "
                f"{new.outcome.value} after {new.queries} (log10 e = {new.statistic:.4g})",
                code="verdict_mismatch",
            )
    outcome = combine(recomputed)
    if outcome is not report.outcome or report.body.get("queries") != len(exchanges):
        raise AuditIntegrityError(
            f"the report says {report.outcome.value} in {report.body.get('queries')} queries, "
            f"its verdicts give {outcome.value} in {len(exchanges)}",
            code="verdict_mismatch",
        )
    failed = sum(1 for e in exchanges if not e.signed and e.verification != "unsigned")
    return ReportCheck(report, outcome, recomputed, receipts, failed, auditor)


def check_receipts(report: AuditReport, keys: KeyResolver) -> int:
    """Step 3: re-verify every exchange counted as signed; how many there were.

    Raises:
        AuditIntegrityError: ``receipt_invalid``.
    """
    exchanges = report.exchanges
    receipts = 0
    for number, exchange in enumerate(exchanges, 1):
        if exchange.verification != VALID:
            continue
        try:
            result = exchange.reverify(keys)
        except Error as exc:
            result = None
            why = exc.diagnostics()
        else:
            why = "no receipt" if result is None else "; ".join(result.reasons) or "?"
        if result is None or result.status is not Status.VALID:
            status = "missing" if result is None else result.status.value
            raise AuditIntegrityError(
                f"exchange {number} ({exchange.probe_id}) is counted as signed but its receipt "
                f"{exchange.receipt_id} is {status}: {why}",
                code="receipt_invalid",
            )
        receipts += 1
    signed_ids = [e.receipt_id for e in exchanges if e.signed]
    if list(report.body.get("receipt_ids", ())) != signed_ids:
        raise AuditIntegrityError(
            "the report's receipt_ids are not its signed exchanges", code="receipt_invalid"
        )
    return receipts


def check_signature(report: AuditReport, auditors: KeyResolver) -> str:
    """Step 2: the key id of the trusted auditor whose signature verifies.

    Raises:
        AuditIntegrityError: ``bad_signature`` or ``untrusted_auditor``.
    """
    signature: Mapping[str, object] | None = report.signature
    if signature is None:
        raise AuditIntegrityError("the report is not signed by an auditor", code="bad_signature")
    key_id = str(signature.get("key_id", ""))
    try:
        entry = auditors.resolve(key_id)
    except Error as exc:
        raise AuditIntegrityError(f"auditor {key_id!r}: {exc}", code="untrusted_auditor") from exc
    if entry is None or entry.status == "revoked":
        raise AuditIntegrityError(
            f"auditor {key_id!r} is not a trusted auditor", code="untrusted_auditor"
        )
    if not report.signature_valid(entry.public_key):
        raise AuditIntegrityError(
            f"the report's signature by {key_id!r} does not verify", code="bad_signature"
        )
    return key_id


def record_report(ledger: Ledger, check: ReportCheck, *, issuer: str) -> int:
    """Routing evidence from a reproduced report: its verdict, and each failed exchange.

    ``issuer`` is the buyer's own name for the audited endpoint (the one its router
    uses), dated at the audit. Only a :class:`ReportCheck` is accepted: a report that
    did not reproduce is no evidence. Returns how many facts were recorded.
    """
    body = check.report.body
    model, at = str(body.get("model_id", "")), _time.parse_lenient(str(body["created_at"]))
    source = check.report.report_id
    for number, exchange in enumerate(check.report.exchanges, 1):
        if not exchange.signed and exchange.verification != "unsigned":
            ledger.record(issuer, model, "failure", at=at, source=f"{source}#{number}")
    ledger.record(issuer, model, check.outcome.value, at=at, source=source)
    return check.failed + 1
