"""``llmseal verify``: verify a receipt offline, from a key set, DNS or an X.509 chain.

Key sources:

* ``--keys KEYSET``: a published key set (file or URL); a ``--policy`` may list
  key sets instead;
* ``--dns``: the key's ``v=llmsig1`` TXT record, DNSSEC-validated (after
  ``--keys`` when both are given);
* X.509 (``--name``/``--domain`` pin the certificate name; the chain comes from
  ``--chain`` or the response's ``receipt_evidence.x5c``; anchors from
  ``--anchors`` or the system trust store; ``--crl`` makes revocation checking
  required);
* ``--llm-sign``: the input is an OpenAI response with an llm_sign envelope.

``--log-vkey`` (with ``--proof`` or ``--log-url``, or the response's own
``receipt_evidence.log``) checks that the receipt is in a trusted transparency log
(:mod:`llmseal.cli.log._verify_log`).

``--policy`` adds relying-party rules on top of any receipt mode.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

import click
from rich.text import Text

from llmseal.cli._common import (
    now,
    out_console,
    parse_time,
    print_json,
    read_input,
    read_json,
)
from llmseal.cli.log._verify_log import check_log, log_verify_options
from llmseal.cli.verify._document import read_document
from llmseal.cli.verify._print import print_policy, print_verification, verification_report
from llmseal.core.keyset import KeyResolver
from llmseal.core.policy import Policy, PolicyResult
from llmseal.core.receipt import Receipt
from llmseal.core.verify import Content, Verification, verify_receipt
from llmseal.errors import ConfigError, InputError
from llmseal.trust.keysource import KeySources, load_keyset, policy_sources

__all__ = ["verify"]


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
@log_verify_options
def verify(receipt_path: str, **options: Any) -> None:  # fmt: skip
    """Verify RECEIPT.json. Exit 0 iff valid (and admitted), 1 otherwise, 2 if unusable.

    RECEIPT.json may also be a response carrying a top-level "receipt" (as the
    gateway returns it), or a stream saved with `curl -N` (SSE): then the
    response itself is checked as the output. With --llm-sign it is an OpenAI
    response carrying an llm_sign envelope.
    """
    o = _Options(options)
    document, streamed = read_document(receipt_path)
    if o.llm_sign:
        _verify_llm_sign(document, o)
    policy = Policy.load(o.policy_path) if o.policy_path else None
    if policy is not None and _unsigned_response(document):
        _no_receipt(policy, o.as_json)
    receipt_obj, embedded = _split_envelope(document)
    embedded_output: Content | None = embedded if streamed is None else streamed
    if receipt_obj is None or receipt_obj == {}:
        raise InputError(f"{receipt_path} holds no receipt")
    receipt = Receipt.from_dict(receipt_obj)
    prompt: Content | None = read_input(o.prompt_path, "request") if o.prompt_path else None
    output: Content | None = read_input(o.output_path, "response") if o.output_path else None
    if output is None and embedded_output is not None:
        if o.raw:
            raise InputError("--raw needs --output: a response with an embedded receipt is JSON")
        output = embedded_output
    # The log proof first: a witnessed one gives the proven time revocation is judged at.
    logged = check_log(o.log_options, document, receipt_obj, policy)
    proven_at = logged.proven_at if logged is not None else None
    if o.x509_mode:
        result, report = _verify_x509(document, receipt, prompt, output, o, proven_at)
    else:
        keys = _key_sources(o, policy)
        result = verify_receipt(
            receipt, keys, prompt=prompt, output=output, raw=o.raw, proven_at=proven_at
        )
        report = verification_report(result)
        if not o.as_json:
            print_verification(result)
    verdict = (
        policy.check(
            result, at=now(), logged=bool(logged and logged.ok),
            log_reason=logged.message if logged else None,
            witnessed=bool(logged and logged.witnessed),
            witness_reason=logged.witness_message if logged else None,
        )
        if policy else None
    )  # fmt: skip
    if o.as_json:
        if logged is not None:
            report["log"] = logged.report
        if verdict is not None:
            report["policy"] = {"admitted": bool(verdict), "failures": list(verdict.failures)}
        print_json(report)
    else:
        if logged is not None:
            logged.print()
        if verdict is not None:
            print_policy(verdict)
    log_ok = logged is None or ((logged.ok or not logged.required) and logged.witness_ok)
    sys.exit(0 if result and log_ok and (verdict is None or verdict) else 1)


class _Options:
    """The command's options as attributes (one place for the mode rules)."""

    keys_source: str | None
    policy_path: str | None
    prompt_path: str | None
    output_path: str | None
    raw: bool
    as_json: bool
    use_dns: bool
    dns_name: str | None
    resolver: str | None
    trust_anchor: str | None
    dnssec: str
    chain_path: str | None
    anchors: tuple[str, ...]
    name: str | None
    domain: str | None
    crls: tuple[str, ...]
    llm_sign: bool
    issuer: str | None
    at: str | None

    def __init__(self, options: dict[str, Any]) -> None:
        self.__dict__.update(options)
        names = ("log_vkeys", "proof_path", "log_url", "witness_policy")
        self.log_options = {k: options[k] for k in names}
        pinned = bool(self.chain_path or self.name or self.domain)
        # Anchors or CRLs alone also mean X.509 (and then the missing name is the error).
        self.x509_mode = pinned or bool(
            (self.anchors or self.crls) and not (self.keys_source or self.use_dns)
        )
        dns_options = (self.dns_name, self.resolver, self.trust_anchor)
        if not self.use_dns and any(dns_options):
            raise click.UsageError("--dns-name, --resolver and --trust-anchor need --dns")
        if pinned and (self.keys_source or self.use_dns):
            raise InputError("give either --keys/--dns or an X.509 chain (--chain/--name/--domain)")
        if self.llm_sign and self.policy_path:
            raise click.UsageError("--policy applies to receipts, not to --llm-sign envelopes")


