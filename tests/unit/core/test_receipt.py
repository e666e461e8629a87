"""The receipt model: strict parsing, round trips, extension claims kept."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmseal.core.receipt import CORE_MEMBERS, Receipt
from llmseal.errors import Error, MalformedReceiptError


def test_vectors_parse_and_round_trip(attest_vectors: dict[str, Any]) -> None:
    for case in attest_vectors["cases"]:
        receipt = Receipt.from_dict(case["receipt"])
        assert receipt.to_dict() == case["receipt"]
        assert receipt.claims == {}


def test_signing_bytes_match_the_spec_example(attest_vectors: dict[str, Any]) -> None:
    # The exact signed bytes of demo-valid-001 (receipt-and-log notes, §1.3).
    receipt = Receipt.from_dict(attest_vectors["cases"][0]["receipt"])
    assert receipt.signing_bytes() == (
        b'{"issued_at":"2026-04-12T14:32:00Z","key_id":"gitjob-demo-2026q2",'
        b'"model_id":"gitjob.io/claude-sonnet-4-6","nonce":"6tmw7Mc3Ylw3molRAzstIg",'
        b'"output_hash":"8c6cfc3914fd3f4f8861ee3541d79ca67db71532eb3c3e9a909bc4e51c1b7cb8",'
        b'"prompt_hash":"26ace40ef267e0f859d3d75f7aa65f9eb5ed7212c0f70741ac167a029535612a",'
        b'"receipt_id":"demo-valid-001"}'
    )


def test_extension_claims_are_kept_and_signed(receipt: Receipt) -> None:
    wire = receipt.to_dict()
    again = Receipt.from_dict(wire)
    assert again == receipt
    assert again.claims["usage"] == {"total_tokens": 303}
    assert b'"usage":{"total_tokens":303}' in receipt.signing_bytes()
    assert b'"signature"' not in receipt.signing_bytes()


def test_from_json_accepts_any_formatting(receipt: Receipt) -> None:
    wire = receipt.to_dict()
    pretty = json.dumps(dict(reversed(list(wire.items()))), indent=4, ensure_ascii=True)
    assert Receipt.from_json(pretty) == receipt


@pytest.mark.parametrize("member", CORE_MEMBERS)
def test_missing_member_is_malformed(receipt: Receipt, member: str) -> None:
    wire = receipt.to_dict()
    del wire[member]
    with pytest.raises(MalformedReceiptError, match=member):
        Receipt.from_dict(wire)


@pytest.mark.parametrize("member", CORE_MEMBERS)
@pytest.mark.parametrize("value", [None, 1, 1.5, [], {}, True])
def test_ill_typed_member_is_malformed(receipt: Receipt, member: str, value: Any) -> None:
    wire = receipt.to_dict()
    wire[member] = value
    with pytest.raises(MalformedReceiptError, match=member):
        Receipt.from_dict(wire)


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("prompt_hash", "sha256:" + "a" * 64),
        ("output_hash", "A" * 64),
        ("output_hash", "a" * 63),
        ("nonce", "6tmw7Mc3Ylw3molRAzstIg=="),
        ("nonce", "6tmw7Mc3Ylw3molRAzstIh"),  # non-zero trailing bits
        ("nonce", "short"),
        ("issued_at", "2026-04-12T14:32:00.5Z"),
        ("issued_at", "2026-04-12T14:32:00+00:00"),
        ("issued_at", "2026-02-30T00:00:00Z"),
        ("receipt_id", ""),
        ("key_id", "line\nbreak"),
        ("weight_hash", "xyz"),
        ("weight_hash", None),
    ],
)
def test_non_normative_encodings_are_malformed(receipt: Receipt, member: str, value: Any) -> None:
    wire = receipt.to_dict()
    wire[member] = value
    with pytest.raises(MalformedReceiptError):
        Receipt.from_dict(wire)


@pytest.mark.parametrize("text", ["", "[]", "null", "{", '"receipt"', "\ud800"])
def test_not_json_or_not_object(text: str) -> None:
    with pytest.raises(MalformedReceiptError):
        Receipt.from_json(text.encode("utf-8", "surrogatepass"))


def _assert_one_readable_line(exc: Error) -> None:
    message = exc.diagnostics()
    assert message and "\n" not in message and "Traceback" not in message


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=8),
    max_leaves=20,
)


@given(JSONISH)
def test_fuzzed_objects_raise_only_typed_errors(value: Any) -> None:
    try:
        Receipt.from_dict(value)
    except Error as exc:
        _assert_one_readable_line(exc)


@given(st.dictionaries(st.sampled_from([*CORE_MEMBERS, "weight_hash", "x"]), JSONISH))
def test_fuzzed_receipt_shapes_raise_only_typed_errors(value: dict[str, Any]) -> None:
    try:
        Receipt.from_dict(value)
    except Error as exc:
        _assert_one_readable_line(exc)


@given(st.binary(max_size=200))
def test_fuzzed_bytes_raise_only_typed_errors(data: bytes) -> None:
    try:
        Receipt.from_json(data)
    except Error as exc:
        _assert_one_readable_line(exc)
