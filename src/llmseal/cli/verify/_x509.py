"""The X.509 and llm_sign halves of ``llmseal verify`` (kept apart to keep _verify small)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rich.text import Text

from llmseal.cli._common import out_console, read_input, terminal_safe
from llmseal.compat.llm_sign import LlmSignVerification, verify_llm_sign
from llmseal.core.receipt import Receipt
from llmseal.core.verify import Content
from llmseal.errors import InputError
from llmseal.trust.x509.chain import ChainValidator, TrustAnchors
from llmseal.trust.x509.pem import chain_from_evidence, load_anchor_file, load_crl_file
from llmseal.trust.x509.source import X509Verification, verify_receipt_x509

__all__ = ["build_validator", "print_llm_sign", "print_x509", "run_llm_sign", "run_x509"]


def build_validator(anchors: tuple[str, ...], crls: tuple[str, ...]) -> ChainValidator:
    """Explicit anchors (``--anchors``) or the system trust store; CRLs make revocation required."""
    if anchors:
        certs = [cert for path in anchors for cert in load_anchor_file(path)]
        trust = TrustAnchors(certs, source=", ".join(anchors))
    else:
        trust = TrustAnchors.system()
    return ChainValidator(
        trust, crls=[load_crl_file(path) for path in crls], require_crl=bool(crls)
    )


def run_x509(
    document: Any,
    receipt: Receipt,
    validator: ChainValidator,
    *,
    chain_path: str | None,
    name: str | None,
    domain: str | None,
    prompt: Content | None,
    output: Content | None,
    raw: bool,
    proven_at: datetime | None = None,
) -> X509Verification:
    """Verify ``receipt`` with the chain from ``--chain`` or the document's ``receipt_evidence``
    (at ``proven_at`` when a witnessed log proof gave one)."""
    if not name and not domain:
        raise InputError(
            "pin the certificate name with --name DNSNAME or --domain DOMAIN "
            "(it is never taken from the artifact)"
        )
    chain: Any = read_input(chain_path, "certificate chain") if chain_path else None
    if chain is None:
        chain = chain_from_evidence(document)
    if chain is None:
        raise InputError("no certificate chain: pass --chain CHAIN.pem (or a response with x5c)")
    return verify_receipt_x509(
        receipt,
        chain,
        validator,
        name=name,
        domain=domain,
        prompt=prompt,
        output=output,
        raw=raw,
        proven_at=proven_at,
    )


def run_llm_sign(
    document: Any,
    validator: ChainValidator,
    *,
    issuer: str | None,
    request: Any,
    at: datetime,
) -> LlmSignVerification:
    """Verify an OpenAI response carrying an ``llm_sign`` envelope."""
    if request is not None and not isinstance(request, Mapping):
        raise InputError("the request (--prompt) must be a JSON object")
    return verify_llm_sign(document, validator, at=at, issuer=issuer, request=request)


def print_x509(result: X509Verification) -> None:
    chain = result.chain.describe() if result.chain else {}
    state = result.failure.value if result.failure else "ok"
    safe = terminal_safe  # certificate names come from the wire
    out_console.print(
        Text.assemble(
            f"  x509     {state}: {safe(result.name)}",
            f"\n  leaf     {safe(chain['subject'])} (serial {chain['serial'][:16]})"
            if chain
            else "",
            f"\n  root     {safe(chain['root'])}" if chain else "",
        )
    )


def print_llm_sign(result: LlmSignVerification) -> None:
    style = "bold green" if result else "bold red"
    checked = "request and response" if result.request_checked else "response"
    out_console.print(
        Text.assemble(
            (result.status.value, style),
            "  llm_sign response",
            f"\n  issuer   {terminal_safe(result.issuer or '-')}",
            f"\n  key      {terminal_safe(result.key_id or '-')}",
            f"\n  content  {checked}",
            f"\n  x509     {result.failure.value if result.failure else 'ok'}",
        )
    )
    for reason in result.reasons:
        out_console.print(Text(terminal_safe(f"  - {reason}")))