def _key_sources(o: _Options, policy: Policy | None) -> KeyResolver:
    if o.keys_source:
        sources: list[KeyResolver] = [load_keyset(o.keys_source)]
    else:
        sources = policy_sources(policy, cached=False) if policy else []
    if o.use_dns:
        sources.append(_dns_source(o.dns_name, o.resolver, o.trust_anchor, o.dnssec))
    if not sources:
        raise InputError(
            "no key source: give --keys KEYSET, --dns, an X.509 --name/--domain, "
            "or a --policy with keysets"
        )
    return sources[0] if len(sources) == 1 else KeySources(*sources)


def _verify_x509(
    document: Any,
    receipt: Receipt,
    prompt: Content | None,
    output: Content | None,
    o: _Options,
    proven_at: datetime | None = None,
) -> tuple[Verification, dict[str, Any]]:
    from llmseal.cli.verify import _x509 as x509

    outcome = x509.run_x509(
        document, receipt, x509.build_validator(o.anchors, o.crls), chain_path=o.chain_path,
        name=o.name, domain=o.domain, prompt=prompt, output=output, raw=o.raw,
        proven_at=proven_at,
    )  # fmt: skip
    if not o.as_json:
        print_verification(outcome.verification)
        x509.print_x509(outcome)
    return outcome.verification, outcome.to_dict()


def _verify_llm_sign(document: Any, o: _Options) -> None:
    from llmseal.cli.verify import _x509 as x509

    request = read_json(o.prompt_path, "request") if o.prompt_path else None
    verdict = x509.run_llm_sign(
        document, x509.build_validator(o.anchors, o.crls), issuer=o.issuer, request=request,
        at=parse_time(o.at, "--at"),
    )  # fmt: skip
    if o.as_json:
        print_json(verdict.to_dict())
    else:
        x509.print_llm_sign(verdict)
    sys.exit(0 if verdict else 1)


def _dns_source(
    name: str | None, resolver: str | None, trust_anchor: str | None, dnssec: str
) -> KeyResolver:
    try:  # dnspython is the optional [dns] extra
        from llmseal.trust.dns.dnssec import load_trust_anchors
        from llmseal.trust.dns.source import DnsKeySource
    except ImportError as exc:
        raise ConfigError(f"--dns needs dnspython: pip install 'llmseal[dns]' ({exc})") from exc

    if dnssec == "required" and trust_anchor is None:
        raise click.UsageError("--dnssec required needs --trust-anchor FILE (or --dnssec off)")
    anchors = load_trust_anchors(trust_anchor) if trust_anchor else None
    mode: Literal["required", "off"] = "required" if dnssec == "required" else "off"
    return DnsKeySource(resolver, trust_anchors=anchors, dnssec=mode, name=name)


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
        print_policy(PolicyResult(tuple(failures)))
    sys.exit(1 if failures else 0)


def _split_envelope(document: Any) -> tuple[Any, Mapping[str, Any] | None]:
    """A bare receipt, or a response object whose ``receipt`` member is one."""
    if isinstance(document, Mapping) and "signature" not in document:
        inner = document.get("receipt")
        if isinstance(inner, Mapping):
            return inner, document
    return document, None
