"""Building bundles: from a saved response, from a caller's evidence store, from receipts.

The creator gathers what exists (the receipt, the content, the key's entry in the
issuer's key set, the certificate chain and CRLs, the DNSSEC chain recorded while
validating it live, the log proof) and writes it down; it trusts nothing it
writes. Only the key-set entry of the receipt's own key is kept, so a bundle does
not grow with the issuer's key history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from llmseal.bundle.format import Bundle, BundleItem
from llmseal.core import _time
from llmseal.core.hashing import strip_gateway_members
from llmseal.core.keyset import KeySet
from llmseal.core.receipt import Receipt
from llmseal.errors import BundleError, KeyLookupError
from llmseal.store.evidence import EvidenceStore

if TYPE_CHECKING:  # dnspython is the optional [dns] extra: bundles without DNSSEC need none
    import dns.name

    from llmseal.trust.dns.dnssec import TrustAnchor

__all__ = ["item_from_response", "items_from_store", "make_bundle", "record_dnssec"]


def item_from_response(
    response: Mapping[str, Any],
    *,
    request: Any = None,
    keyset: KeySet | None = None,
    log_proof: str | None = None,
    dnssec: Mapping[str, Any] | None = None,
    crls: Sequence[str] = (),
    disclosure: Mapping[str, Any] | None = None,
) -> BundleItem:
    """An item from a sealed response (top-level ``receipt``, optional ``receipt_evidence``).

    With ``disclosure`` the request is left out: only the disclosed messages travel.
    """
    if not isinstance(response.get("receipt"), Mapping):
        raise BundleError("the response carries no receipt")
    receipt = Receipt.from_dict(response["receipt"])
    beside = response.get("receipt_evidence")
    beside = beside if isinstance(beside, Mapping) else {}
    evidence: dict[str, Any] = {}
    if keyset is not None:
        entry = keyset.resolve(receipt.key_id)
        if entry is not None:
            evidence["keyset"] = {"keys": [entry.to_dict()]}
    if isinstance(beside.get("x5c"), list):
        evidence["x5c"] = list(beside["x5c"])
    if crls:
        evidence["crls"] = list(crls)
    if dnssec is not None:
        evidence["dnssec"] = dict(dnssec)
    proof = log_proof if log_proof is not None else beside.get("log")
    if isinstance(proof, str):
        evidence["log"] = proof
    content = dict(strip_gateway_members(response))
    if disclosure is not None:
        request = None
    return BundleItem(receipt, request, content, disclosure, evidence)


def make_bundle(
    items: Iterable[BundleItem],
    *,
    at: datetime,
    subject: str | None = None,
    audits: Sequence[Mapping[str, Any]] = (),
) -> Bundle:
    """A bundle of ``items``; the subject defaults to the last item (the final answer)."""
    listed = tuple(items)
    if not listed:
        raise BundleError("a bundle needs at least one receipt")
    chosen = subject or listed[-1].receipt.receipt_id
    return Bundle(listed, chosen, _time.format_utc(at), tuple(audits))


def record_dnssec(
    receipt: Receipt,
    *,
    nameserver: str | None,
    anchors: Mapping[dns.name.Name, TrustAnchor],
    at: datetime,
    name: str | None = None,
) -> dict[str, Any]:
    """Validate the receipt's key live from ``anchors`` and record the chain for the bundle.

    Raises:
        KeyLookupError: the key does not validate now (a bundle of a broken chain
            would only fail later).
        NetworkError: the resolver cannot be reached.
    """
    from llmseal.bundle.dnschain import DnsRecorder
    from llmseal.trust.dns.source import DnsKeySource

    live = DnsKeySource(nameserver, trust_anchors=anchors, name=name)
    recorder = DnsRecorder(live.ask)
    stamp = at.timestamp()
    source = DnsKeySource(trust_anchors=anchors, name=name, query=recorder, clock=lambda: stamp)
    if source.resolve(receipt.key_id) is None:  # pragma: no cover - DNS raises instead
        raise KeyLookupError(f"no DNS key for {receipt.key_id!r}", code="not_in_zone")
    return recorder.chain(source.dns_name(receipt.key_id))


def items_from_store(store: EvidenceStore, receipt_ids: Iterable[str]) -> list[BundleItem]:
    """Items from a caller's evidence store: receipt, sampled content, kept log proof.

    Raises:
        BundleError: an id the store does not hold.
    """
    from llmseal.core.canonical import loads

    items = []
    for rid in receipt_ids:
        record = store.get(rid)
        if record is None:
            raise BundleError(f"the evidence store holds no receipt {rid!r}")
        receipt = Receipt.from_json(record.receipt)
        request = response = None
        folder = store.sample_path(record)
        if folder is not None:
            request = loads((folder / "request.json").read_bytes())
            body = loads((folder / "response.json").read_bytes())
            response = dict(strip_gateway_members(body)) if isinstance(body, Mapping) else body
        evidence: dict[str, Any] = {}
        proof = store.log_proof(rid)
        if proof is not None:
            evidence["log"] = proof
        items.append(BundleItem(receipt, request, response, None, evidence))
    return items
