"""What a streaming verifier keeps of one stream for its evidence sample.

The stream hash is incremental, so a long stream costs memory only up to the evidence
store's sample cap: past it the chunks are dropped and the stream gets no sample (its
evidence row is still written). Shared by the SSE and the NDJSON verifiers.
"""

from __future__ import annotations

from typing import Any

import orjson

from llmseal.store.evidencerecord import Sample

__all__ = ["StreamSample"]


class StreamSample:
    """The hashed chunks of one stream, as its sample will hold them, up to ``cap`` bytes."""

    __slots__ = ("_cap", "_chunks", "_kept", "_request")

    def __init__(self, request: bytes, cap: int | None) -> None:
        """``cap`` None: there is no evidence store, nothing is kept."""
        self._request = request
        self._cap = cap
        self._chunks: list[bytes] | None = [] if cap is not None else None
        self._kept = len(request)

    def keep(self, payload: bytes) -> None:
        if self._chunks is None or self._cap is None:
            return
        self._kept += len(payload) + 1
        if self._kept > self._cap:
            self._chunks = None  # over the cap: this stream's sample will be skipped
        else:
            self._chunks.append(payload)

    def sample(self, receipt: Any) -> Sample | None:
        if self._chunks is None:
            return None
        transcript = b"[" + b",".join(self._chunks) + b"]"
        return Sample(self._request, transcript, orjson.dumps(receipt))
