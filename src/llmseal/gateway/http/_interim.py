"""Interim (1xx) responses ahead of the final one, removed before the response parser.

RFC 9110 §15.2: a server may send any number of 1xx responses before the final
answer, and a client must be able to parse them "even if the client does not
expect one". An upstream on uvicorn sends ``100 Continue`` when the request had
``Expect: 100-continue``; others send ``103 Early Hints``. Taking one for the
final answer is how an answer ends up delivered (and sealed) to the wrong
request, so every 1xx is consumed here, uniformly, whatever its code: llhttp
only knows that 100, 102 and 103 carry no body, and would read an unknown 1xx
(``104``, ``199``) as if it had one.

``101 Switching Protocols`` is the exception: it ends HTTP on the connection.
The gateway never asks for an upgrade, so a 101 is a protocol error.
"""

from __future__ import annotations

import re

__all__ = ["MAX_INTERIM", "MAX_INTERIM_BYTES", "InterimSkipper", "UnexpectedInterim"]

MAX_INTERIM = 16
"""Interim responses accepted before one final response."""
MAX_INTERIM_BYTES = 64 << 10
"""Size of one interim response's head (status line and fields)."""

# Status line, RFC 9112 §4: HTTP-version SP 3DIGIT SP [reason] CRLF.
_INTERIM = re.compile(rb"HTTP/1\.[01] (1[0-9][0-9])[ \r]")
_STATUS_PREFIX = 13  # len(b"HTTP/1.1 100 "): enough bytes to tell interim from final
_END = b"\r\n\r\n"


class UnexpectedInterim(Exception):
    """A 101, too many interim responses, or one whose head is too large."""


class InterimSkipper:
    """Feed the bytes of one exchange; get back those of the final response."""

    __slots__ = ("_buffer", "count", "final")

    def __init__(self) -> None:
        self._buffer = b""
        self.count = 0
        self.final = False

    def feed(self, data: bytes) -> bytes:
        """The bytes that belong to the final response (b"" while inside interim ones).

        Raises:
            UnexpectedInterim: a 101, or interim responses past the limits.
        """
        if self.final:
            return data
        buffer = self._buffer + data if self._buffer else data
        while len(buffer) >= _STATUS_PREFIX:
            match = _INTERIM.match(buffer)
            if match is None:  # the final response starts here (or garbage the parser refuses)
                self.final = True
                self._buffer = b""
                return buffer
            if match.group(1) == b"101":
                raise UnexpectedInterim("upstream switched protocols (101) without being asked")
            end = buffer.find(_END, 0, MAX_INTERIM_BYTES + len(_END))
            if end < 0:
                break
            self.count += 1
            if self.count > MAX_INTERIM:
                raise UnexpectedInterim(f"upstream sent more than {MAX_INTERIM} 1xx responses")
            buffer = buffer[end + len(_END) :]
        if len(buffer) > MAX_INTERIM_BYTES:
            raise UnexpectedInterim(f"a 1xx response head larger than {MAX_INTERIM_BYTES} bytes")
        self._buffer = buffer
        return b""
