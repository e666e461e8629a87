"""Receipt chains: hops that transform, pipeline steps built on earlier answers, turns.

A receipt names the receipts it builds on in its signed ``parents`` claim::

    "parents": [{"digest": "<receipt_digest of the parent>", "relation": "upstream",
                 "transform": {"request": {"op": "identity"},
                               "response": {"op": "redact", "paths": ["/usage"]}}}]

``digest`` is SHA-256 of the parent receipt's RFC 8785 bytes (signature included),
so a parent cannot be swapped for another, even one by the same issuer.

``upstream``
    a hop (relay, proxy, redactor) that verified its upstream's receipt and signs
    its own over what *it* received and returned. The transform says how the two
    differ. ``identity``: same JSON; ``reserialize``: the listed JSON pointers
    (``preserves``) are unchanged, the rest may be rebuilt; ``redact``: the same
    except at ``paths``, which hold ``"[redacted]"``; ``augment``: the same after
    removing the hop's own members at ``added``. When both sides' content is in the
    bundle the transform is recomputed; when one side is absent (a redactor does not
    hand out what it removed) it rests on the hop's signature and the policy's trust
    in that hop.
``input``
    a pipeline step whose prompt contains an earlier answer: the parent's answer
    text must appear in a message of this receipt's request (or of a disclosed one).
``previous``
    a conversation turn: the parent's messages and its answer must be the start of
    this turn's messages, and the parent must come before it in the bundle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmseal.bundle._transform import REDACTED, apply_transform
from llmseal.bundle.format import Bundle, BundleItem, receipt_digest
from llmseal.errors import Error

__all__ = [
    "REDACTED",
    "RELATIONS",
    "TRANSFORMS",
    "Link",
    "check_links",
    "embedded",
    "output_texts",
    "parents",
]

RELATIONS = frozenset({"upstream", "input", "previous"})
TRANSFORMS = frozenset({"identity", "reserialize", "redact", "augment"})


@dataclass(frozen=True, slots=True)
class Link:
    """One verified (or failed) parent link: ``child`` builds on ``parent``."""

    child: str
    parent: str | None
    """The parent's receipt_id, None when it is not in the bundle."""
    relation: str
    failures: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    ops: tuple[str, ...] = ()
    """The transform operations this link declares (``upstream`` only)."""

    def __bool__(self) -> bool:
        return not self.failures


def parents(item: BundleItem) -> list[Mapping[str, Any]]:
    """The receipt's ``parents`` claim as links (an empty list when it has none).

    A parent that is a whole receipt is the form ``llmseal serve`` writes when it
    seals an answer that came from another sealing gateway (the upstream receipt,
    embedded and signed): an ``upstream`` link with the identity transform.
    """
    value = item.receipt.claims.get("parents", [])
    if not isinstance(value, list):
        return []
    return [_as_link(p) for p in value if isinstance(p, Mapping)]


def embedded(item: BundleItem) -> list[Mapping[str, Any]]:
    """The upstream receipts the item's ``parents`` claim embeds whole.

    Either as the entry itself (a chained gateway, identity) or as the ``receipt``
    member of an ``upstream`` link that declares a transform (a hop that rebuilds
    the answer, such as the LiteLLM proxy): the link still names it by digest.
    """
    value = item.receipt.claims.get("parents", [])
    if not isinstance(value, list):
        return []
    found: list[Mapping[str, Any]] = []
    for entry in value:
        if _is_receipt(entry):
            found.append(entry)
        elif isinstance(entry, Mapping) and _is_receipt(entry.get("receipt")):
            found.append(entry["receipt"])
    return found


def _is_receipt(value: Any) -> bool:
    return isinstance(value, Mapping) and "signature" in value and "receipt_id" in value


def _as_link(value: Mapping[str, Any]) -> Mapping[str, Any]:
    if not _is_receipt(value):
        return value
    try:
        digest = receipt_digest(value)
    except Error:
        digest = "not-a-receipt"
    return {"digest": digest, "relation": "upstream", "transform": {}}


def check_links(
    bundle: Bundle,
    disclosed: Mapping[str, Mapping[int, Any]],
    *,
    by_digest: Mapping[str, BundleItem] | None = None,
) -> list[Link]:
    """Every parent link of every item, checked against the bundle's content.

    ``disclosed``: receipt_id -> the messages a disclosure proved (bundle.commit);
    ``by_digest``: the bundle's items by receipt digest, if the caller has them.
    """
    if by_digest is None:
        by_digest = bundle.by_digest()
    order = {item.receipt.receipt_id: n for n, item in enumerate(bundle.items)}
    links: list[Link] = []
    for item in bundle.items:
        child = item.receipt.receipt_id
        raw = item.receipt.claims.get("parents")
        if raw is not None and (not isinstance(raw, list) or len(parents(item)) != len(raw)):
            links.append(Link(child, None, "?", ("the 'parents' claim is not a list of objects",)))
            continue
        for link in parents(item):
            relation, digest = link.get("relation"), link.get("digest")
            parent = by_digest.get(digest) if isinstance(digest, str) else None
            if relation not in RELATIONS:
                links.append(Link(child, None, str(relation), (f"unknown relation {relation!r}",)))
            elif parent is None:
                why = f"its {relation} parent {str(digest)[:16]}... is not in the bundle"
                links.append(Link(child, None, str(relation), (why,)))
            else:
                links.append(_check(item, parent, link, disclosed, order))
    return links


