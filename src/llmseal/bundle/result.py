"""What a bundle verification found: per receipt, per link, per carried audit report.

:func:`llmseal.bundle.verify.verify_bundle` builds these; ``bundle verify --json``
prints :meth:`BundleResult.to_dict`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from llmseal.bundle.audits import AuditResult
from llmseal.bundle.chain import Link
from llmseal.bundle.commit import Disclosed
from llmseal.bundle.format import Bundle
from llmseal.core.policy import PolicyResult
from llmseal.core.verify import Verification

__all__ = ["BundleResult", "ItemResult"]


@dataclass(frozen=True)
class ItemResult:
    """One receipt of the bundle, as verified."""

    verification: Verification
    key_source: str
    log: Mapping[str, Any] | None = None
    failures: tuple[str, ...] = ()
    disclosed: Disclosed | None = None
    policy: PolicyResult | None = None

    @property
    def receipt_id(self) -> str:
        return self.verification.receipt.receipt_id

    @property
    def ok(self) -> bool:
        admitted = self.policy is None or bool(self.policy)
        return bool(self.verification) and not self.failures and admitted

    def to_dict(self) -> dict[str, Any]:
        out = self.verification.to_dict()
        out["key_source"] = self.key_source
        out["failures"] = list(self.failures)
        if self.log is not None:
            out["log"] = dict(self.log)
        if self.disclosed is not None:
            out["disclosed"] = self.disclosed.describe()
        if self.policy is not None:
            out["policy"] = {"admitted": bool(self.policy), "failures": list(self.policy.failures)}
        return out


@dataclass(frozen=True)
class BundleResult:
    """The whole verdict. Truthy iff every item, link and policy rule holds."""

    bundle: Bundle
    items: tuple[ItemResult, ...]
    links: tuple[Link, ...] = ()
    failures: tuple[str, ...] = field(default=())
    audits: tuple[AuditResult, ...] = ()

    def __bool__(self) -> bool:
        items = all(i.ok for i in self.items) and all(self.links) and not self.failures
        return items and all(a.ok for a in self.audits)

    def reasons(self) -> list[str]:
        """Every failure, each naming the receipt it is about."""
        out = list(self.failures)
        for item in self.items:
            rid = item.receipt_id
            if not item.verification:
                out += [
                    f"{rid}: {item.verification.status.value}: {r}"
                    for r in item.verification.reasons
                ]
            out += [f"{rid}: {f}" for f in item.failures]
            if item.policy is not None:
                out += [f"{rid}: policy rule {f}" for f in item.policy.failures]
        out += [f"{link.child}: {f}" for link in self.links for f in link.failures]
        out += [f"audit report {a.report_id}: {f}" for a in self.audits for f in a.failures]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": bool(self),
            "subject": self.bundle.subject,
            "items": [i.to_dict() for i in self.items],
            "links": [_link_dict(link) for link in self.links],
            "audits": [a.to_dict() for a in self.audits],
            "failures": self.reasons(),
        }


def _link_dict(link: Link) -> dict[str, Any]:
    return {
        "child": link.child,
        "parent": link.parent,
        "relation": link.relation,
        "ops": list(link.ops),
        "failures": list(link.failures),
        "notes": list(link.notes),
    }
