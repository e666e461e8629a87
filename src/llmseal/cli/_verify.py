"""``llmseal verify``: verify a receipt offline against a key set or an X.509 chain.

Key sources, one per run:

* ``--keys KEYSET``: a published key set (file or URL);
* X.509 (``--name``/``--domain`` pin the certificate name; the chain comes from
  ``--chain`` or the response's ``receipt_evidence.x5c``; anchors from
  ``--anchors`` or the system trust store; ``--crl`` makes revocation checking
  required);
* ``--llm-sign``: the input is an OpenAI response with an llm_sign envelope.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import click
from rich.text import Text

from llmseal.cli._common import out_console, parse_time, print_json, read_input, read_json
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
@click.option("--keys", "keys_source", metavar="KEYSET", help="Key set file or URL.")
@click.option(
    "--prompt", "prompt_path", metavar="REQUEST.json", help="The request the receipt covers."
)
@click.option("--output", "output_path", metavar="RESPONSE.json", help="The response it covers.")
@click.option("--raw", is_flag=True, help="Hash content as raw bytes, not as JCS.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--chain", "chain_path", metavar="CHAIN.pem", help="X.509 chain, leaf first.")
@click.option(
    "--anchors", multiple=True, metavar="CA.pem", help="Trust anchors [system trust store]."
)
@click.option("--name", metavar="DNSNAME", help="The DNS name the leaf must carry (pinned).")
@click.option("--domain", metavar="DOMAIN", help="Pin <model_id>.models.DOMAIN as the name.")
@click.option("--crl", "crls", multiple=True, metavar="CRL", help="CRL(s); revocation required.")
@click.option("--llm-sign", "llm_sign", is_flag=True, help="Verify an llm_sign response.")
@click.option("--issuer", metavar="HOST", help="llm_sign: the expected issuer (pinned).")
@click.option("--at", "at", metavar="TIME", help="llm_sign: validation time [now].")
def verify(
    receipt_path: str,
    keys_source: str | None,
    prompt_path: str | None,
    output_path: str | None,
    raw: bool,
    as_json: bool,
    chain_path: str | None,
    anchors: tuple[str, ...],
    name: str | None,
    domain: str | None,
    crls: tuple[str, ...],
    llm_sign: bool,
    issuer: str | None,
    at: str | None,
) -> None:
    """Verify RECEIPT.json. Exit 0 iff valid, 1 for any other status, 2 if unusable.

    RECEIPT.json may also be a response carrying a top-level "receipt" (as the
    gateway returns it): then the response itself is checked as the output.
    With --llm-sign it is an OpenAI response carrying an llm_sign envelope.
    """
    from llmseal.cli import _verify_x509 as x509

    document = read_json(receipt_path, "receipt")
    if llm_sign:
        request = read_json(prompt_path, "request") if prompt_path else None
        validator = x509.build_validator(anchors, crls)
        verdict = x509.run_llm_sign(
            document, validator, issuer=issuer, request=request, at=parse_time(at, "--at")
        )
        if as_json:
            print_json(verdict.to_dict())
        else:
            x509.print_llm_sign(verdict)
        sys.exit(0 if verdict else 1)
    receipt_obj, embedded_output = _split_envelope(document)
    receipt = Receipt.from_dict(receipt_obj)
    prompt: Content | None = read_input(prompt_path, "request") if prompt_path else None
    output: Content | None = read_input(output_path, "response") if output_path else None
    if output is None and embedded_output is not None:
        if raw:
            raise InputError("--raw needs --output: a response with an embedded receipt is JSON")
        output = embedded_output
    if keys_source and (chain_path or name or domain):
        raise InputError("give either --keys or an X.509 chain (--chain/--name/--domain)")
    if keys_source:
        result = verify_receipt(
            receipt, load_keyset(keys_source), prompt=prompt, output=output, raw=raw
        )
        if as_json:
            print_json(result.to_dict())
        else:
            _print_human(result)
        sys.exit(0 if result else 1)
    if not (chain_path or name or domain or anchors):
        raise InputError("no key source: pass --keys KEYSET, or --name/--domain for X.509")
    outcome = x509.run_x509(
        document,
        receipt,
        x509.build_validator(anchors, crls),
        chain_path=chain_path,
        name=name,
        domain=domain,
        prompt=prompt,
        output=output,
        raw=raw,
    )
    if as_json:
        print_json(outcome.to_dict())
    else:
        _print_human(outcome.verification)
        x509.print_x509(outcome)
    sys.exit(0 if outcome else 1)


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
