"""The audit report: every exchange, every verdict, optionally signed by the auditor.

One JSON object, content-addressed like a reference::

    {"version": 1, "type": "llmseal-audit-report",
     "report_id": "sha256:<hex>",      # sha256(JCS(this object without report_id, signature))
     "created_at": "...", "endpoint": "http://host:port/v1", "model_id": "...",
     "references": {"kbf": "sha256:...", ...},   # family -> reference id
     "rates": {"alpha": 0.01, "beta": 0.01, "min_effect": 0.1}, "budget": 300,
     "verdict": "DIFF", "queries": 7,
     "families": {"kbf": <Verdict.to_dict()>, ...},
     "receipt_ids": [...],               # every signed exchange, in sending order
     "exchanges": [<ObservedExchange.to_dict()>, ...],
     "signature": {"key_id": "...", "algorithm": "ed25519", "value": "<base64>"}}  # optional

The signature is over ``b"llmseal-audit-report-v1\\n" + report_id`` (domain-separated,
so it cannot be mistaken for a receipt). A third party re-checks every exchange's
receipt (:meth:`~llmseal.audit.exchange.ObservedExchange.reverify`) and recomputes
each family's verdict from :attr:`AuditReport.exchanges` against the named
references (``llmseal audit report verify``). Reports are written to
``<data_dir>/audits/<hex>.json``.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import orjson

from llmseal.audit.enrollment.reference import content_id
from llmseal.audit.exchange import ObservedExchange
from llmseal.audit.runner import AuditRun
from llmseal.audit.stats.sequential import ErrorRates
from llmseal.audit.stats.verdict import Outcome, Verdict
from llmseal.core import _time
from llmseal.core.canonical import loads
from llmseal.core.keys import PublicKey, Signer, decode_signature, encode_signature
from llmseal.errors import AuditIntegrityError, ContentError, InputError

__all__ = [
    "REPORT_DOMAIN",
    "REPORT_TYPE",
    "AuditReport",
    "build_report",
    "load_report",
    "write_report",
]

REPORT_TYPE = "llmseal-audit-report"
REPORT_DOMAIN = b"llmseal-audit-report-v1\n"
_UNHASHED = ("report_id", "signature")


@dataclass(frozen=True)
class AuditReport:
    """A parsed, id-checked report (signature checked separately: :meth:`signature_valid`)."""

    report_id: str
    body: Mapping[str, Any]

    @property
    def outcome(self) -> Outcome:
        return Outcome(self.body["verdict"])

    @property
    def verdicts(self) -> tuple[Verdict, ...]:
        return tuple(Verdict.from_dict(v) for v in self.body["families"].values())

    @property
    def exchanges(self) -> tuple[ObservedExchange, ...]:
        return tuple(ObservedExchange.from_dict(e) for e in self.body["exchanges"])

    @property
    def references(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in self.body["references"].items()}

    @property
    def rates(self) -> ErrorRates:
        r = self.body["rates"]
        return ErrorRates(float(r["alpha"]), float(r["beta"]), float(r["min_effect"]))

    @property
    def signature(self) -> Mapping[str, Any] | None:
        sig = self.body.get("signature")
        return sig if isinstance(sig, dict) else None

    def signed_message(self) -> bytes:
        return REPORT_DOMAIN + self.report_id.encode("ascii")

    def signature_valid(self, key: PublicKey) -> bool:
        sig = self.signature
        raw = decode_signature(str(sig.get("value", ""))) if sig else None
        return raw is not None and key.verify(raw, self.signed_message())

    def to_dict(self) -> dict[str, Any]:
        return {"report_id": self.report_id, **orjson.loads(orjson.dumps(dict(self.body)))}

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2) + b"\n"

    def summary(self) -> dict[str, Any]:
        """The ``--json`` output of ``llmseal audit run``."""
        return {
            "verdict": self.body["verdict"], "queries": self.body["queries"],
            "report_id": self.report_id,
            "families": {n: {"verdict": v["verdict"], "p_value": v["p_value"],
                             "queries": v["queries"], "reason": v["reason"]}
                         for n, v in self.body["families"].items()},
        }  # fmt: skip


def build_report(
    run: AuditRun,
    *,
    endpoint: str,
    model_id: str,
    at: datetime,
    signer: Signer | None = None,
) -> AuditReport:
    verdicts = {v.family: v.to_dict() for v in run.verdicts}
    body: dict[str, Any] = {
        "version": 1, "type": REPORT_TYPE, "created_at": _time.format_utc(at),
        "endpoint": endpoint, "model_id": model_id, "references": dict(run.references),
        "rates": {"alpha": run.rates.alpha, "beta": run.rates.beta,
                  "min_effect": run.rates.min_effect},
        "budget": run.budget, "verdict": run.outcome.value, "queries": run.queries,
        "families": verdicts,
        "receipt_ids": [e.receipt_id for e in run.exchanges if e.signed],
        "exchanges": [e.to_dict() for e in run.exchanges],
    }  # fmt: skip
    plain = orjson.loads(orjson.dumps(body))
    report_id = content_id(plain, exclude=_UNHASHED)
    if signer is not None:
        message = REPORT_DOMAIN + report_id.encode("ascii")
        plain["signature"] = {"key_id": signer.key_id, "algorithm": signer.algorithm,
                              "value": encode_signature(signer.sign(message))}  # fmt: skip
    return AuditReport(report_id, MappingProxyType(plain))


def write_report(report: AuditReport, data_dir: str | Path) -> Path:
    """``<data_dir>/audits/<hex>.json`` (atomic), its path."""
    from llmseal.trust.keydir import write_atomic

    folder = Path(data_dir) / "audits"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{report.report_id.removeprefix('sha256:')}.json"
    write_atomic(path, report.to_json())
    return path


def load_report(source: str | Path | bytes) -> AuditReport:
    """Parse a report (a path or its bytes); AuditIntegrityError if its id does not match."""
    if isinstance(source, bytes):
        data = source
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read the audit report {source}: {exc.strerror}") from exc
    try:
        parsed = loads(data)
    except ContentError as exc:
        raise InputError(f"an audit report must be JSON: {exc}") from exc
    if not isinstance(parsed, dict) or parsed.get("type") != REPORT_TYPE:
        raise InputError("not an llmseal audit report")
    missing = [m for m in ("report_id", "verdict", "families", "exchanges", "references",
                           "rates") if m not in parsed]  # fmt: skip
    if missing:
        raise InputError(f"not an audit report: missing {', '.join(missing)}")
    _check_shape(parsed)
    claimed = parsed["report_id"]
    actual = content_id(parsed, exclude=_UNHASHED)
    if not isinstance(claimed, str) or not hmac.compare_digest(claimed, actual):
        raise AuditIntegrityError(f"audit report {claimed!r} does not match its content ({actual})",
                                  code="hash_mismatch")  # fmt: skip
    body = {k: v for k, v in parsed.items() if k != "report_id"}
    return AuditReport(actual, MappingProxyType(body))


def _check_shape(parsed: Mapping[str, Any]) -> None:
    """InputError for members of the wrong JSON type: a report is hostile input.

    Its id only proves the content is what was hashed, not that it is well formed,
    so a re-hashed report with (say) a string for ``exchanges`` must still fail as
    input, never as a crash in whoever re-checks it (``audit report verify``,
    ``bundle verify``).
    """

    def objects(value: Any) -> bool:
        return all(isinstance(v, Mapping) for v in value)

    problems = []
    if not isinstance(parsed["exchanges"], list) or not objects(parsed["exchanges"]):
        problems.append("'exchanges' must be an array of objects")
    families = parsed["families"]
    if not isinstance(families, Mapping) or not objects(families.values()):
        problems.append("'families' must be an object of objects")
    if parsed["verdict"] not in {o.value for o in Outcome}:
        problems.append(f"'verdict' must be one of {sorted(o.value for o in Outcome)}")
    references = parsed["references"]
    if not isinstance(references, Mapping) or not all(
        isinstance(v, str) for v in references.values()
    ):
        problems.append("'references' must be an object of reference ids")
    rates = parsed["rates"]
    numbers = (int, float)
    if not isinstance(rates, Mapping) or not all(
        isinstance(rates.get(k), numbers) and not isinstance(rates.get(k), bool)
        for k in ("alpha", "beta", "min_effect")
    ):
        problems.append("'rates' must give numbers alpha, beta and min_effect")
    ids = parsed.get("receipt_ids", [])
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        problems.append("'receipt_ids' must be an array of strings")
    if "signature" in parsed and not isinstance(parsed["signature"], Mapping):
        problems.append("'signature' must be an object")
    if problems:
        raise InputError(f"not an audit report: {'; '.join(problems)}")
