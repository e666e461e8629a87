"""``llmseal bundle verify`` and ``llmseal bundle show``.

``verify`` judges a bundle with no network: every key is checked against the
anchors given here (``--keys``, ``--trust-anchor``, ``--anchors`` with
``--name``/``--domain``, ``--log-vkey``, ``--witness-policy``, or a ``--policy``
that lists key sets and logs). Exit 0 iff everything verifies and the policy
admits it, 1 if anything fails (each failure names its receipt), 2 for a file
that is not a bundle or options that give no anchor at all.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import click
from rich.text import Text
from rich.tree import Tree

from llmseal.bundle.anchors import Anchors
from llmseal.bundle.audits import AuditChecker, AuditResult
from llmseal.bundle.chain import parents
from llmseal.bundle.format import Bundle, BundleItem
from llmseal.bundle.verify import BundleResult, ItemResult, verify_bundle
from llmseal.cli._common import out_console, parse_time, print_json, read_input, terminal_safe
from llmseal.core.keyset import KeyResolver
from llmseal.core.policy import Policy
from llmseal.log.trust import LogTrust
from llmseal.trust.keysource import load_keyset, policy_sources

__all__ = ["show", "verify"]


@click.command()
@click.argument("path", metavar="FILE")
@click.option("--keys", "keysets", multiple=True, metavar="KEYSET", help="Pinned key set(s).")
@click.option("--trust-anchor", metavar="FILE", help="DNSSEC trust anchor (DS/DNSKEY).")
@click.option("--anchors", "ca_files", multiple=True, metavar="CA.pem", help="X.509 roots.")
@click.option("--name", metavar="DNSNAME", help="X.509: the name the leaf must carry.")
@click.option("--domain", metavar="DOMAIN", help="X.509: pin <model_id>.models.DOMAIN.")
@click.option("--crl", "crls", multiple=True, metavar="CRL", help="Your CRLs (then required).")
@click.option("--log-vkey", "log_vkeys", multiple=True, metavar="VKEY", help="A trusted log.")
@click.option(
    "--witness-policy",
    metavar="FILE",
    help="C2SP tlog-policy: every log proof must satisfy its quorum (proven time).",
)
@click.option("--policy", "policy_path", metavar="POLICY.toml", help="Relying-party rules.")
@click.option("--auditors", metavar="KEYSET", help="Carried audit reports must be signed by these.")
@click.option("--references", "reference_paths", multiple=True, metavar="PACK_OR_REF.json",
              help="References to recompute carried audit verdicts (repeatable).")  # fmt: skip
@click.option("--at", "at", metavar="TIME", help="Verification time [now].")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def verify(path: str, **o: Any) -> None:  # fmt: skip
    """Verify bundle FILE offline. Exit 0 iff all of it verifies and is admitted."""
    bundle = Bundle.from_json(read_input(path, "bundle"))
    policy = Policy.load(o["policy_path"]) if o["policy_path"] else None
    anchors = _anchors(o, policy)
    if not anchors:
        raise click.UsageError(
            "no anchor to check the bundle's keys against: give --keys, --trust-anchor, "
            "--anchors, or a --policy with keysets"
        )
    at = parse_time(o["at"], "--at")
    checker = _audit_checker(o, at) if bundle.audits else None
    result = verify_bundle(bundle, anchors, at=at, policy=policy, audits=checker)
    if o["as_json"]:
        print_json(result.to_dict())
    else:
        _print(result)
    sys.exit(0 if result else 1)


def _audit_checker(o: Mapping[str, Any], at: datetime) -> AuditChecker:
    # The audit layer sits above the bundle layer: its checker is handed in here.
    from llmseal.audit.packs.packfile import load_references
    from llmseal.audit.reports.bundled import CarriedAudits

    references = [r for p in o["reference_paths"] for r in load_references(p, trusted=None, at=at)]
    auditors = load_keyset(o["auditors"]) if o["auditors"] else None
    return CarriedAudits.of(auditors=auditors, references=references)


def _anchors(o: Mapping[str, Any], policy: Policy | None) -> Anchors:
    keys: list[KeyResolver] = [load_keyset(source) for source in o["keysets"]]
    if policy is not None:
        keys += policy_sources(policy, cached=False)
    dns: dict[Any, Any] = {}
    if o["trust_anchor"]:
        from llmseal.trust.dns.dnssec import load_trust_anchors

        dns = load_trust_anchors(o["trust_anchor"])
    roots, crls = None, tuple[Any, ...]()
    if o["ca_files"]:
        from llmseal.trust.x509.chain import TrustAnchors
        from llmseal.trust.x509.pem import load_anchor_file, load_crl_file

        certs = [cert for file in o["ca_files"] for cert in load_anchor_file(file)]
        roots = TrustAnchors(certs, source=", ".join(o["ca_files"]))
        crls = tuple(load_crl_file(file) for file in o["crls"])
    elif o["name"] or o["domain"] or o["crls"]:
        raise click.UsageError("--name, --domain and --crl need --anchors CA.pem")
    vkeys = [*o["log_vkeys"], *(policy.logs if policy else ())]
    witness_path = o["witness_policy"] or (policy.witness_policy if policy else None)
    witnesses = None
    if witness_path:
        from llmseal.log.witness.witnesspolicy import WitnessPolicy

        witnesses = WitnessPolicy.load(witness_path)
    return Anchors(
        keys=tuple(keys), dns=dns, ca_roots=roots, crls=crls, x509_name=o["name"],
        x509_domain=o["domain"], logs=LogTrust.from_vkeys(vkeys), witnesses=witnesses,
        require_witnessed=bool(o["witness_policy"]),
    )  # fmt: skip


def _label(item: BundleItem, result: ItemResult | None, relation: str | None) -> Text:
    receipt = item.receipt
    status = "?" if result is None else result.verification.status.value
    ok = result is not None and result.ok
    issuer = receipt.claims.get("issuer", "-")
    head = f"{relation}: " if relation else ""
    return Text.assemble(
        head,
        (status, "bold green" if ok else "bold red"),
        f"  {terminal_safe(str(issuer))}  {terminal_safe(receipt.model_id)}",
        f"  [{result.key_source}]" if result is not None else "",
        f"\n{terminal_safe(receipt.receipt_id)}  {receipt.issued_at}",
    )


def _print(result: BundleResult) -> None:
    bundle = result.bundle
    by_digest = bundle.by_digest()
    found = {r.receipt_id: r for r in result.items}
    verdict = ("ok", "bold green") if result else ("FAILED", "bold red")
    tree = Tree(Text.assemble(verdict, f"  bundle of {len(bundle.items)} receipt(s)"))

    def grow(node: Tree, item: BundleItem, relation: str | None, seen: frozenset[str]) -> None:
        branch = node.add(_label(item, found.get(item.receipt.receipt_id), relation))
        for link in parents(item):
            parent = by_digest.get(str(link.get("digest")))
            kind = str(link.get("relation"))
            if parent is None:
                branch.add(
                    Text(f"{terminal_safe(kind)}: MISSING from the bundle", style="bold red")
                )
            elif parent.receipt.receipt_id not in seen:
                grow(branch, parent, kind, seen | {parent.receipt.receipt_id})

    subject = bundle.subject_item
    grow(tree, subject, None, frozenset({subject.receipt.receipt_id}))
    out_console.print(tree)
    for audit in result.audits:
        out_console.print(_audit_line(audit))
    for reason in result.reasons():
        out_console.print(Text(terminal_safe(f"  - {reason}")))


def _audit_line(audit: AuditResult) -> Text:
    if not audit.ok:
        state = ("FAILED", "bold red")
    elif "verdicts" in audit.checked:
        state = ("reproduced", "bold green")
    else:
        state = ("receipts re-verified", "bold yellow")
    verdict = f"{audit.verdict} " if audit.verdict else ""
    checked = ", ".join(audit.checked) or "nothing"
    line = Text.assemble(
        "audit report ", (state[0], state[1]),
        terminal_safe(f"  {verdict}{audit.report_id}  (checked: {checked})"),
    )  # fmt: skip
    for note in audit.notes:
        line.append(terminal_safe(f"\n  note: {note}"))
    return line


@click.command()
@click.argument("path", metavar="FILE")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def show(path: str, as_json: bool) -> None:
    """Show what bundle FILE contains (nothing is verified)."""
    bundle = Bundle.from_json(read_input(path, "bundle"))
    rows = [_summary(item) for item in bundle.items]
    if as_json:
        print_json({"format": "llmseal-bundle/1", "created_at": bundle.created_at,
                    "subject": bundle.subject, "items": rows,
                    "audits": len(bundle.audits)})  # fmt: skip
        return
    out_console.print(Text(f"bundle created {bundle.created_at}, subject {bundle.subject}"))
    for row in rows:
        head = f"  {row['receipt_id']}  {row['issuer']}  {row['model_id']}  {row['issued_at']}"
        out_console.print(Text(terminal_safe(head)))
        out_console.print(Text(terminal_safe(
            f"    content: {', '.join(row['content']) or 'none'}; "
            f"evidence: {', '.join(row['evidence']) or 'none'}; "
            f"parents: {', '.join(row['parents']) or 'none'}"
        )))  # fmt: skip
    if bundle.audits:
        out_console.print(Text(f"  {len(bundle.audits)} audit report(s)"))


def _summary(item: BundleItem) -> dict[str, Any]:
    receipt = item.receipt
    content = [n for n in ("request", "response") if getattr(item, n) is not None]
    if item.disclosure is not None:
        content.append("disclosure")
    return {
        "receipt_id": receipt.receipt_id,
        "issuer": str(receipt.claims.get("issuer", "-")),
        "model_id": receipt.model_id,
        "issued_at": receipt.issued_at,
        "key_id": receipt.key_id,
        "content": content,
        "evidence": sorted(item.evidence),
        "parents": [f"{p.get('relation')} {str(p.get('digest'))[:12]}" for p in parents(item)],
    }
