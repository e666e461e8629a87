"""What the gateway learns from a client's request before forwarding it.

The request is parsed and hashed exactly as received, once; the headers that
shape the receipt are read with it: ``X-Receipt-Parents`` (receipts the caller
declares as parents, signed in as given) and ``X-Receipt-Commit: messages``
(salted per-message commitments, :mod:`llmseal.bundle.commit`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from llmseal.bundle.commit import commit_request
from llmseal.bundle.declare import parse_parents
from llmseal.core.canonical import loads
from llmseal.core.hashing import hash_json, wants_stream
from llmseal.errors import ContentError, InputError

__all__ = ["RequestInfo", "inspect_request"]


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """What the gateway learnt from the client's request before forwarding it."""

    endpoint: str
    prompt_hash: str
    model: str | None
    stream: bool
    started: float  # perf_counter() when the request arrived
    request: dict[str, Any] | None = None  # the parsed body (llm_sign signs it again)
    parents: tuple[dict[str, Any], ...] = ()  # declared by the caller (X-Receipt-Parents)
    commit_seed: bytes | None = None  # X-Receipt-Commit: messages (llmseal.bundle.commit)
    commitments: dict[str, Any] | None = None  # the signed claim made from that seed


def inspect_request(
    endpoint: str,
    body: bytes,
    started: float,
    parents: bytes | None = None,
    commit: bytes | None = None,
) -> RequestInfo:
    """Parse and hash the request exactly as received; ContentError if it is not JSON.

    ``parents``: the ``X-Receipt-Parents`` header, signed into the receipt as given
    (InputError when it is not that header's form). ``commit``: the
    ``X-Receipt-Commit`` header; ``messages`` adds salted per-message commitments
    and hands the caller their seed in ``receipt_evidence.commitment_seed``.
    """
    declared = tuple(parse_parents(parents)) if parents is not None else ()
    seed = _commit_seed(commit)
    parsed = loads(body)
    if not isinstance(parsed, dict):
        raise ContentError("the request body must be a JSON object")
    model = parsed.get("model")
    return RequestInfo(
        endpoint=endpoint,
        prompt_hash=hash_json(parsed),
        model=model if isinstance(model, str) else None,
        stream=wants_stream(endpoint, parsed),
        started=started,
        request=parsed,
        parents=declared,
        commit_seed=seed,
        # Made now: a request without messages is refused before it goes upstream.
        commitments=commit_request(parsed, seed) if seed is not None else None,
    )


def _commit_seed(header: bytes | None) -> bytes | None:
    """A fresh seed when the caller asked for ``X-Receipt-Commit: messages``."""
    if header is None:
        return None
    if header.strip().lower() != b"messages":
        raise InputError("x-receipt-commit takes the value 'messages'")
    return os.urandom(32)
