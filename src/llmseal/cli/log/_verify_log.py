"""``llmseal verify --log-vkey``: is the receipt in a log the verifier trusts?

The proof comes from ``--proof FILE`` (a ``.tlog-proof``), else from the
document's ``receipt_evidence.log`` (what ``--log-inline`` gateways send), else
from ``--log-url URL`` (``GET URL/proof/<leaf hash>``). With ``--log-vkey`` (or a
policy with ``require_logged``) a missing or failing proof makes the exit 1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import click
import httpx
from rich.text import Text

from llmseal.cli._common import now, out_console, read_input
from llmseal.cli.log._verify_witness import load_witness_policy, witness_required, witness_summary
from llmseal.core.policy import Policy
from llmseal.errors import LogError, NetworkError
from llmseal.log.entry import receipt_entry, receipt_leaf_hash
from llmseal.log.trust import LogTrust
from llmseal.log.witness.quorum import Witnessed, verify_witnessed_proof

__all__ = ["LogOutcome", "check_log", "log_verify_options"]

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = (
    click.option(
        "--log-vkey",
        "log_vkeys",
        multiple=True,
        metavar="VKEY",
        help="A transparency log you trust (repeatable); the receipt must be in one.",
    ),
    click.option("--proof", "proof_path", metavar="FILE", help="The receipt's tlog-proof file."),
    click.option("--log-url", metavar="URL", help="Fetch the proof from this log."),
    click.option(
        "--witness-policy",
        type=click.Path(dir_okay=False),
        metavar="FILE",
        help="C2SP tlog-policy: the proof's checkpoint must satisfy its witness quorum; "
        "revocation and certificates are then judged at the proven time.",
    ),
)


def log_verify_options(f: F) -> F:
    for option in reversed(_OPTIONS):
        f = option(f)
    return f


@dataclass(frozen=True)
class LogOutcome:
    """The log verdict: ``ok`` with where the entry is, or why not."""

    required: bool
    ok: bool
    report: dict[str, Any]
    message: str
    witnessed: Witnessed | None = None
    witness_required: bool = False

    @property
    def proven_at(self) -> datetime | None:
        """The receipt's proven time, when the witness quorum cosigned its checkpoint."""
        return self.witnessed.proven_at if self.witnessed is not None else None

    @property
    def witness_ok(self) -> bool:
        return not self.witness_required or bool(self.witnessed)

    @property
    def witness_message(self) -> str:
        return witness_summary(self.witnessed)[1] if self.witnessed else self.message

    def print(self) -> None:
        style = "green" if self.ok else "bold red"
        out_console.print(Text(f"  log      {self.message}", style=style))
        if self.witnessed is not None:
            style = "green" if self.witnessed else "bold red"
            out_console.print(Text(f"  witness  {self.witness_message}", style=style))


def check_log(
    options: Mapping[str, Any], document: Any, receipt: Mapping[str, Any], policy: Policy | None
) -> LogOutcome | None:
    """Check the log proof when asked to (``--log-vkey`` or a policy); None otherwise."""
    witnesses = load_witness_policy(options, policy)
    vkeys = tuple(options.get("log_vkeys") or ()) + (policy.logs if policy else ())
    vkeys += tuple(str(log.vkey) for log in witnesses.logs) if witnesses else ()
    must_witness = witness_required(options, policy)
    required = bool(options.get("log_vkeys")) or bool(policy and policy.require_logged)
    required = required or must_witness
    if not vkeys:
        if required:  # require_logged without trusted logs can never pass
            return LogOutcome(True, False, {"verified": False}, "no trusted log keys (logs = [])")
        return None
    trust = LogTrust.from_vkeys(vkeys)
    proof, message = _find_proof(options, document, receipt)
    if proof is None:
        return LogOutcome(required, False, {"verified": False, "error": message}, message)
    witnessed = None
    try:
        if witnesses is None:
            entry = trust.check(receipt, proof)
        else:
            keys = [key for keys in trust.logs.values() for key in keys]
            judged = verify_witnessed_proof(proof, receipt_entry(receipt), policy=witnesses,
                                            log_verifiers=keys, at=now())  # fmt: skip
            entry, witnessed = judged.entry, judged.witnessed
    except LogError as exc:
        return LogOutcome(
            required, False, {"verified": False, "error": str(exc)}, f"NOT PROVEN: {exc}",
            witness_required=must_witness,
        )  # fmt: skip
    report = {
        "verified": True,
        "origin": entry.origin,
        "index": entry.index,
        "tree_size": entry.tree_size,
    }
    if witnessed is not None:
        report["witnessed"] = witness_summary(witnessed)[0]
    message = f"entry {entry.index} of {entry.origin} (checkpoint of size {entry.tree_size})"
    return LogOutcome(required, True, report, message, witnessed, must_witness)


def _find_proof(
    options: Mapping[str, Any], document: Any, receipt: Mapping[str, Any]
) -> tuple[bytes | None, str]:
    """The proof bytes, or None and why there is none."""
    if options.get("proof_path"):
        return read_input(options["proof_path"], "proof"), ""
    evidence = document.get("receipt_evidence") if isinstance(document, Mapping) else None
    if isinstance(evidence, Mapping) and isinstance(evidence.get("log"), str):
        return evidence["log"].encode("utf-8"), ""
    url = options.get("log_url")
    if not url:
        return None, "no log proof (give --proof FILE or --log-url URL)"
    target = f"{url.rstrip('/')}/proof/{receipt_leaf_hash(receipt).hex()}"
    try:
        answer = httpx.get(target, timeout=10.0)
    except httpx.HTTPError as exc:
        raise NetworkError(f"cannot fetch the proof from {url}: {exc}") from exc
    if answer.status_code == 404:
        pending = "retry-after" in answer.headers
        why = "has it, but no checkpoint covers it yet" if pending else "does not have it"
        return None, f"NOT LOGGED: the log at {url} {why}"
    if answer.status_code != 200:
        raise NetworkError(f"{target} answered HTTP {answer.status_code}")
    return answer.content, ""
