"""Private commitments: prove one message of a signed request without showing the others.

The v0.3 ``prompt_hash`` is a bare SHA-256 of the whole request: to check it the
verifier needs the whole request, and a short request can be guessed from it.
A receipt may also carry, as a signed extension claim beside the v0.3 hashes::

    "commitments": {"scheme": "llmseal-salted-merkle/1",
                    "count": 3,                  # messages in the request
                    "messages": "<hex root>",    # Merkle tree over salted messages
                    "rest": "<hex>"}             # the request without its messages, salted

From one secret ``seed`` (32 random bytes the holder keeps) each message ``i``
gets its own salt ``HMAC-SHA256(seed, "message:<i>")``, and the rest of the
request ``HMAC-SHA256(seed, "rest")``. Leaf ``i`` is the RFC 9162 leaf hash of
``JCS({"index": i, "message": m_i, "salt": b64url(salt_i)})``; the root is the
RFC 9162 Merkle tree head over the leaves in order. To disclose message ``i`` the
holder gives that message, its salt and its inclusion path — never the seed, so
the other salts stay secret and the undisclosed messages cannot be guessed even
when they are short. ``rest`` is ``SHA-256(JCS({"request": r, "salt": ...}))``
with ``r`` the request without ``messages``.

What a v0.3-only verifier still checks: the signature over the whole receipt,
``commitments`` included, and ``prompt_hash``/``output_hash`` against content it
is given. Given only a disclosure it can check nothing about the request: the
salted tree is ours. And ``prompt_hash`` stays a bare hash of the whole request;
it hides the request only as well as the whole request is hard to guess.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from llmseal.core.canonical import canonicalize
from llmseal.core.receipt import Receipt
from llmseal.errors import BundleError, ContentError, LogError
from llmseal.log.tree.merkle import (
    inclusion_proof,
    leaf_hash,
    memory_reader,
    root_of,
    verify_inclusion,
)

__all__ = ["SCHEME", "Disclosed", "check_disclosure", "commit_request", "disclose"]

SCHEME = "llmseal-salted-merkle/1"
_MAX_MESSAGES = 4096


def _salt(seed: bytes, label: str) -> str:
    digest = hmac.new(seed, label.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _leaf(index: int, message: Any, salt: str) -> bytes:
    return leaf_hash(canonicalize({"index": index, "message": message, "salt": salt}))


def _messages(request: Any) -> list[Any]:
    messages = request.get("messages") if isinstance(request, Mapping) else None
    if not isinstance(messages, list) or not 0 < len(messages) <= _MAX_MESSAGES:
        raise ContentError(f"a committed request has 1-{_MAX_MESSAGES} 'messages'")
    return messages


def _rest(request: Mapping[str, Any], seed: bytes) -> str:
    rest = {k: v for k, v in request.items() if k != "messages"}
    data = canonicalize({"request": rest, "salt": _salt(seed, "rest")})
    return hashlib.sha256(data).hexdigest()


def commit_request(request: Any, seed: bytes) -> dict[str, Any]:
    """The ``commitments`` claim for a chat request (the issuer signs it in the receipt).

    Raises:
        ContentError: the request has no ``messages`` array.
    """
    if len(seed) < 16:
        raise ValueError("the commitment seed must be at least 16 random bytes")
    messages = _messages(request)
    leaves = [_leaf(i, m, _salt(seed, f"message:{i}")) for i, m in enumerate(messages)]
    return {
        "scheme": SCHEME,
        "count": len(messages),
        "messages": root_of(leaves).hex(),
        "rest": _rest(request, seed),
    }


def disclose(request: Any, seed: bytes, indices: Iterable[int]) -> dict[str, Any]:
    """The bundle's ``disclosure`` for the messages at ``indices`` (and nothing else)."""
    messages = _messages(request)
    salts = [_salt(seed, f"message:{i}") for i in range(len(messages))]
    read = memory_reader(
        [_leaf(i, m, s) for i, (m, s) in enumerate(zip(messages, salts, strict=True))]
    )
    opened = []
    for index in sorted(set(indices)):
        if not 0 <= index < len(messages):
            raise ContentError(f"the request has no message {index}")
        path = inclusion_proof(index, len(messages), read)
        opened.append({
            "index": index,
            "message": messages[index],
            "salt": salts[index],
            "path": [base64.b64encode(h).decode("ascii") for h in path],
        })  # fmt: skip
    return {"scheme": SCHEME, "messages": opened}


@dataclass(frozen=True, slots=True)
class Disclosed:
    """The messages a disclosure proved to be in the signed request, by index."""

    count: int
    messages: Mapping[int, Any]

    def describe(self) -> str:
        shown = ", ".join(str(i) for i in sorted(self.messages))
        return f"message(s) {shown} of {self.count}"


def check_disclosure(receipt: Receipt, disclosure: Mapping[str, Any]) -> Disclosed:
    """Check every opened message against the receipt's signed ``commitments``.

    Call only for a receipt whose signature verified.

    Raises:
        BundleError: no commitment to check against, a malformed opening, or an
            opening that does not lead to the signed root (a changed or foreign
            message).
    """
    claim = receipt.claims.get("commitments")
    if not isinstance(claim, Mapping) or claim.get("scheme") != SCHEME:
        raise BundleError(f"the receipt carries no {SCHEME} commitment to disclose against")
    count, root = claim.get("count"), claim.get("messages")
    if not isinstance(count, int) or not 0 < count <= _MAX_MESSAGES or not isinstance(root, str):
        raise BundleError("the receipt's commitment has no usable count and root")
    opened = disclosure.get("messages")
    if not isinstance(opened, list) or not opened:
        raise BundleError("a disclosure opens at least one message")
    found: dict[int, Any] = {}
    for item in opened:
        index, leaf, path = _opening(item, count)
        try:
            verify_inclusion(leaf, index, count, path, bytes.fromhex(root))
        except (LogError, ValueError):
            raise BundleError(
                f"disclosed message {index} is not the message the receipt committed to"
            ) from None
        found[index] = item["message"]
    return Disclosed(count, found)


def _opening(item: Any, count: int) -> tuple[int, bytes, list[bytes]]:
    if not isinstance(item, Mapping):
        raise BundleError("each disclosed message is an object")
    index, salt, path = item.get("index"), item.get("salt"), item.get("path")
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < count:
        raise BundleError(f"a disclosed message index must be 0..{count - 1}")
    if not isinstance(salt, str) or not isinstance(path, list) or "message" not in item:
        raise BundleError(f"disclosed message {index} needs message, salt and path")
    try:
        hashes = [base64.b64decode(h, validate=True) for h in path if isinstance(h, str)]
    except ValueError:
        raise BundleError(f"disclosed message {index}: path hashes must be base64") from None
    if len(hashes) != len(path):
        raise BundleError(f"disclosed message {index}: path hashes must be base64")
    return index, _leaf(index, item["message"], salt), hashes
