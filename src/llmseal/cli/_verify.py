"""``llmseal verify``: verify a receipt offline against a key set."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import click
from rich.text import Text

from llmseal.cli._common import out_console, print_json, read_input, read_json
from llmseal.core.receipt import Receipt
from llmseal.core.verify import Content, Status, Verification, verify_receipt
from llmseal.errors import InputError
from llmseal.trust.keysource import load_keyset

__all__ = ["verify"]

_STYLE = {
    Status.VALID: "bold green",
    Status.TAMPERED: "bold red",
    Status.UNKNOWN_KEY: "bold yellow",
    Status.REVOKED: "bold red",
}


@click.command()
@click.argument("receipt_path", metavar="RECEIPT.json")
@click.option("--keys", "keys_source", required=True, metavar="KEYSET", help="Key set file or URL.")
@click.option(
    "--prompt", "prompt_path", metavar="REQUEST.json", help="The request the receipt covers."
)
@click.option("--output", "output_path", metavar="RESPONSE.json", help="The response it covers.")
@click.option("--raw", is_flag=True, help="Hash content as raw bytes, not as JCS.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def verify(
    receipt_path: str,
    keys_source: str,
    prompt_path: str | None,
    output_path: str | None,
    raw: bool,
    as_json: bool,
) -> None:
    """Verify RECEIPT.json. Exit 0 iff valid, 1 for any other status, 2 if unusable.

    RECEIPT.json may also be a response carrying a top-level "receipt" (as the
    gateway returns it): then the response itself is checked as the output.
    """
    document = read_json(receipt_path, "receipt")
    receipt_obj, embedded_output = _split_envelope(document)
    receipt = Receipt.from_dict(receipt_obj)
    keyset = load_keyset(keys_source)
    prompt: Content | None = read_input(prompt_path, "request") if prompt_path else None
    output: Content | None = read_input(output_path, "response") if output_path else None
    if output is None and embedded_output is not None:
        if raw:
            raise InputError("--raw needs --output: a response with an embedded receipt is JSON")
        output = embedded_output
    result = verify_receipt(receipt, keyset, prompt=prompt, output=output, raw=raw)
    if as_json:
        print_json(result.to_dict())
    else:
        _print_human(result)
    sys.exit(0 if result else 1)


def _split_envelope(document: Any) -> tuple[Any, Mapping[str, Any] | None]:
    """A bare receipt, or a response object whose ``receipt`` member is one."""
    if isinstance(document, Mapping) and "signature" not in document:
        inner = document.get("receipt")
        if isinstance(inner, Mapping):
            return inner, document
    return document, None


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
