"""RFC 8785 (JCS) canonical JSON: the bytes every hash and signature is over.

Signatures and content hashes are computed over JCS bytes (design.md, "Content
hashes"). The reference implementation is the ``rfc8785`` package; it walks the
value in Python and costs ~20-50 µs per KB, which alone would exceed the signing
budget. ``_jcs`` is a small C serializer with the same domain and output
(RFC 8785 §3.2: sorted UTF-16 keys, ECMAScript number form, minimal escaping),
proven equal to the reference by the official vectors and property tests
(``tests/unit/core/test_canonical.py``). If the accelerator is not built, the
reference is used: slower, never different.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson
import rfc8785

from llmseal.errors import CanonicalizationError, ContentError


def _accelerator() -> Callable[[Any], bytes] | None:
    try:
        from llmseal.core import _jcs
    except ImportError:  # pragma: no cover - the package build always compiles it
        return None
    return _jcs.dumps


_fast_dumps = _accelerator()

__all__ = ["ACCELERATED", "canonicalize", "canonicalize_reference", "loads"]

ACCELERATED: bool = _fast_dumps is not None
"""True when the C canonicalizer is in use."""

_DOMAIN_ERRORS = (TypeError, ValueError, UnicodeError, RecursionError)

# orjson reads integers in [-2**63, 2**64) exactly and turns any other integer
# literal into a float: a relay could then change the digits without changing
# either hash, while a stdlib-json SDK reads the relay's exact integer. Such a
# literal has at least 19 digits, so only text with a run that long is scanned
# (strings skipped; fraction and exponent digits are not integers).
# The pre-check maps every digit to "0" and every other byte to " ", then looks
# for 19 zeros: two C passes, ~10x faster than a regex trying each position.
_DIGIT_MAP = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_DIGIT_RUN = b"0" * 19
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|(?<![0-9.eE+-])(-?[0-9]{19,})(?![0-9.eE])')
_EXACT = range(-(2**63), 2**64)


def canonicalize(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON value.

    Raises:
        CanonicalizationError: the value has no JCS form (NaN, unsafe integer,
            non-string key, lone surrogate, non-JSON type, nesting too deep).
    """
    if _fast_dumps is None:  # pragma: no cover
        return canonicalize_reference(value)
    try:
        return _fast_dumps(value)
    except _DOMAIN_ERRORS as exc:
        raise CanonicalizationError(f"cannot canonicalize JSON (RFC 8785): {exc}") from exc


def canonicalize_reference(value: Any) -> bytes:
    """Canonicalize with the reference ``rfc8785`` implementation."""
    try:
        return bytes(rfc8785.dumps(value))
    except (rfc8785.CanonicalizationError, *_DOMAIN_ERRORS) as exc:
        raise CanonicalizationError(f"cannot canonicalize JSON (RFC 8785): {exc}") from exc


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Parse JSON text strictly (no NaN/Infinity literals, valid UTF-8 only).

    Raises:
        ContentError: the text is not JSON.
        CanonicalizationError: it holds an integer beyond 64 bits (which would be
            read as a rounded float).
    """
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ContentError(f"not valid JSON: {exc}") from exc
    if _has_long_digits(data):
        _refuse_rounded_integers(data)
    return value


def _has_long_digits(data: bytes | bytearray | memoryview | str) -> bool:
    # In UTF-8 no byte of a multi-byte character is an ASCII digit, so a run of
    # 19 digit bytes is a run of 19 digit characters.
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    return _DIGIT_RUN in raw.translate(_DIGIT_MAP)


def _refuse_rounded_integers(data: bytes | bytearray | memoryview | str) -> None:
    """CanonicalizationError for an integer literal the parser would have rounded."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    for match in _TOKENS.finditer(raw):
        digits = match.group(1)
        if digits is not None and int(digits) not in _EXACT:
            raise CanonicalizationError(
                f"an integer of {len(digits.lstrip(b'-'))} digits is beyond 64 bits: "
                "refused, never rounded"
            )
