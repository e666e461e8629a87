"""Re-checking the audit reports an evidence bundle carries (the bundle verifier's hook).

:class:`CarriedAudits` is the :class:`~llmseal.bundle.audits.AuditChecker` that
``llmseal bundle verify`` hands to :func:`~llmseal.bundle.verify.verify_bundle`. It
runs the steps of :mod:`llmseal.audit.reports.reportcheck` that the verifier has the
anchors for, and says which ran:

* ``id``: always; a report whose content does not hash to its ``report_id`` fails;
* ``signature``: with trusted auditors (``--auditors``); a report signed by anyone
  else, or whose signature does not verify, fails;
* ``receipts``: with a pinned key set; every exchange the report counts as signed
  is re-verified, and ``receipt_ids`` must be exactly those;
* ``verdicts``: with the references (``--references``); every family's verdict
  and the overall one are recomputed from the exchanges.

A step that cannot run is named in the result's notes, never passed silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from llmseal.audit.enrollment.reference import Reference
from llmseal.audit.reports.report import AuditReport, load_report
from llmseal.audit.reports.reportcheck import check_receipts, check_report, check_signature
from llmseal.bundle.audits import AuditResult
from llmseal.core.canonical import canonicalize
from llmseal.core.keyset import KeyResolver
from llmseal.errors import Error

__all__ = ["CarriedAudits"]


@dataclass(frozen=True)
class CarriedAudits:
    """Re-checks carried reports against the verifier's auditors and references."""

    auditors: KeyResolver | None = None
    references: tuple[Reference, ...] = field(default=())

    @classmethod
    def of(
        cls, *, auditors: KeyResolver | None = None, references: Iterable[Reference] = ()
    ) -> CarriedAudits:
        return cls(auditors, tuple(references))

    def __call__(
        self, report: Mapping[str, Any], *, keys: KeyResolver | None, at: datetime
    ) -> AuditResult:
        claimed = report.get("report_id")
        rid = claimed if isinstance(claimed, str) else "?"
        checked: list[str] = []
        notes: list[str] = []
        try:
            loaded = load_report(canonicalize(dict(report)))
            checked.append("id")
            auditor = self._signature(loaded, checked, notes)
            if keys is None:
                why = "no pinned key set to re-verify the report's receipts against (--keys)"
                return AuditResult(rid, tuple(checked), failures=(why,), notes=tuple(notes))
            verdict = loaded.outcome.value
            if self.references:
                reproduced = check_report(loaded, keys=keys, references=self.references)
                checked += ["receipts", "verdicts"]
                verdict, receipts = reproduced.outcome.value, reproduced.receipts
            else:
                receipts = check_receipts(loaded, keys)
                checked.append("receipts")
                notes.append("verdicts not recomputed: no references given (--references)")
        except Error as exc:
            return AuditResult(rid, tuple(checked), failures=(str(exc),), notes=tuple(notes))
        return AuditResult(
            loaded.report_id, tuple(checked), verdict, auditor, receipts, (), tuple(notes)
        )

    def _signature(self, report: AuditReport, checked: list[str], notes: list[str]) -> str | None:
        if self.auditors is None:
            signed = report.signature is not None
            notes.append(
                "auditor signature not checked: no trusted auditors given (--auditors)"
                if signed
                else "the report is not signed by an auditor"
            )
            return None
        auditor = check_signature(report, self.auditors)
        checked.append("signature")
        return auditor
