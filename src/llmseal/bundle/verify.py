"""Verifying a bundle offline: every receipt, its content, its key evidence, its log proof,
every chain link, and the policy — against the verifier's anchors only.

Per item, in this order:

1. the log proof (if any) against the verifier's log keys and witness policy
   (:mod:`llmseal.bundle._logcheck`); a proof that does not verify fails the item,
   and a witnessed one gives the *proven time*. That, else ``issued_at``, is the
   signing time at which revocation, certificate validity, the bundle's CRLs and
   DNSSEC signatures are judged (docs/spec/bundle.md, "Time");
2. the key: pinned key set (checked against the snapshot), recorded DNSSEC chain
   from the verifier's trust anchor, or X.509 chain from the verifier's roots
   (:mod:`llmseal.bundle.anchors`); no anchor behind it → ``unknown_key``;
3. the receipt with the content the bundle holds (``prompt_hash``/``output_hash``),
   and a disclosure against the signed commitments (:mod:`llmseal.bundle.commit`).

Then every ``parents`` link (:mod:`llmseal.bundle.chain`), then the policy for
every receipt, including which hops and transforms it trusts, then the audit
reports the bundle carries (:mod:`llmseal.bundle.audits`). The bundle is ``ok``
iff all of it holds.
"""

from __future__ import annotations

from datetime import datetime

from llmseal.bundle._logcheck import LogChecker
from llmseal.bundle.anchors import Anchors
from llmseal.bundle.audits import AuditChecker, check_audits
from llmseal.bundle.chain import Link, check_links, embedded
from llmseal.bundle.commit import check_disclosure
from llmseal.bundle.format import MAX_ITEMS, Bundle, BundleItem
from llmseal.bundle.result import BundleResult, ItemResult
from llmseal.core.canonical import canonicalize
from llmseal.core.hashing import hash_bytes
from llmseal.core.keyset import KeyResolver
from llmseal.core.policy import Policy
from llmseal.core.receipt import Receipt
from llmseal.core.verify import Status, Verification, verify_receipt
from llmseal.errors import BundleError, Error
from llmseal.trust.keysource import KeySources

__all__ = ["BundleResult", "ItemResult", "verify_bundle", "verify_item"]


def verify_bundle(
    bundle: Bundle,
    anchors: Anchors,
    *,
    at: datetime,
    policy: Policy | None = None,
    audits: AuditChecker | None = None,
) -> BundleResult:
    """Verify every part of ``bundle`` against ``anchors`` (and ``policy``) at time ``at``.

    ``audits`` re-checks the audit reports the bundle carries (:mod:`.audits`);
    without it a bundle that carries any is not ok.
    """
    bundle = _with_embedded(bundle)
    # One verification's shared work: each receipt's JCS bytes (its log entry and,
    # hashed, the digest its children name) and each distinct checkpoint, once.
    entries = [canonicalize(item.receipt.to_dict()) for item in bundle.items]
    checker = LogChecker(anchors, at=at)
    results = [
        verify_item(item, anchors, at=at, policy=policy, checker=checker, entry=entry)
        for item, entry in zip(bundle.items, entries, strict=True)
    ]
    disclosed = {r.receipt_id: r.disclosed.messages for r in results if r.disclosed is not None}
    by_digest = {hash_bytes(e): item for e, item in zip(entries, bundle.items, strict=True)}
    links = tuple(check_links(bundle, disclosed, by_digest=by_digest))
    failures: list[str] = []
    if policy is not None:
        failures += _chain_policy(bundle, links, policy)
    pinned: KeyResolver | None = None
    if anchors.keys:
        pinned = anchors.keys[0] if len(anchors.keys) == 1 else KeySources(*anchors.keys)
    carried = check_audits(bundle.audits, audits, keys=pinned, at=at)
    return BundleResult(bundle, tuple(results), links, tuple(failures), carried)


def _with_embedded(bundle: Bundle) -> Bundle:
    """The bundle plus, as items without content, the upstream receipts its receipts embed.

    Each embedded receipt is then verified like any other (its key must be rooted in
    the verifier's anchors) and its link checked (identity: the same hashes).
    """
    known = set(bundle.by_digest())
    ids = {item.receipt.receipt_id for item in bundle.items}
    extra: list[BundleItem] = []
    for item in bundle.items:
        for data in embedded(item):
            try:
                receipt = Receipt.from_dict(data)
            except Error:
                continue  # not a receipt after all: its link reports it missing
            # Passed through unchanged: where the hashes agree, the content is the child's.
            mine = item.receipt
            request = item.request if receipt.prompt_hash == mine.prompt_hash else None
            response = item.response if receipt.output_hash == mine.output_hash else None
            parent = BundleItem(receipt, request, response)
            if parent.digest in known or receipt.receipt_id in ids:
                continue  # listed already (or a twin of a listed id: its link will not match)
            if len(bundle.items) + len(extra) < MAX_ITEMS:
                known.add(parent.digest)
                ids.add(receipt.receipt_id)
                extra.append(parent)
    if not extra:
        return bundle
    return Bundle((*extra, *bundle.items), bundle.subject, bundle.created_at, bundle.audits)


