"""How ``llmseal verify`` shows a verdict: the human lines and the ``--json`` report."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from llmseal.cli._common import out_console, terminal_safe
from llmseal.core.policy import PolicyResult
from llmseal.core.verify import Status, Verification

__all__ = ["print_policy", "print_verification", "verification_report"]

_STYLE = {
    Status.VALID: "bold green",
    Status.TAMPERED: "bold red",
    Status.UNKNOWN_KEY: "bold yellow",
    Status.REVOKED: "bold red",
}


def verification_report(result: Verification) -> dict[str, Any]:
    report = result.to_dict()
    extra = result.key.extra if result.key else {}
    if extra.get("source") == "dns":
        report["key_source"] = dict(extra)
    return report


def print_policy(verdict: PolicyResult) -> None:
    if verdict:
        out_console.print(Text("  policy   admitted", style="green"))
        return
    out_console.print(Text("  policy   refused", style="bold red"))
    for failure in verdict.failures:
        out_console.print(Text(terminal_safe(f"  - rule {failure}")))


def print_verification(result: Verification) -> None:
    receipt = result.receipt
    algorithm = result.key.public_key.algorithm if result.key else "?"
    checked = ", ".join(result.content_checked) or "not supplied (hashes not checked)"
    safe = terminal_safe
    out_console.print(
        Text.assemble(
            (result.status.value, _STYLE[result.status]),
            "  receipt ",
            (safe(receipt.receipt_id), "bold"),
            f"\n  key      {safe(receipt.key_id)} ({algorithm})",
            f"\n  issued   {safe(receipt.issued_at)}",
            f"\n  model    {safe(receipt.model_id)}",
            f"\n  content  {checked}",
        )
    )
    extra = result.key.extra if result.key else {}
    if extra.get("source") == "dns":
        out_console.print(Text(safe(f"  dns      {extra['dns_name']} (DNSSEC {extra['dnssec']})")))
    for reason in result.reasons:
        out_console.print(Text(safe(f"  - {reason}")))
