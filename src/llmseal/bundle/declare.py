"""A caller declares what its request builds on: the ``X-Receipt-Parents`` header.

Step *n* of a pipeline, or turn *n* of a conversation, sends the digests of the
receipts its prompt builds on::

    X-Receipt-Parents: input=<receipt_digest>, input=<receipt_digest>
    X-Receipt-Parents: previous=<receipt_digest>

The sealing gateway signs them, as given, into the new receipt's ``parents``
claim (it cannot know whether they are true; a bundle verifier checks that the
parents' outputs really are in the signed prompt, :mod:`llmseal.bundle.chain`).
The header is the gateway's, never forwarded upstream.
"""

from __future__ import annotations

import re
from typing import Any

from llmseal.bundle.format import receipt_digest
from llmseal.core.receipt import Receipt
from llmseal.errors import InputError

__all__ = ["HEADER", "MAX_DECLARED", "format_parents", "parse_parents"]

HEADER = "x-receipt-parents"
MAX_DECLARED = 16
_ITEM = re.compile(r"\A(input|previous)=([0-9a-f]{64})\Z")


def parse_parents(value: bytes | str) -> list[dict[str, Any]]:
    """The ``parents`` claim entries a header value declares.

    Raises:
        InputError: anything but 1-16 ``relation=digest`` items (relation ``input``
            or ``previous``, digest 64 lowercase hex), comma-separated.
    """
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
    items = [part.strip() for part in text.split(",") if part.strip()]
    if not 0 < len(items) <= MAX_DECLARED:
        raise InputError(f"{HEADER} names 1-{MAX_DECLARED} parents")
    out: list[dict[str, Any]] = []
    for item in items:
        match = _ITEM.match(item)
        if match is None:
            raise InputError(
                f"{HEADER}: {item[:80]!r} is not input=<digest> or previous=<digest> "
                "(64 lowercase hex)"
            )
        out.append({"digest": match.group(2), "relation": match.group(1)})
    return out


def format_parents(*pairs: tuple[str, Receipt | dict[str, Any]]) -> str:
    """The header value for ``(relation, parent receipt)`` pairs."""
    return ", ".join(f"{relation}={receipt_digest(parent)}" for relation, parent in pairs)
