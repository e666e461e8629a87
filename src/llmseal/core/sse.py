"""Incremental Server-Sent Events framing (WHATWG HTML, "Server-sent events").

The gateway forwards each event's bytes exactly as the upstream sent them, and the
verifying client releases them to the SDK the same way; both only need to know
where events end and what their ``data`` is. Events end at a
blank line; lines end with CRLF, LF or CR.
"""

from __future__ import annotations

import re

__all__ = ["SseSplitter", "event_data"]

_BOUNDARY = re.compile(rb"\r\n\r\n|\n\n|\r\r")
_LINE = re.compile(rb"\r\n|\n|\r")


class SseSplitter:
    """Feed bytes, get back complete events (raw bytes, terminator included)."""

    __slots__ = ("_buffer", "max_event")

    def __init__(self, max_event: int = 8 << 20) -> None:
        self._buffer = b""
        self.max_event = max_event

    def feed(self, data: bytes) -> list[bytes]:
        """Complete events found so far; raises ValueError if one grows past ``max_event``."""
        buffer = self._buffer + data if self._buffer else data
        events: list[bytes] = []
        start = 0
        while True:
            match = _BOUNDARY.search(buffer, start)
            if match is None:
                break
            events.append(buffer[start : match.end()])
            start = match.end()
        self._buffer = buffer[start:]
        if len(self._buffer) > self.max_event:
            raise ValueError("server-sent event larger than the limit")
        return events

    @property
    def pending(self) -> bytes:
        """Bytes of an incomplete event (non-empty when a stream was cut mid-event)."""
        return self._buffer


def event_data(event: bytes) -> bytes | None:
    """The event's ``data`` (lines joined with LF), or None for comment/field-only events."""
    if event.startswith(b"data: ") and event.endswith(b"\n\n"):
        body = event[6:-2]
        if b"\n" not in body and b"\r" not in body:
            return body  # the one-line event every LLM server sends: no line splitting
    data: list[bytes] = []
    for line in _LINE.split(event):
        if line.startswith(b"data:"):
            value = line[5:]
            data.append(value[1:] if value.startswith(b" ") else value)
        elif line == b"data":
            data.append(b"")
    if not data:
        return None
    return b"\n".join(data)
