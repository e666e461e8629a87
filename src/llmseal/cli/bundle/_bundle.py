"""``llmseal bundle create|verify|show``: one file that proves an answer offline.

``create`` gathers a receipt's evidence into a bundle (docs/spec/bundle.md): from
saved responses (``RESPONSE.json --request REQUEST.json``, repeatable and paired
in order, so a pipeline or a conversation is one bundle), or from a caller's
evidence store (``--data-dir D --receipt-id ID``). ``verify`` and ``show`` are in
:mod:`llmseal.cli.bundle._verify`.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import click
import httpx

from llmseal.bundle.commit import disclose
from llmseal.bundle.create import item_from_response, items_from_store, make_bundle, record_dnssec
from llmseal.bundle.format import BundleItem
from llmseal.cli._common import err_console, now, read_input, read_json, write_atomic
from llmseal.cli.bundle._verify import show, verify
from llmseal.core.keyset import KeySet
from llmseal.core.receipt import Receipt
from llmseal.errors import InputError, NetworkError
from llmseal.log.entry import receipt_leaf_hash
from llmseal.trust.keysource import load_keyset

__all__ = ["bundle"]


@click.group()
def bundle() -> None:
    """Evidence bundles: create, verify and show portable proofs of answers."""


@bundle.command()
@click.argument("responses", nargs=-1, metavar="RESPONSE.json...")
@click.option(
    "--request",
    "requests",
    multiple=True,
    metavar="REQUEST.json",
    help="The request of each RESPONSE.json, in the same order.",
)
@click.option("--keys", "keys_source", metavar="KEYSET", help="Snapshot the key's key-set entry.")
@click.option("--log-url", metavar="URL", help="Fetch each receipt's log proof from this log.")
@click.option(
    "--proof",
    "proofs",
    multiple=True,
    metavar="FILE",
    help="A tlog-proof file per RESPONSE.json, in order.",
)
@click.option("--crl", "crls", multiple=True, metavar="CRL.pem", help="CRLs for an X.509 key.")
@click.option("--dns", "use_dns", is_flag=True, help="Record the key's DNSSEC chain.")
@click.option("--resolver", metavar="HOST:PORT", help="DNS resolver for --dns.")
@click.option("--trust-anchor", metavar="FILE", help="DNSSEC trust anchor for --dns.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="A client's evidence store.")
@click.option(
    "--receipt-id",
    "receipt_ids",
    multiple=True,
    metavar="ID",
    help="With --data-dir: a receipt to bundle (repeatable).",
)
@click.option(
    "--disclose",
    "disclosed",
    multiple=True,
    type=int,
    metavar="N",
    help="Disclose only message N of the (last) request (repeatable).",
)
@click.option(
    "--seed",
    "seed_path",
    metavar="FILE",
    help="The commitment seed for --disclose [the response's own].",
)
@click.option("--audit", "audits", multiple=True, metavar="REPORT.json", help="Audit reports.")
@click.option("--subject", metavar="RECEIPT_ID", help="The answer it is about [the last one].")
@click.option("--out", "out_path", required=True, metavar="FILE", help="Where to write it.")
def create(responses: tuple[str, ...], **o: Any) -> None:  # fmt: skip
    """Write a bundle for RESPONSE.json (or --data-dir receipts) to --out."""
    if bool(responses) == bool(o["data_dir"]):
        raise click.UsageError("give RESPONSE.json files or --data-dir with --receipt-id")
    if o["requests"] and len(o["requests"]) != len(responses):
        raise click.UsageError("give one --request per RESPONSE.json, in the same order")
    if o["proofs"] and len(o["proofs"]) != len(responses):
        raise click.UsageError("give one --proof per RESPONSE.json, in the same order")
    keyset = load_keyset(o["keys_source"]) if o["keys_source"] else None
    if o["data_dir"]:
        items = _from_store(o["data_dir"], o["receipt_ids"], keyset)
    else:
        items = [_from_file(n, path, keyset, o) for n, path in enumerate(responses)]
    audits = [_object(read_json(path, "audit report"), path) for path in o["audits"]]
    made = make_bundle(items, at=now(), subject=o["subject"], audits=audits)
    data = made.to_json()
    write_atomic(o["out_path"], data)
    err_console.print(f"bundle of {len(made.items)} receipt(s), {len(data)} bytes: {o['out_path']}")


def _from_file(n: int, path: str, keyset: KeySet | None, o: Mapping[str, Any]) -> BundleItem:
    document = _object(read_json(path, "response"), path)
    bare = "signature" in document  # a bare receipt: no response content beside it
    if bare:
        document = {"receipt": document}
    if not isinstance(document.get("receipt"), Mapping):
        raise InputError(f"{path} carries no receipt")
    receipt = Receipt.from_dict(document["receipt"])
    request = read_json(o["requests"][n], "request") if o["requests"] else None
    proof = read_input(o["proofs"][n], "proof").decode("utf-8", "replace") if o["proofs"] else None
    if proof is None and o["log_url"]:
        proof = _fetch_proof(o["log_url"], document["receipt"])
    dnssec = _dnssec(receipt, o) if o["use_dns"] else None
    crls = [read_input(p, "CRL").decode("ascii", "replace") for p in o["crls"]]
    disclosure = None
    last = n == len(o["requests"]) - 1 if o["requests"] else True
    if o["disclosed"] and last:
        disclosure = disclose(request, _seed(o["seed_path"], document), o["disclosed"])
    built = item_from_response(
        document, request=request, keyset=keyset, log_proof=proof, dnssec=dnssec, crls=crls,
        disclosure=disclosure,
    )  # fmt: skip
    return replace(built, response=None) if bare else built


def _seed(path: str | None, document: Mapping[str, Any]) -> bytes:
    """The commitment seed: --seed FILE, else the one the gateway sent the caller."""
    if path:
        return read_input(path, "seed")
    beside = document.get("receipt_evidence")
    text = beside.get("commitment_seed") if isinstance(beside, Mapping) else None
    if not isinstance(text, str):
        raise click.UsageError("--disclose needs --seed FILE (or a response with its seed)")
    try:
        return base64.urlsafe_b64decode(text)
    except ValueError:
        raise InputError("the response's commitment_seed is not base64url") from None


def _from_store(data_dir: str, ids: tuple[str, ...], keyset: KeySet | None) -> list[BundleItem]:
    from llmseal.store.evidence import EvidenceStore

    if not ids:
        raise click.UsageError("--data-dir needs at least one --receipt-id")
    store = EvidenceStore(data_dir)
    try:
        items = items_from_store(store, ids)
    finally:
        store.close()
    if keyset is None:
        return items
    out = []
    for item in items:
        entry = keyset.resolve(item.receipt.key_id)
        evidence = dict(item.evidence)
        if entry is not None:
            evidence["keyset"] = {"keys": [entry.to_dict()]}
        out.append(BundleItem(item.receipt, item.request, item.response, None, evidence))
    return out


def _dnssec(receipt: Receipt, o: Mapping[str, Any]) -> dict[str, Any]:
    from llmseal.trust.dns.dnssec import load_trust_anchors

    if not o["trust_anchor"]:
        raise click.UsageError("--dns needs --trust-anchor FILE (the chain is validated first)")
    anchors = load_trust_anchors(o["trust_anchor"])
    return record_dnssec(receipt, nameserver=o["resolver"], anchors=anchors, at=now())


def _fetch_proof(url: str, receipt: Mapping[str, Any]) -> str:
    target = f"{url.rstrip('/')}/proof/{receipt_leaf_hash(receipt).hex()}"
    try:
        answer = httpx.get(target, timeout=10.0)
    except httpx.HTTPError as exc:
        raise NetworkError(f"cannot fetch the proof from {url}: {exc}") from exc
    if answer.status_code != 200:
        raise NetworkError(f"{target} answered HTTP {answer.status_code} (not logged yet?)")
    return answer.text


def _object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InputError(f"{path} is not a JSON object")
    return dict(value)


bundle.add_command(verify)
bundle.add_command(show)
