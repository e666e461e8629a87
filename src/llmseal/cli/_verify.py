"""``llmseal verify``: verify a receipt offline against a key set."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import click
from rich.text import Text

from llmseal.cli._common import now, out_console, print_json, read_input, read_json
from llmseal.core.policy import Policy, PolicyResult
from llmseal.core.receipt import Receipt
from llmseal.core.verify import Content, Status, Verification, verify_receipt
from llmseal.errors import InputError
from llmseal.trust.keysource import load_keyset
from llmseal.trust.multi import FirstMatch

__all__ = ["verify"]

_STYLE = {
    Status.VALID: "bold green",
    Status.TAMPERED: "bold red",
    Status.UNKNOWN_KEY: "bold yellow",
    Status.REVOKED: "bold red",
}


@click.command()
@click.argument("receipt_path", metavar="RECEIPT.json")
@click.option("--keys", "keys_source", metavar="KEYSET", help="Key set file or URL.")
@click.option(
    "--policy",
    "policy_path",
    metavar="POLICY.toml",
    help="Relying-party rules (issuers, models, max age...); exit 1 names the failed rule.",
)
@click.option(
    "--prompt", "prompt_path", metavar="REQUEST.json", help="The request the receipt covers."
)
@click.option("--output", "output_path", metavar="RESPONSE.json", help="The response it covers.")
@click.option("--raw", is_flag=True, help="Hash content as raw bytes, not as JCS.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def verify(
    receipt_path: str,
    keys_source: str | None,
    policy_path: str | None,
    prompt_path: str | None,
    output_path: str | None,
    raw: bool,
    as_json: bool,
) -> None:
    """Verify RECEIPT.json. Exit 0 iff valid, 1 for any other status, 2 if unusable.

    RECEIPT.json may also be a response carrying a top-level "receipt" (as the
    gateway returns it): then the response itself is checked as the output.
    """
    policy = Policy.load(policy_path) if policy_path else None
    sources = [keys_source] if keys_source else list(policy.keysets if policy else ())
    if not sources:
        raise click.UsageError("give --keys KEYSET (or a --policy that lists keysets)")
    document = read_json(receipt_path, "receipt")
    if policy is not None and _unsigned_response(document):
        _no_receipt(policy, as_json)
    receipt_obj, embedded_output = _split_envelope(document)
    if receipt_obj is None:
        raise InputError(f"{receipt_path} holds no receipt")
    receipt = Receipt.from_dict(receipt_obj)
    keyset = FirstMatch([load_keyset(source) for source in sources])
    prompt: Content | None = read_input(prompt_path, "request") if prompt_path else None
    output: Content | None = read_input(output_path, "response") if output_path else None
    if output is None and embedded_output is not None:
        if raw:
            raise InputError("--raw needs --output: a response with an embedded receipt is JSON")
        output = embedded_output
    result = verify_receipt(receipt, keyset, prompt=prompt, output=output, raw=raw)
    verdict = policy.check(result, at=now()) if policy else None
    if as_json:
        out = result.to_dict()
        if verdict is not None:
            out["policy"] = {"admitted": bool(verdict), "failures": list(verdict.failures)}
        print_json(out)
    else:
        _print_human(result)
        if verdict is not None:
            _print_policy(verdict)
    sys.exit(0 if result and (verdict is None or verdict) else 1)


def _unsigned_response(document: Any) -> bool:
    return (
        isinstance(document, Mapping) and "receipt" not in document and "signature" not in document
    )


def _no_receipt(policy: Policy, as_json: bool) -> None:
    """A response without a receipt, judged by the policy (exit 0 only if none is required)."""
    failures = (
        ["require_receipt: the response carries no receipt"] if policy.require_receipt else []
    )
    if as_json:
        print_json({"status": None, "policy": {"admitted": not failures, "failures": failures}})
    else:
        out_console.print(Text("no receipt"))
        _print_policy(PolicyResult(tuple(failures)))
    sys.exit(1 if failures else 0)


def _split_envelope(document: Any) -> tuple[Any, Mapping[str, Any] | None]:
    """A bare receipt, or a response object whose ``receipt`` member is one."""
    if isinstance(document, Mapping) and "signature" not in document:
        inner = document.get("receipt")
        if isinstance(inner, Mapping):
            return inner, document
    return document, None


def _print_policy(verdict: PolicyResult) -> None:
    if verdict:
        out_console.print(Text("  policy   admitted", style="green"))
        return
    out_console.print(Text("  policy   refused", style="bold red"))
    for failure in verdict.failures:
        out_console.print(Text(f"  - rule {failure}"))


def _print_human(result: Verification) -> None:
    receipt = result.receipt
    algorithm = result.key.public_key.algorithm if result.key else "?"
    checked = ", ".join(result.content_checked) or "not supplied (hashes not checked)"
    out_console.print(
        Text.assemble(
            (result.status.value, _STYLE[result.status]),
            "  receipt ",
            (receipt.receipt_id, "bold"),
            f"\n  key      {receipt.key_id} ({algorithm})",
            f"\n  issued   {receipt.issued_at}",
            f"\n  model    {receipt.model_id}",
            f"\n  content  {checked}",
        )
    )
    for reason in result.reasons:
        out_console.print(Text(f"  - {reason}"))
