"""``llmseal ca``: a lab's model-certificate authority (seed 000's X.509 hierarchy)."""

from __future__ import annotations

import click
from rich.table import Table
from rich.text import Text

from llmseal.cli._common import out_console, parse_time, print_json, print_table
from llmseal.core import _time
from llmseal.trust.keydir import KeyDirectory
from llmseal.trust.x509.ca import CertificateAuthority

__all__ = ["ca"]

_DIR = click.option(
    "--dir",
    "directory",
    required=True,
    type=click.Path(file_okay=False),
    help="CA directory (ca.json, root/intermediate certificates, 0600 keys).",
)
_AT = click.option("--at", "at", metavar="TIME", help="Time of the operation (RFC 3339); now.")
_REASONS = [
    "unspecified",
    "keyCompromise",
    "cACompromise",
    "affiliationChanged",
    "superseded",
    "cessationOfOperation",
    "privilegeWithdrawn",
]


@click.group()
def ca() -> None:
    """Run a model-certificate authority: root, intermediate, per-model leaves, CRLs."""


@ca.command("init")
@_DIR
@click.option("--domain", required=True, help="The lab's domain: leaves are <model>.models.DOMAIN.")
@click.option("--org", default=None, help="Organisation name in the certificates [domain].")
@click.option("--root-days", type=click.IntRange(1), default=3650, show_default=True)
@click.option("--intermediate-days", type=click.IntRange(1), default=1825, show_default=True)
@_AT
def init(
    directory: str,
    domain: str,
    org: str | None,
    root_days: int,
    intermediate_days: int,
    at: str | None,
) -> None:
    """Create the root CA and the "Model Signing Authority" intermediate in DIR."""
    authority = CertificateAuthority(directory)
    authority.init(
        domain=domain,
        org=org or domain,
        at=parse_time(at, "--at"),
        root_days=root_days,
        intermediate_days=intermediate_days,
    )
    out_console.print(
        Text.assemble(
            "created CA for ",
            (authority.info()["domain"], "bold"),
            f"\n  root (trust anchor)  {authority.root_path}",
            f"\n  intermediate         {authority.intermediate_path}",
            "\n  keep root.key offline once leaves are issued",
        )
    )


@ca.command("issue")
@click.argument("model")
@_DIR
@click.option(
    "--dns",
    "dns_names",
    multiple=True,
    metavar="NAME",
    help="SAN DNS name (repeatable) [<MODEL>.models.<domain>].",
)
@click.option("--days", type=click.IntRange(1), default=365, show_default=True)
@click.option(
    "--algorithm",
    type=click.Choice(["ecdsa-p256", "ed25519"]),
    default="ecdsa-p256",
    show_default=True,
    help="Leaf key: P-256 works with Web PKI; Ed25519 needs a private anchor.",
)
@click.option(
    "--keydir",
    type=click.Path(file_okay=False),
    help="Also add the leaf key to this key directory (key id spki-sha256:...).",
)
@_AT
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def issue(
    model: str,
    directory: str,
    dns_names: tuple[str, ...],
    days: int,
    algorithm: str,
    keydir: str | None,
    at: str | None,
    as_json: bool,
) -> None:
    """Issue a certificate for MODEL with a fresh key (cert, chain and 0600 key files)."""
    issued = CertificateAuthority(directory).issue(
        model,
        at=parse_time(at, "--at"),
        dns_names=dns_names,
        days=days,
        algorithm=algorithm,
        keydir=KeyDirectory(keydir) if keydir else None,
    )
    if as_json:
        print_json(
            {
                "model": issued.model,
                "serial": issued.serial,
                "key_id": issued.key_id,
                "dns_names": list(issued.dns_names),
                "not_before": _time.format_utc(issued.not_before),
                "not_after": _time.format_utc(issued.not_after),
                "cert": str(issued.cert_path),
                "chain": str(issued.chain_path),
                "key": str(issued.key_path),
            }
        )
        return
    out_console.print(
        Text.assemble(
            "issued ",
            (issued.model, "bold"),
            f" serial {issued.serial}",
            f"\n  names    {', '.join(issued.dns_names)}",
            f"\n  valid    {_time.format_utc(issued.not_before)} .. "
            f"{_time.format_utc(issued.not_after)}",
            f"\n  key_id   {issued.key_id}",
            f"\n  chain    {issued.chain_path}",
            f"\n  key      {issued.key_path} (0600)",
        )
    )


@ca.command("revoke")
@click.argument("target", metavar="SERIAL|MODEL")
@_DIR
@click.option("--reason", type=click.Choice(_REASONS), help="CRL reason code.")
@click.option(
    "--compromised-since",
    metavar="TIME",
    help="Key suspected compromised since TIME: receipts from then on are revoked too.",
)
@click.option("--crl-days", type=click.IntRange(1), default=7, show_default=True)
@_AT
def revoke(
    target: str,
    directory: str,
    reason: str | None,
    compromised_since: str | None,
    crl_days: int,
    at: str | None,
) -> None:
    """Revoke a leaf (by serial, or a model's newest) from TIME on and publish the CRL."""
    authority = CertificateAuthority(directory)
    revocation = authority.revoke(
        target,
        at=parse_time(at, "--at"),
        reason=reason,
        compromised_since=(
            parse_time(compromised_since, "--compromised-since") if compromised_since else None
        ),
        crl_days=crl_days,
    )
    out_console.print(
        Text.assemble(
            "revoked serial ",
            (format(revocation.serial, "x"), "bold"),
            f" as of {_time.format_utc(revocation.compromised_since or revocation.revoked_at)}",
            f"\n  CRL      {authority.crl_path}",
        )
    )


@ca.command("crl")
@_DIR
@click.option("--out", type=click.Path(dir_okay=False), help="Write the CRL here [DIR/crl.pem].")
@click.option("--days", type=click.IntRange(1), default=7, show_default=True)
@_AT
def crl(directory: str, out: str | None, days: int, at: str | None) -> None:
    """Publish a fresh CRL of every revoked leaf, signed by the intermediate."""
    from pathlib import Path

    path = CertificateAuthority(directory).publish_crl(
        at=parse_time(at, "--at"), days=days, out=Path(out) if out else None
    )
    out_console.print(Text(f"CRL written to {path}"))


@ca.command("list")
@_DIR
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_certificates(directory: str, as_json: bool) -> None:
    """List the issued leaves."""
    records = CertificateAuthority(directory).certificates()
    if as_json:
        print_json(records)
        return
    table = Table("model", "serial", "names", "not_after", "revoked", "key_id")
    for record in records:
        table.add_row(
            Text(record["model"]),
            record["serial"][:16],
            Text(", ".join(record["dns_names"])),
            record["not_after"],
            record["revoked_at"] or "-",
            record["key_id"],
        )
    print_table(table)
