"""``llmseal verify``: verify a receipt against a key set, or keys found through DNS."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, Literal

import click
from rich.text import Text

from llmseal.cli._common import out_console, print_json, read_input, read_json
from llmseal.core.keyset import KeyResolver
from llmseal.core.receipt import Receipt
from llmseal.core.verify import Content, Status, Verification, verify_receipt
from llmseal.errors import ConfigError, InputError
from llmseal.trust.keysource import KeySources, load_keyset

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
@click.option("--dns", "use_dns", is_flag=True, help="Find the key in a v=llmsig1 DNS TXT record.")
@click.option("--dns-name", metavar="NAME", help="The TXT record's name (default: from key_id).")
@click.option("--resolver", metavar="HOST:PORT", help="DNS resolver (default: the system's).")
@click.option(
    "--trust-anchor",
    metavar="FILE",
    help="DNSSEC trust anchor: DS/DNSKEY zone-file lines or a BIND trust-anchors block.",
)
@click.option(
    "--dnssec",
    type=click.Choice(["required", "off"]),
    default="required",
    show_default=True,
    help="Validate the TXT record with DNSSEC (off: trust the resolver blindly).",
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
    use_dns: bool,
    dns_name: str | None,
    resolver: str | None,
    trust_anchor: str | None,
    dnssec: str,
    prompt_path: str | None,
    output_path: str | None,
    raw: bool,
    as_json: bool,
) -> None:
    """Verify RECEIPT.json. Exit 0 iff valid, 1 for any other status, 2 if unusable.

    RECEIPT.json may also be a response carrying a top-level "receipt" (as the
    gateway returns it): then the response itself is checked as the output.
    With --dns the key comes from DNS (and from --keys first, when given too).
    """
    dns_options = (dns_name, resolver, trust_anchor)
    if not use_dns and any(dns_options):
        raise click.UsageError("--dns-name, --resolver and --trust-anchor need --dns")
    if not use_dns and keys_source is None:
        raise click.UsageError("give --keys KEYSET, or --dns")
    document = read_json(receipt_path, "receipt")
    receipt_obj, embedded_output = _split_envelope(document)
    receipt = Receipt.from_dict(receipt_obj)
    sources: list[KeyResolver] = [load_keyset(keys_source)] if keys_source else []
    if use_dns:
        sources.append(_dns_source(dns_name, resolver, trust_anchor, dnssec))
    keyset = sources[0] if len(sources) == 1 else KeySources(*sources)
    prompt: Content | None = read_input(prompt_path, "request") if prompt_path else None
    output: Content | None = read_input(output_path, "response") if output_path else None
    if output is None and embedded_output is not None:
        if raw:
            raise InputError("--raw needs --output: a response with an embedded receipt is JSON")
        output = embedded_output
    result = verify_receipt(receipt, keyset, prompt=prompt, output=output, raw=raw)
    if as_json:
        out = result.to_dict()
        if result.key is not None and result.key.extra.get("source") == "dns":
            out["key_source"] = dict(result.key.extra)
        print_json(out)
    else:
        _print_human(result)
    sys.exit(0 if result else 1)


def _dns_source(
    name: str | None, resolver: str | None, trust_anchor: str | None, dnssec: str
) -> KeyResolver:
    try:  # dnspython is the optional [dns] extra
        from llmseal.trust.dns import DnsKeySource
        from llmseal.trust.dnssec import load_trust_anchors
    except ImportError as exc:
        raise ConfigError(f"--dns needs dnspython: pip install 'llmseal[dns]' ({exc})") from exc

    if dnssec == "required" and trust_anchor is None:
        raise click.UsageError("--dnssec required needs --trust-anchor FILE (or --dnssec off)")
    anchors = load_trust_anchors(trust_anchor) if trust_anchor else None
    mode: Literal["required", "off"] = "required" if dnssec == "required" else "off"
    return DnsKeySource(resolver, trust_anchors=anchors, dnssec=mode, name=name)


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
    extra = result.key.extra if result.key else {}
    if extra.get("source") == "dns":
        out_console.print(Text(f"  dns      {extra['dns_name']} (DNSSEC {extra['dnssec']})"))
    for reason in result.reasons:
        out_console.print(Text(f"  - {reason}"))
