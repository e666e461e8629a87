"""The transparency log layer: RFC 9162 Merkle trees and, above them, C2SP formats.

Sits above ``store`` and below ``gateway``/``client``/``audit`` (design.md).
"""

from __future__ import annotations

from llmseal.log.merkle import (
    EMPTY_ROOT,
    leaf_hash,
    node_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)

__all__ = [
    "EMPTY_ROOT",
    "leaf_hash",
    "node_hash",
    "root_of",
    "verify_consistency",
    "verify_inclusion",
]
