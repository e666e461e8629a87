"""What a log entry is: the receipt exactly as delivered (docs/spec/log.md §1).

The entry is the RFC 8785 bytes of the whole receipt object, ``signature``
included, so anyone holding the receipt recomputes its leaf hash without asking
the log. Entries are at most 65,535 bytes (the tlog-tiles bundle limit).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmseal.core.canonical import canonicalize
from llmseal.core.receipt import Receipt
from llmseal.errors import LogFormatError
from llmseal.log.tree.merkle import leaf_hash
from llmseal.log.tree.tiles import MAX_ENTRY_SIZE

__all__ = ["receipt_entry", "receipt_leaf_hash"]


def receipt_entry(receipt: Receipt | Mapping[str, Any]) -> bytes:
    """The log entry of a receipt (a parsed one or its JSON object).

    Raises:
        CanonicalizationError: the object has no RFC 8785 form.
        LogFormatError: the entry would exceed 65,535 bytes.
    """
    data = receipt.to_dict() if isinstance(receipt, Receipt) else dict(receipt)
    entry = canonicalize(data)
    if len(entry) > MAX_ENTRY_SIZE:
        raise LogFormatError(f"receipt is {len(entry)} bytes as a log entry, over 65535")
    return entry


def receipt_leaf_hash(receipt: Receipt | Mapping[str, Any]) -> bytes:
    """RFC 9162 leaf hash of :func:`receipt_entry`."""
    return leaf_hash(receipt_entry(receipt))
