"""The gateway as a hop: verify the upstream's receipt before sealing its answer.

A gateway in front of another sealing gateway (``llmseal serve --upstream-keys
KEYSET``) forwards the request unchanged and receives an answer that already
carries a receipt. Before signing its own receipt, which embeds the upstream's as
a parent (docs/spec/bundle.md, "Chains"), it checks that receipt with the keys it
was given: valid, over exactly the request it forwarded and the answer it got.
Anything else is refused (HTTP 502): a hop never vouches for an answer whose
upstream receipt it could not verify.
"""

from __future__ import annotations

from typing import Any

from llmseal.core.keyset import KeyResolver
from llmseal.core.receipt import Receipt
from llmseal.core.verify import verify_hashes
from llmseal.errors import InputError

__all__ = ["upstream_failure"]


def upstream_failure(
    receipt: Any, keys: KeyResolver, *, prompt_hash: str, output_hash: str
) -> str | None:
    """Why the upstream's receipt does not vouch for this exchange (None: it does)."""
    if not isinstance(receipt, dict):
        return "the upstream answer carries no receipt, and --upstream-keys requires one"
    try:
        parsed = Receipt.from_dict(receipt)
    except InputError as exc:
        return f"the upstream receipt is malformed: {exc}"
    result = verify_hashes(parsed, keys, prompt_hash=prompt_hash, output_hash=output_hash)
    if result:
        return None
    detail = "; ".join(result.reasons) or result.status.value
    return f"the upstream receipt is {result.status.value}: {detail}"
