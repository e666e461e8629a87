"""What ``llmseal verify`` reads: a receipt, a sealed response, or a saved stream.

A stream saved with ``curl -N`` is split into its receipt and the chunks the
receipt's ``output_hash`` covers (docs/spec/stream.md): an SSE stream by
:func:`llmseal.core.framing.read_stream`, an NDJSON one (Ollama's native API) by
:func:`llmseal.core.ndjson.read_ndjson`.
"""

from __future__ import annotations

from typing import Any

from llmseal.cli._common import read_input
from llmseal.core.canonical import loads
from llmseal.core.framing import read_stream
from llmseal.core.ndjson import read_ndjson
from llmseal.errors import ContentError, InputError

__all__ = ["read_document"]


def read_document(path: str) -> tuple[Any, list[Any] | None]:
    """The JSON document, or for a saved SSE stream its receipt and hashed chunks."""
    data = read_input(path, "receipt")
    try:
        return loads(data), None
    except ContentError as exc:
        ndjson = _looks_like_ndjson(data)
        if not ndjson and not _looks_like_sse(data):
            raise InputError(f"receipt {path} is {exc}") from exc
    try:
        saved = read_ndjson(data) if ndjson else read_stream(data)
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
