"""What ``llmseal verify`` reads: a receipt, a sealed response, or a saved stream.

A stream saved with ``curl -N`` (SSE) is split by :func:`llmseal.core.framing.read_stream`
into its receipt and the chunks the receipt's ``output_hash`` covers
(docs/spec/stream.md). NDJSON streams are not sealed: they get a clear error.
"""

from __future__ import annotations

from typing import Any

from llmseal.cli._common import read_input
from llmseal.core.canonical import loads
from llmseal.core.framing import read_stream
from llmseal.errors import ContentError, InputError

__all__ = ["read_document"]


def read_document(path: str) -> tuple[Any, list[Any] | None]:
    """The JSON document, or for a saved SSE stream its receipt and hashed chunks."""
    data = read_input(path, "receipt")
    try:
        return loads(data), None
    except ContentError as exc:
        if _looks_like_ndjson(data):
            raise InputError(
                f"{path} is an NDJSON stream: llmseal seals SSE streams only, so it carries no "
                "receipt (docs/spec/stream.md)"
            ) from exc
        if not _looks_like_sse(data):
            raise InputError(f"receipt {path} is {exc}") from exc
    try:
        saved = read_stream(data)
    except ContentError as exc:
        raise InputError(f"stream {path}: {exc}") from exc
    document: dict[str, Any] = {}
    if saved.receipt is not None:
        document["receipt"] = saved.receipt.receipt
        if saved.receipt.evidence is not None:
            document["receipt_evidence"] = saved.receipt.evidence
    return document, list(saved.chunks)


def _looks_like_sse(data: bytes) -> bool:
    """The first line is an SSE field or comment (``data:``, ``event:``, ``: ...``)."""
    first = data.lstrip(b"\r\n\t ").split(b"\n", 1)[0]
    return first.startswith((b":", b"data:", b"event:", b"id:", b"retry:"))


def _looks_like_ndjson(data: bytes) -> bool:
    """Two or more lines, each a JSON object (Ollama's native streams)."""
    lines = [line for line in data.splitlines() if line.strip()]
    if len(lines) < 2:
        return False
    try:
        return all(isinstance(loads(line), dict) for line in lines[:2])
    except ContentError:
        return False
