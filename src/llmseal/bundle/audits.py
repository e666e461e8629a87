"""Audit reports a bundle carries, re-checked when the bundle is verified.

A carried report is evidence like the rest: ``bundle verify`` re-checks it, never
takes its word. The bundle layer sits below the audit layer, so the check itself
is a hook: an :class:`AuditChecker` the caller passes (``llmseal bundle verify``
passes :class:`llmseal.audit.reports.bundled.CarriedAudits`). With reports in the bundle
and no checker, each report fails ("not re-checked"): fail closed.

What the checker re-checks (docs/spec/bundle.md, "Audit reports"): the report's id
against its content (so any edit shows), the auditor's signature against the
verifier's trusted auditors when given, every receipt the report counts as signed
against the verifier's pinned key sets (and that ``receipt_ids`` are exactly those),
and, with the references, every verdict recomputed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from llmseal.core.keyset import KeyResolver

__all__ = ["AuditChecker", "AuditResult", "check_audits"]


@dataclass(frozen=True, slots=True)
class AuditResult:
    """One carried report, as re-checked."""

    report_id: str
    """The id the report claims (the checker compares it with its content)."""
    checked: tuple[str, ...] = ()
    """What was re-checked: ``id``, ``signature``, ``receipts``, ``verdicts``."""
    verdict: str | None = None
    """The report's verdict: recomputed if ``verdicts`` is in :attr:`checked`, else stated."""
    auditor: str | None = None
    """The trusted auditor key whose signature verified."""
    receipts: int = 0
    failures: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {
            "report_id": self.report_id, "ok": self.ok, "checked": list(self.checked),
            "verdict": self.verdict, "reproduced": "verdicts" in self.checked,
            "auditor": self.auditor, "receipts": self.receipts,
            "failures": list(self.failures), "notes": list(self.notes),
        }  # fmt: skip


class AuditChecker(Protocol):
    """Re-checks one carried report with the verifier's issuer keys (None: none pinned)."""

    def __call__(
        self, report: Mapping[str, Any], *, keys: KeyResolver | None, at: datetime
    ) -> AuditResult: ...


def check_audits(
    reports: Sequence[Mapping[str, Any]],
    checker: AuditChecker | None,
    *,
    keys: KeyResolver | None,
    at: datetime,
) -> tuple[AuditResult, ...]:
    """Every carried report through ``checker``; each fails when there is none."""
    out: list[AuditResult] = []
    for report in reports:
        claimed = report.get("report_id")
        rid = claimed if isinstance(claimed, str) else "?"
        if checker is None:
            why = "not re-checked: this verifier was given no audit checker"
            out.append(AuditResult(rid, failures=(why,)))
        else:
            out.append(checker(report, keys=keys, at=at))
    return tuple(out)
