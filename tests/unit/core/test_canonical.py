"""RFC 8785: the accelerated canonicalizer is byte-identical to the reference."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from llmseal.core.canonical import ACCELERATED, canonicalize, canonicalize_reference, loads
from llmseal.errors import CanonicalizationError, ContentError
from tests.helpers import examples

JCS = Path(__file__).parents[2] / "vectors" / "jcs"
CASES = sorted(p.stem for p in (JCS / "input").glob("*.json"))
assert CASES == ["arrays", "french", "structures", "unicode", "values", "weird"], CASES


def test_accelerator_is_built() -> None:
    # Speed is a feature: a silent fallback to the Python reference would hide a
    # 15x regression behind green tests.
    assert ACCELERATED


def test_all_six_vector_pairs_present() -> None:
    assert CASES == ["arrays", "french", "structures", "unicode", "values", "weird"]


@pytest.mark.parametrize("case", CASES)
def test_official_vectors(case: str) -> None:
    value = json.loads((JCS / "input" / f"{case}.json").read_text(encoding="utf-8"))
    expected = (JCS / "output" / f"{case}.json").read_bytes()
    assert canonicalize(value) == expected
    assert expected.hex() == "".join((JCS / "outhex" / f"{case}.txt").read_text().split())
    assert canonicalize_reference(value) == expected


def _es6_sequence() -> Iterator[int]:
    """The ES6 number test sequence of cyberphone/json-canonicalization (numgen.js)."""
    yield from (int(x, 16) for x in (JCS / "es6_static_u64.txt").read_text().split())
    yield from (0x0010000000000000 + i for i in range(2000))
    block, pending = bytes(32), list[float]()
    while True:
        value = 0.0
        while value == 0.0 or not math.isfinite(value):
            if not pending:
                block = hashlib.sha256(block).digest()
                pending = list(struct.unpack("<4d", block))
            value = pending.pop(0)
        yield struct.unpack("<Q", struct.pack("<d", value))[0]


@pytest.mark.parametrize(
    ("lines", "digest"),
    [
        (1000, "be18b62b6f69cdab33a7e0dae0d9cfa869fda80ddc712221570f9f40a5878687"),
        (100000, "22776e6d4b49fa294a0d0f349268e5c28808fe7e0cb2bcbe28f63894e494d4c7"),
    ],
)
def test_es6_number_file_hash(lines: int, digest: str) -> None:
    # Published SHA-256 of the first N lines "hex-ieee,expected\n" (testdata/README.md).
    sha = hashlib.sha256()
    for bits in itertools.islice(_es6_sequence(), lines):
        number = struct.unpack("<d", struct.pack("<Q", bits))[0]
        text = canonicalize([number])[1:-1].decode("ascii")
        sha.update(f"{bits:x},{text}\n".encode("ascii"))
    assert sha.hexdigest() == digest


KEYS = st.text(alphabet=st.characters(codec="utf-8"), max_size=6)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(codec="utf-8"))
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=40,
)


@settings(max_examples=examples(1500))
@given(VALUES)
def test_identical_to_reference(value: Any) -> None:
    assert canonicalize(value) == rfc8785.dumps(value)


@settings(max_examples=examples(500))
@given(
    st.dictionaries(st.text(alphabet="a\ue000\uffff\U0001f600\U00010000", max_size=3), st.none())
)
def test_key_order_is_utf16_even_for_astral_keys(value: dict[str, None]) -> None:
    assert canonicalize(value) == rfc8785.dumps(value)


@settings(max_examples=examples(800))
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_identical_and_round_trip(number: float) -> None:
    out = canonicalize([number])
    assert out == rfc8785.dumps([number])
    assert json.loads(out, parse_int=float)[0] == number  # JSON numbers are doubles


SMALL_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    # An integral double >= 2**53 prints as an integer literal, which parses back as
    # an integer outside the I-JSON range and is refused (no silent precision loss).
    | st.floats(min_value=-(2.0**53) + 1, max_value=2.0**53 - 1)
    | st.text(alphabet=st.characters(codec="utf-8")),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=40,
)


@given(SMALL_VALUES)
def test_canonical_form_is_a_fixed_point(value: Any) -> None:
    once = canonicalize(value)
    assert canonicalize(loads(once)) == once


@pytest.mark.parametrize(
    "bad",
    [
        float("nan"),
        [float("inf")],
        {"a": [1, float("-inf")]},
        2**53,
        [-(2**53)],
        [2**64],
        {1: "x"},
        "\ud800",
        {"\udfff": 1},
        object(),
        b"bytes",
        {1.5},
    ],
)
def test_rejects_what_the_reference_rejects(bad: Any) -> None:
    with pytest.raises(CanonicalizationError):
        canonicalize(bad)
    with pytest.raises((rfc8785.CanonicalizationError, TypeError, ValueError, UnicodeError)):
        rfc8785.dumps(bad)


def test_deep_nesting_is_a_typed_error() -> None:
    value: Any = []
    for _ in range(100_000):
        value = [value]
    with pytest.raises(CanonicalizationError):
        canonicalize(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<>&", b'"<>&"'),
        ("é\u2028\x7f", '"é\u2028\x7f"'.encode()),
        ('\x00\x1f\b\f\n\r\t"\\', b'"\\u0000\\u001f\\b\\f\\n\\r\\t\\"\\\\"'),
        (-0.0, b"0"),
        (1e21, b"1e+21"),
        (1e20, b"100000000000000000000"),
        (1e-7, b"1e-7"),
        (1e-6, b"0.000001"),
        ((1, "a"), b'[1,"a"]'),
    ],
)
def test_spot_values(value: Any, expected: bytes) -> None:
    assert canonicalize(value) == expected


def test_integers_beyond_ijson_range_in_text_are_refused_not_rounded() -> None:
    with pytest.raises(CanonicalizationError):
        canonicalize(loads(b'{"seed": 9007199254740993}'))


@pytest.mark.parametrize("text", [b"{", b"NaN", b"[Infinity]", b"\xff", b"", b'{"a":1,}'])
def test_loads_is_strict(text: bytes) -> None:
    with pytest.raises(ContentError):
        loads(text)


@pytest.mark.parametrize("value", [float("nan"), 2**53, {1: "x"}, "\ud800", object()])
def test_both_canonicalizers_refuse_with_one_message(value: Any) -> None:
    for function in (canonicalize, canonicalize_reference):
        with pytest.raises(CanonicalizationError) as info:
            function(value)
        assert str(info.value).startswith("cannot canonicalize JSON (RFC 8785): "), function
        assert len(str(info.value)) > len("cannot canonicalize JSON (RFC 8785): ")
    with pytest.raises(ContentError, match="not valid JSON"):
        loads(b"NaN")
