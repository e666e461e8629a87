"""Where a receipt travels inside a sealed stream (docs/spec/stream.md, "Framing").

**Framing 2** (what the gateway sends): the receipt is one SSE *comment* line,
after the last event it covers, before the ``data: [DONE]`` sentinel when the
protocol has one (chat and text completions) and as the last thing in the
stream when it has none (Anthropic messages, the Responses API)::

    : llmseal-receipt 2 {"receipt":{...},"receipt_evidence":{...}}

Every SSE decoder drops comment lines (WHATWG HTML, "Server-sent events",
event stream interpretation: a line starting with ``:`` is ignored), so the
official SDKs and a caller's ``chunk.choices[0]`` loop never see it; every
``data:`` event is then content and is hashed, with no exception to argue about.

**Framing 1** (round 1, verified, never sent): the receipt was the stream's last
``data:`` event, a JSON object with a ``receipt`` member and nothing that could
be content — ``choices: []`` for OpenAI streams, ``{"type": "ping"}`` for
Anthropic ones. Only that exact shape is excluded from the hash, so a relay
cannot hide content in a "receipt chunk".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmseal.core.canonical import loads
from llmseal.core.sse import SseSplitter, event_data
from llmseal.errors import ContentError

__all__ = [
    "FRAMING",
    "SavedStream",
    "StreamReceipt",
    "comment_receipt",
    "legacy_receipt",
    "read_stream",
    "receipt_comment",
]

FRAMING = 2
"""The framing version this library sends."""

_TAG = b"llmseal-receipt"
# ":" then at most one space, the tag, a space, the version, a space, the JSON.
_COMMENT = re.compile(rb":[ ]?llmseal-receipt (\d{1,4}) ([^\r\n]*)")
_LINE_END = re.compile(rb"\r\n|\n|\r")

# Framing 1 receipt chunks: every member the round-1 gateway put in one.
_LEGACY_OPENAI = frozenset({"id", "object", "created", "model", "choices", "receipt",
                            "receipt_evidence"})  # fmt: skip
_LEGACY_ANTHROPIC = frozenset({"type", "receipt", "receipt_evidence"})


@dataclass(frozen=True, slots=True)
class StreamReceipt:
    """A receipt found in a stream, with the evidence beside it (untrusted until checked)."""

    receipt: Mapping[str, Any]
    evidence: Mapping[str, Any] | None
    framing: int


def receipt_comment(receipt_json: bytes, evidence_json: bytes | None = None) -> bytes:
    """The framing-2 event for a receipt given as compact JSON (no raw line breaks)."""
    body = b'{"receipt":' + receipt_json
    if evidence_json is not None:
        body += b',"receipt_evidence":' + evidence_json
    if b"\n" in body or b"\r" in body:  # JSON text never needs a raw line break
        raise ContentError("a receipt comment must fit on one line")
    return b": " + _TAG + b" %d " % FRAMING + body + b"}\n\n"


def comment_receipt(event: bytes) -> StreamReceipt | None:
    """The receipt a framing-2 comment event carries; None for any other event.

    Raises ContentError for an event that names itself a receipt comment but is
    not a well-formed one (unknown version, bad JSON, other lines beside it).
    """
    if _TAG not in event:
        return None
    lines = [line for line in _LINE_END.split(event) if line]
    tagged = [m for m in map(_COMMENT.fullmatch, lines) if m is not None]
    if not tagged:
        return None
    if len(lines) != 1:
        raise ContentError("a receipt comment must be an event of its own")
    version, body = int(tagged[0][1]), tagged[0][2]
    if version != FRAMING:
        raise ContentError(
            f"receipt framing {version} is not supported (this verifier reads {FRAMING})"
        )
    value = loads(body)
    if not isinstance(value, dict) or not isinstance(value.get("receipt"), dict):
        raise ContentError('a receipt comment must hold {"receipt": {...}}')
    evidence = value.get("receipt_evidence")
    if evidence is not None and not isinstance(evidence, dict):
        raise ContentError("receipt_evidence must be a JSON object")
    return StreamReceipt(value["receipt"], evidence, FRAMING)


def legacy_receipt(chunk: Any) -> StreamReceipt | None:
    """The receipt of a framing-1 receipt chunk (strict shape), or None."""
    if not isinstance(chunk, dict) or not isinstance(chunk.get("receipt"), dict):
        return None
    members = chunk.keys()
    openai = chunk.get("choices") == [] and members <= _LEGACY_OPENAI
    anthropic = chunk.get("type") == "ping" and members <= _LEGACY_ANTHROPIC
    if not (openai or anthropic):
        return None
    evidence = chunk.get("receipt_evidence")
    return StreamReceipt(chunk["receipt"], evidence if isinstance(evidence, dict) else None, 1)


@dataclass(frozen=True, slots=True)
class SavedStream:
    """A stream as a verifier sees it: the hashed chunks in order, and its receipt."""

    chunks: tuple[Any, ...]
    receipt: StreamReceipt | None


def read_stream(data: bytes) -> SavedStream:
    """Split a saved SSE stream (``curl -N ... > answer.sse``) for verification.

    Raises ContentError for a stream that is not one a gateway could have
    sealed: a non-JSON event, two receipts, content after the receipt.
    """
    splitter = SseSplitter(max_event=len(data) + 1)
    events = splitter.feed(data)
    if splitter.pending.strip():
        events.append(splitter.pending + b"\n\n")  # a file cut after its last line break
    chunks: list[Any] = []
    found: StreamReceipt | None = None
    done = False
    for event in events:
        receipt = comment_receipt(event)
        if receipt is not None:
            if found is not None:
                raise ContentError("the stream carries more than one receipt")
            found = receipt
            continue
        payload = event_data(event)
        if payload is None:
            continue
        if done:
            raise ContentError("the stream continues after data: [DONE]")
        if payload.strip() == b"[DONE]":
            done = True
            continue
        if found is not None:
            raise ContentError("the stream continues after its receipt")
        chunks.append(loads(payload))
    if found is None and chunks:
        found = legacy_receipt(chunks[-1])
        if found is not None:
            chunks.pop()
    return SavedStream(tuple(chunks), found)
