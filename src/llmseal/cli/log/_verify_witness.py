"""``llmseal verify --witness-policy``: the log proof's checkpoint judged by a witness quorum.

The policy file (C2SP tlog-policy) comes from ``--witness-policy`` or the policy's
``[log] witness_policy``; its ``log`` lines are trusted logs too. When the quorum
cosigned the proof's checkpoint, the receipt has a *proven time* (the earliest
time a quorum had cosigned it) and revocation and X.509 validity are judged at
that time rather than at the signer's ``issued_at`` (docs/spec/witness.md §5).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from llmseal.core.policy import Policy
from llmseal.log.witness.quorum import Witnessed
from llmseal.log.witness.witnesspolicy import WitnessPolicy

__all__ = ["load_witness_policy", "witness_required", "witness_summary"]


def load_witness_policy(options: Mapping[str, Any], policy: Policy | None) -> WitnessPolicy | None:
    path = options.get("witness_policy") or (policy.witness_policy if policy else None)
    return None if path is None else WitnessPolicy.load(path)


def witness_required(options: Mapping[str, Any], policy: Policy | None) -> bool:
    return bool(options.get("witness_policy")) or bool(policy and policy.require_witnessed)


def _iso(stamp: int) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def witness_summary(witnessed: Witnessed) -> tuple[dict[str, Any], str]:
    """The JSON report and the one-line message for a judged checkpoint."""
    cosigned = {name: _iso(t) for name, t in sorted(witnessed.cosigned.items())}
    proven = witnessed.proven_at.strftime("%Y-%m-%dT%H:%M:%SZ") if witnessed.proven_at else None
    report = {"satisfied": witnessed.satisfied, "cosigned": cosigned, "proven_at": proven,
              "notes": list(witnessed.notes)}  # fmt: skip
    who = ", ".join(cosigned) or "no policy witness"
    if witnessed.satisfied:
        when = f", proven at {proven}" if proven else ""
        return report, f"witnessed: cosigned by {who} (quorum met{when})"
    return report, f"NOT WITNESSED: cosigned by {who}; the quorum is not met"
