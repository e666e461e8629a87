"""Content hashes: what ``prompt_hash`` and ``output_hash`` are computed over.

design.md, "Content hashes":

* request:  ``sha256(JCS(request JSON body))``, the body as the issuer received it;
* response: ``sha256(JCS(response JSON body without the members the gateway adds))``;
* stream:   ``sha256(JCS([chunk_1, ..., chunk_n]))`` over the parsed ``data:`` objects,
  without ``[DONE]`` and comments — the receipt itself is a comment
  (docs/spec/stream.md; :mod:`llmseal.core.framing` reads the round-1 framing too);
  NDJSON streams: over every line but the receipt line (:mod:`llmseal.core.ndjson`).

JCS rather than raw bytes because relays and servers re-serialize JSON. Raw-byte
hashing exists as an explicit option (:func:`hash_bytes`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from llmseal.core.canonical import canonicalize, loads

__all__ = [
    "ANTHROPIC_ENDPOINTS",
    "GATEWAY_MEMBERS",
    "NDJSON_ENDPOINTS",
    "RESPONSES_ENDPOINTS",
    "SEALED_ENDPOINTS",
    "TERMINAL_EVENTS",
    "StreamHasher",
    "hash_bytes",
    "hash_json",
    "hash_json_text",
    "hash_response",
    "hash_stream",
    "strip_gateway_members",
    "wants_stream",
]

ANTHROPIC_ENDPOINTS: frozenset[str] = frozenset({"/v1/messages"})
"""Endpoints whose streams follow the Anthropic event protocol (no ``[DONE]``)."""

RESPONSES_ENDPOINTS: frozenset[str] = frozenset({"/v1/responses"})
"""The OpenAI Responses API: typed events, no ``[DONE]`` (docs/spec/stream.md)."""

TERMINAL_EVENTS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        **{endpoint: frozenset({"message_stop"}) for endpoint in ANTHROPIC_ENDPOINTS},
        **{
            endpoint: frozenset({"response.completed", "response.failed", "response.incomplete"})
            for endpoint in RESPONSES_ENDPOINTS
        },
    }
)
"""Streams that end with a terminal event (its data's ``type``) instead of ``data: [DONE]``.

Their events are *named*: ``event: <type>`` repeats the data's ``type``, which is
hashed; the other sealed streams end with the ``[DONE]`` sentinel."""

NDJSON_ENDPOINTS: frozenset[str] = frozenset({"/api/chat", "/api/generate"})
"""Ollama's native API: streams are newline-delimited JSON (:mod:`llmseal.core.ndjson`),
and a request without ``"stream"`` streams."""

SEALED_ENDPOINTS: frozenset[str] = frozenset(
    {"/v1/chat/completions", "/v1/completions", "/v1/embeddings", *TERMINAL_EVENTS,
     *NDJSON_ENDPOINTS}
)  # fmt: skip
"""The exchanges a gateway seals and a verifying client checks (POST only).

``/v1/embeddings`` answers are never streamed; the others are sealed plain and
streamed. Hashing is the same for all of them (module docstring)."""


def wants_stream(endpoint: str, request: Mapping[str, Any]) -> bool:
    """Whether a parsed request asks for a streamed answer (Ollama streams by default)."""
    if endpoint in NDJSON_ENDPOINTS:
        return request.get("stream", True) is not False
    return request.get("stream") is True


GATEWAY_MEMBERS: frozenset[str] = frozenset({"receipt", "receipt_evidence", "llm_sign"})
"""Top-level response members a signing gateway adds; never part of ``output_hash``.

``receipt`` is the receipt; ``receipt_evidence`` carries what exists only after
signing and travels beside the receipt (certificate chain, log inclusion proof);
``llm_sign`` is the peer's envelope (compat)."""


def hash_bytes(data: bytes) -> str:
    """Lowercase hex SHA-256 of raw bytes (the explicit raw-bytes option)."""
    return hashlib.sha256(data).hexdigest()


def hash_json(value: Any) -> str:
    """Lowercase hex SHA-256 of the JCS form of a parsed JSON value."""
    return hashlib.sha256(canonicalize(value)).hexdigest()


def hash_json_text(data: bytes | str) -> str:
    """Parse JSON text, then hash its JCS form: formatting and member order don't matter."""
    return hash_json(loads(data))


def strip_gateway_members(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """The response body as the upstream produced it (without ``receipt``, ``llm_sign``)."""
    if GATEWAY_MEMBERS.isdisjoint(body):
        return body
    return {k: v for k, v in body.items() if k not in GATEWAY_MEMBERS}


def hash_response(body: Any) -> str:
    """``output_hash`` of a non-streaming response body (a parsed JSON object)."""
    if isinstance(body, Mapping):
        return hash_json(strip_gateway_members(body))
    return hash_json(body)


class StreamHasher:
    """Incremental ``output_hash`` of an SSE stream.

    JCS of an array is ``[`` + the members' JCS joined by ``,`` + ``]``, so chunks
    can be hashed as they pass without keeping them.
    """

    __slots__ = ("_count", "_sha")

    def __init__(self) -> None:
        self._sha = hashlib.sha256(b"[")
        self._count = 0

    @property
    def count(self) -> int:
        """Number of chunks hashed so far."""
        return self._count

    def add(self, chunk: Any) -> None:
        """Add one parsed ``data:`` object."""
        encoded = canonicalize(chunk)
        if self._count:
            self._sha.update(b",")
        self._sha.update(encoded)
        self._count += 1

    def add_text(self, data: bytes | str) -> Any:
        """Parse one ``data:`` payload, add it, and return the parsed value."""
        value = loads(data)
        self.add(value)
        return value

    def hexdigest(self) -> str:
        """The hash of all chunks added so far (the hasher can keep going)."""
        sha = self._sha.copy()
        sha.update(b"]")
        return sha.hexdigest()


def hash_stream(chunks: list[Any]) -> str:
    """``output_hash`` of a complete list of parsed stream chunks."""
    return hash_json(chunks)
