"""RFC 3339 timestamps as the receipt format wants them.

v0.3 "Field encodings": ``issued_at`` is UTC at second precision with a ``Z``
suffix. Receipts are parsed strictly; key-set dates (``created_at``,
``rotated_at``) are parsed leniently (any RFC 3339 offset, fractions allowed)
because they are written by hand more often.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

__all__ = ["format_utc", "parse_lenient", "parse_strict", "utc"]

_STRICT = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\Z")
_LENIENT = re.compile(
    r"\A(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\Z"
)

# (second, text) swapped as one tuple so concurrent threads never see a torn pair.
_cache: tuple[int, str] = (-1, "")


def utc(dt: datetime) -> datetime:
    """Return ``dt`` in UTC; a naive datetime is taken to be UTC already."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def format_utc(dt: datetime) -> str:
    """Format as ``YYYY-MM-DDTHH:MM:SSZ`` (fractions are truncated, not rounded)."""
    global _cache
    dt = utc(dt)
    # Issuing thousands of receipts per second formats the same second again and
    # again; remembering the last one keeps strftime off the signing path.
    second = int(dt.timestamp())
    cached = _cache
    if cached[0] == second:
        return cached[1]
    text = dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    _cache = (second, text)
    return text


def parse_strict(text: str) -> datetime:
    """Parse a receipt timestamp; raises ``ValueError`` unless it is exactly v0.3 form."""
    if _STRICT.match(text) is None:
        raise ValueError(f"not an RFC 3339 UTC timestamp with second precision: {text!r}")
    # The regex fixed the shape; the C parser checks the calendar (Feb 30 fails).
    return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)


def parse_lenient(text: str) -> datetime:
    """Parse any RFC 3339 timestamp; raises ``ValueError`` if it is not one."""
    m = _LENIENT.match(text)
    if m is None:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    normalized = text.upper().replace("Z", "+00:00").replace(" ", "T")
    return datetime.fromisoformat(normalized).astimezone(UTC)