def verify_item(
    item: BundleItem,
    anchors: Anchors,
    *,
    at: datetime,
    policy: Policy | None = None,
    checker: LogChecker | None = None,
    entry: bytes | None = None,
) -> ItemResult:
    """Verify one receipt with the evidence and content beside it.

    ``checker`` and ``entry`` (the receipt's JCS bytes) let :func:`verify_bundle`
    share one verification's work between items; alone, the item gets its own.
    """
    failures: list[str] = []
    checker = checker or LogChecker(anchors, at=at)
    if entry is None:
        entry = canonicalize(item.receipt.to_dict())
    log = checker.check(entry, item.evidence.get("log"))
    if log.failure:
        failures.append(log.failure)
    if anchors.require_witnessed and not log.witnessed:
        failures.append(
            "no log proof cosigned by the witness quorum (--witness-policy requires one)"
        )
    proven_at = log.proven_at
    judged_at = proven_at or item.receipt.issued_at_datetime
    verification, source = _key_and_receipt(item, anchors, at, judged_at, proven_at)
    disclosed = None
    if item.disclosure is not None and verification:
        try:
            disclosed = check_disclosure(item.receipt, item.disclosure)
        except BundleError as exc:
            failures.append(str(exc))
    verdict = None
    if policy is not None:
        logged = log.report is not None and log.report.get("verified") is True
        unwitnessed = None if log.witnessed else "the checkpoint is not cosigned by the quorum"
        verdict = policy.check(
            verification, at=at, logged=logged, log_reason=log.reason, witnessed=log.witnessed,
            witness_reason=unwitnessed,
        )  # fmt: skip
    return ItemResult(verification, source, log.report, tuple(failures), disclosed, verdict)


def _key_and_receipt(
    item: BundleItem, anchors: Anchors, now: datetime, at: datetime, proven_at: datetime | None
) -> tuple[Verification, str]:
    """``now``: the verification time; ``at``: when the receipt is judged to be signed."""
    receipt = item.receipt
    prompt, output = item.request, item.response
    if item.evidence.get("x5c") and anchors.ca_roots is not None:
        try:
            return _x509(item, anchors, now, at, proven_at), "x509"
        except Error as exc:
            return Verification(Status.UNKNOWN_KEY, receipt, (exc.diagnostics(),)), "x509"
    try:
        resolver = anchors.resolver_for(item.evidence, at=at)
    except Error as exc:
        return Verification(Status.UNKNOWN_KEY, receipt, (exc.diagnostics(),)), "none"
    if resolver is None:
        why = (
            "the bundle's key evidence is rooted in none of the verifier's anchors "
            "(pinned key set, DNSSEC trust anchor, CA roots)"
        )
        return Verification(Status.UNKNOWN_KEY, receipt, (why,)), "none"
    result = verify_receipt(receipt, resolver, prompt=prompt, output=output, proven_at=proven_at)
    extra = result.key.extra if result.key else {}
    return result, "dnssec" if extra.get("source") == "dns" else "keyset"


def _x509(
    item: BundleItem,
    anchors: Anchors,
    now: datetime,
    signed_at: datetime,
    proven_at: datetime | None,
) -> Verification:
    """Chain validity and revocation at ``signed_at`` (proven time, else ``issued_at``)."""
    from llmseal.trust.x509.source import verify_receipt_x509

    crls = _strings(item.evidence.get("crls"))
    validator = anchors.validator(crls, at=now, signed_at=signed_at)
    assert validator is not None  # only called with CA roots
    if not (anchors.x509_name or anchors.x509_domain):
        why = "an X.509 chain needs a pinned name (--name or --domain); none was given"
        return Verification(Status.UNKNOWN_KEY, item.receipt, (why,))
    outcome = verify_receipt_x509(
        item.receipt, _strings(item.evidence.get("x5c")), validator,
        name=anchors.x509_name, domain=anchors.x509_domain,
        prompt=item.request, output=item.response, proven_at=proven_at,
    )  # fmt: skip
    return outcome.verification


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _chain_policy(bundle: Bundle, links: tuple[Link, ...], policy: Policy) -> list[str]:
    """The policy's ``[chain]`` rules: which transforms, and who may apply them."""
    failures: list[str] = []
    ids = {item.receipt.receipt_id: item for item in bundle.items}
    for link in links:
        if link.relation != "upstream":
            continue
        changed = [op for op in link.ops if op != "identity"]
        for op in changed:
            if policy.chain_transforms is not None and op not in policy.chain_transforms:
                failures.append(
                    f"{link.child}: policy rule chain.transforms: {op!r} is not trusted"
                )
        if changed and policy.chain_hops:
            issuer = ids[link.child].receipt.claims.get("issuer")
            if not isinstance(issuer, str) or issuer not in policy.chain_hops:
                failures.append(
                    f"{link.child}: policy rule chain.hops: {issuer!r} may not transform answers"
                )
    return failures
