"""Sealed NDJSON streams (Ollama's native API): the receipt as the stream's last line.

``POST /api/chat`` and ``/api/generate`` stream one JSON object per line
(``application/x-ndjson``), the last with ``"done": true``. NDJSON has no
comment syntax, so the receipt is one more line (docs/spec/stream.md, "NDJSON
streams"), shaped so that the ``ollama`` Python client, which turns every line
into a ``ChatResponse`` / ``GenerateResponse``, reads it as an empty part::

    {"llmseal_receipt":2,"message":{"role":"assistant","content":""},"response":"",
     "receipt":{...},"receipt_evidence":{...}}

Only that exact shape is a receipt line: ``llmseal_receipt`` names the framing
version, ``message`` and ``response`` are empty, nothing else is there. A line
that names itself a receipt line in any other shape is refused, so a relay cannot
hide text in one. ``output_hash`` covers every other line, parsed, in order.
"""

from __future__ import annotations

from typing import Any

from llmseal.core.canonical import loads
from llmseal.core.framing import FRAMING, SavedStream, StreamReceipt
from llmseal.errors import ContentError

__all__ = [
    "RECEIPT_MARK",
    "LineSplitter",
    "line_receipt",
    "read_ndjson",
    "receipt_line",
]

RECEIPT_MARK = "llmseal_receipt"
"""The member that makes a line a receipt line; its value is the framing version."""

_EMPTY_MESSAGE = {"role": "assistant", "content": ""}
_MEMBERS = frozenset({RECEIPT_MARK, "message", "response", "receipt", "receipt_evidence"})
_PREFIX = b'{"%s":%d,"message":{"role":"assistant","content":""},"response":"","receipt":' % (
    RECEIPT_MARK.encode(),
    FRAMING,
)


def receipt_line(receipt_json: bytes, evidence_json: bytes | None = None) -> bytes:
    """The receipt line (LF-terminated) for a receipt given as compact JSON."""
    line = _PREFIX + receipt_json
    if evidence_json is not None:
        line += b',"receipt_evidence":' + evidence_json
    if b"\n" in line or b"\r" in line:
        raise ContentError("a receipt line must fit on one line")
    return line + b"}\n"


def line_receipt(value: Any) -> StreamReceipt | None:
    """The receipt a parsed line carries; None for a content line.

    Raises ContentError for a line that names itself a receipt line but is not
    exactly one (unknown version, other members, a non-empty message).
    """
    if not isinstance(value, dict) or RECEIPT_MARK not in value:
        return None
    version = value[RECEIPT_MARK]
    if type(version) is not int or version != FRAMING:
        raise ContentError(
            f"receipt line framing {version!r} is not supported (this verifier reads {FRAMING})"
        )
    extra = value.keys() - _MEMBERS
    if extra:
        raise ContentError(f"a receipt line carries other members: {sorted(extra)}")
    if value.get("message", _EMPTY_MESSAGE) != _EMPTY_MESSAGE or value.get("response", "") != "":
        raise ContentError("a receipt line must carry no content")
    receipt, evidence = value.get("receipt"), value.get("receipt_evidence")
    if not isinstance(receipt, dict):
        raise ContentError('a receipt line must hold "receipt": {...}')
    if evidence is not None and not isinstance(evidence, dict):
        raise ContentError("receipt_evidence must be a JSON object")
    return StreamReceipt(receipt, evidence, FRAMING)


class LineSplitter:
    """Feed bytes, get back complete non-blank lines (without their line end)."""

    __slots__ = ("_buffer", "max_line")

    def __init__(self, max_line: int = 8 << 20) -> None:
        self._buffer = b""
        self.max_line = max_line

    def feed(self, data: bytes) -> list[bytes]:
        """Complete lines so far; raises ValueError if one grows past ``max_line``."""
        buffer = self._buffer + data if self._buffer else data
        *lines, self._buffer = buffer.split(b"\n")
        if len(self._buffer) > self.max_line:
            raise ValueError("NDJSON line larger than the limit")
        return [line for line in (raw.rstrip(b"\r") for raw in lines) if line.strip()]

    @property
    def pending(self) -> bytes:
        """Bytes of an incomplete last line (the stream was cut, or has no final LF)."""
        return self._buffer


def read_ndjson(data: bytes) -> SavedStream:
    """Split a saved NDJSON stream (``curl -N ... > answer.ndjson``) for verification.

    Raises ContentError for a stream a gateway could not have sealed: a line
    that is not JSON, two receipts, content after the receipt.
    """
    splitter = LineSplitter(max_line=len(data) + 1)
    lines = splitter.feed(data)
    if splitter.pending.strip():
        lines.append(splitter.pending)
    chunks: list[Any] = []
    found: StreamReceipt | None = None
    for line in lines:
        value = loads(line)
        receipt = line_receipt(value)
        if receipt is not None:
            if found is not None:
                raise ContentError("the stream carries more than one receipt")
            found = receipt
        elif found is not None:
            raise ContentError("the stream continues after its receipt")
        else:
            chunks.append(value)
    return SavedStream(tuple(chunks), found)
