"""The verifying client's transparency-log check (``log_vkeys=``, ``require_logged=``).

A gateway run with ``--log-inline`` sends each receipt's tlog-proof beside it
(``receipt_evidence.log``). Given the logs it trusts, the client checks that proof
against the receipt exactly as delivered; a proof that does not verify fails the
answer (a gateway does not send a broken proof by accident), and with
``require_logged`` an answer without one fails too. A verified proof is kept in
the evidence store with the receipt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmseal.errors import LogError, PolicyError, VerificationError
from llmseal.log.entry import receipt_entry
from llmseal.log.tree.proof import ProvenEntry
from llmseal.log.trust import LogTrust
from llmseal.log.witness.quorum import verify_witnessed_proof
from llmseal.log.witness.witnesspolicy import WitnessPolicy

__all__ = ["LogCheck"]


@dataclass(frozen=True)
class LogCheck:
    trust: LogTrust
    required: bool = False
    witnesses: WitnessPolicy | None = None
    require_witnessed: bool = False

    def check(
        self, receipt: Mapping[str, Any], evidence: Mapping[str, Any] | None
    ) -> tuple[ProvenEntry | None, VerificationError | None]:
        """Where the receipt is logged (or None), and the failure to raise (or None)."""
        rid = receipt.get("receipt_id")
        proof = evidence.get("log") if isinstance(evidence, Mapping) else None
        if not isinstance(proof, str):
            if self.required:
                return None, PolicyError(
                    f"receipt {rid} comes without a transparency-log proof; one is required",
                    status="unlogged",
                )
            return None, None
        if not self.trust and self.witnesses is None:
            return None, None  # nothing to check it against
        try:
            if self.witnesses is None:
                return self.trust.check(receipt, proof), None
            keys = [key for keys in self.trust.logs.values() for key in keys]
            judged = verify_witnessed_proof(proof, receipt_entry(receipt),
                                            policy=self.witnesses, log_verifiers=keys)  # fmt: skip
        except LogError as exc:
            return None, VerificationError(
                f"receipt {rid} carries a log proof that does not verify: {exc}",
                status="log_proof_invalid",
            )
        if self.require_witnessed and not judged.witnessed:
            return judged.entry, PolicyError(
                f"receipt {rid}: its log checkpoint is not cosigned by the witness quorum "
                f"(cosigned by {', '.join(sorted(judged.witnessed.cosigned)) or 'none'})",
                status="unwitnessed",
            )
        return judged.entry, None
