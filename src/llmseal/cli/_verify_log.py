"""``llmseal verify --log-vkey``: is the receipt in a log the verifier trusts?

The proof comes from ``--proof FILE`` (a ``.tlog-proof``), else from the
document's ``receipt_evidence.log`` (what ``--log-inline`` gateways send), else
from ``--log-url URL`` (``GET URL/proof/<leaf hash>``). With ``--log-vkey`` (or a
policy with ``require_logged``) a missing or failing proof makes the exit 1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import click
import httpx
from rich.text import Text

from llmseal.cli._common import out_console, read_input
from llmseal.core.policy import Policy
from llmseal.errors import LogError, NetworkError
from llmseal.log.entry import receipt_leaf_hash
from llmseal.log.trust import LogTrust

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

    def print(self) -> None:
        style = "green" if self.ok else "bold red"
        out_console.print(Text(f"  log      {self.message}", style=style))


def check_log(
    options: Mapping[str, Any], document: Any, receipt: Mapping[str, Any], policy: Policy | None
) -> LogOutcome | None:
    """Check the log proof when asked to (``--log-vkey`` or a policy); None otherwise."""
    vkeys = tuple(options.get("log_vkeys") or ()) + (policy.logs if policy else ())
    required = bool(options.get("log_vkeys")) or bool(policy and policy.require_logged)
    if not vkeys:
        if required:  # require_logged without trusted logs can never pass
            return LogOutcome(True, False, {"verified": False}, "no trusted log keys (logs = [])")
        return None
    trust = LogTrust.from_vkeys(vkeys)
    proof, message = _find_proof(options, document, receipt)
    if proof is None:
        return LogOutcome(required, False, {"verified": False, "error": message}, message)
    try:
        entry = trust.check(receipt, proof)
    except LogError as exc:
        return LogOutcome(
            required, False, {"verified": False, "error": str(exc)}, f"NOT PROVEN: {exc}"
        )
    report = {
        "verified": True,
        "origin": entry.origin,
        "index": entry.index,
        "tree_size": entry.tree_size,
    }
    message = f"entry {entry.index} of {entry.origin} (checkpoint of size {entry.tree_size})"
    return LogOutcome(required, True, report, message)


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