def _check(
    child: BundleItem,
    parent: BundleItem,
    link: Mapping[str, Any],
    disclosed: Mapping[str, Mapping[int, Any]],
    order: Mapping[str, int],
) -> Link:
    relation = str(link["relation"])
    cid, pid = child.receipt.receipt_id, parent.receipt.receipt_id
    failures: list[str] = []
    notes: list[str] = []
    ops: tuple[str, ...] = ()
    if relation == "upstream":
        ops = _upstream(child, parent, link.get("transform"), failures, notes)
    elif relation == "input":
        _input(child, parent, disclosed.get(cid, {}), failures)
    else:
        if order[pid] > order[cid]:
            failures.append(f"turn {cid} is listed before its previous turn {pid}")
        _previous(child, parent, failures)
    return Link(cid, pid, relation, tuple(failures), tuple(notes), ops)


def _upstream(
    child: BundleItem, parent: BundleItem, transform: Any, failures: list[str], notes: list[str]
) -> tuple[str, ...]:
    if not isinstance(transform, Mapping):
        transform = {}
    ops: list[str] = []
    mine, theirs = child.receipt, parent.receipt
    for side, before, after, hashes in (
        ("request", child.request, parent.request, (mine.prompt_hash, theirs.prompt_hash)),
        ("response", parent.response, child.response, (theirs.output_hash, mine.output_hash)),
    ):
        spec = transform.get(side, {"op": "identity"})
        op = spec.get("op") if isinstance(spec, Mapping) else None
        if op not in TRANSFORMS:
            failures.append(f"the {side} transform {op!r} is not one of {sorted(TRANSFORMS)}")
            continue
        ops.append(str(op))
        assert isinstance(spec, Mapping)
        if op == "identity":
            if hashes[0] != hashes[1]:
                failures.append(
                    f"the {side} changed between the hops, but the transform is identity"
                )
            continue
        if before is None or after is None:
            notes.append(
                f"{side} transform {op} declared by the hop, not recomputed (content absent)"
            )
            continue
        problem = apply_transform(str(op), spec, before, after, response=side == "response")
        if problem:
            failures.append(f"the {side} is not the declared {op} of the other hop's: {problem}")
    return tuple(ops)


def output_texts(response: Any) -> list[str]:
    """The answer text of a chat or completion response (each choice)."""
    texts: list[str] = []
    choices = response.get("choices") if isinstance(response, Mapping) else None
    for choice in choices if isinstance(choices, list) else []:
        if not isinstance(choice, Mapping):
            continue
        message = choice.get("message")
        text = message.get("content") if isinstance(message, Mapping) else choice.get("text")
        if isinstance(text, str) and text:
            texts.append(text)
    return texts


def _message_texts(messages: Sequence[Any]) -> list[str]:
    texts: list[str] = []
    for message in messages:
        content = message.get("content") if isinstance(message, Mapping) else None
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts += [
                p["text"]
                for p in content
                if isinstance(p, Mapping) and isinstance(p.get("text"), str)
            ]
    return texts


def _input(
    child: BundleItem, parent: BundleItem, disclosed: Mapping[int, Any], failures: list[str]
) -> None:
    answers = output_texts(parent.response)
    if parent.response is None or not answers:
        failures.append(f"the output of input {parent.receipt.receipt_id} is not in the bundle")
        return
    messages = child.request.get("messages") if isinstance(child.request, Mapping) else None
    shown = list(messages) if isinstance(messages, list) else list(disclosed.values())
    if not shown:
        failures.append(f"the request of {child.receipt.receipt_id} is not in the bundle")
        return
    texts = _message_texts(shown)
    if not any(answer in text for answer in answers for text in texts):
        failures.append(
            f"the output of input {parent.receipt.receipt_id} does not appear in the signed prompt "
            f"of {child.receipt.receipt_id}"
        )


def _previous(child: BundleItem, parent: BundleItem, failures: list[str]) -> None:
    mine = child.request.get("messages") if isinstance(child.request, Mapping) else None
    theirs = parent.request.get("messages") if isinstance(parent.request, Mapping) else None
    answers = output_texts(parent.response)
    if not isinstance(mine, list) or not isinstance(theirs, list) or not answers:
        failures.append(
            f"turn {child.receipt.receipt_id}: the transcript content is not in the bundle"
        )
        return
    n = len(theirs)
    if mine[:n] != theirs:
        failures.append(
            f"turn {child.receipt.receipt_id} does not continue the messages of its previous turn"
        )
        return
    reply = mine[n] if len(mine) > n else None
    if (
        not isinstance(reply, Mapping)
        or reply.get("role") != "assistant"
        or reply.get("content") != answers[0]
    ):
        failures.append(
            f"turn {child.receipt.receipt_id} does not carry its previous turn's answer as signed"
        )
