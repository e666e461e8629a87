"""NDJSON framing (docs/spec/stream.md §4): only the exact receipt-line shape is a receipt."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmseal.core.ndjson import LineSplitter, line_receipt, read_ndjson, receipt_line
from llmseal.errors import ContentError

RECEIPT = {"receipt_id": "r1", "signature": "s"}
EMPTY = {"role": "assistant", "content": ""}


def _part(text: str, done: bool = False) -> dict[str, Any]:
    return {"model": "m", "message": {"role": "assistant", "content": text}, "done": done}


def test_the_receipt_line_is_one_line_the_reader_finds() -> None:
    line = receipt_line(json.dumps(RECEIPT).encode(), b'{"chain":["c"]}')
    assert line.endswith(b"}\n") and line.count(b"\n") == 1
    found = line_receipt(json.loads(line))
    assert found is not None and found.receipt == RECEIPT and found.evidence == {"chain": ["c"]}
    with pytest.raises(ContentError, match="one line"):
        receipt_line(b'{"a":"\n"}')


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"llmseal_receipt": 1, "receipt": RECEIPT}, "framing 1"),
        ({"llmseal_receipt": "2", "receipt": RECEIPT}, "framing '2'"),
        ({"llmseal_receipt": True, "receipt": RECEIPT}, "framing True"),
        ({"llmseal_receipt": 2, "receipt": RECEIPT, "done": True}, "other members"),
        ({"llmseal_receipt": 2, "receipt": RECEIPT,
          "message": {"role": "assistant", "content": "smuggled"}}, "no content"),
        ({"llmseal_receipt": 2, "receipt": RECEIPT, "response": "smuggled"}, "no content"),
        ({"llmseal_receipt": 2, "receipt": RECEIPT,
          "message": {**EMPTY, "tool_calls": [{"function": {"name": "rm"}}]}}, "no content"),
        ({"llmseal_receipt": 2, "receipt": "r1"}, "must hold"),
        ({"llmseal_receipt": 2}, "must hold"),
        ({"llmseal_receipt": 2, "receipt": RECEIPT, "receipt_evidence": []}, "JSON object"),
    ],
)  # fmt: skip
def test_a_line_that_names_itself_a_receipt_must_be_exactly_one(
    line: dict[str, Any], message: str
) -> None:
    with pytest.raises(ContentError, match=message):
        line_receipt(line)


def test_content_lines_are_not_receipts() -> None:
    assert line_receipt(_part("hi")) is None
    assert line_receipt({"receipt": RECEIPT, "message": EMPTY}) is None  # no mark: content
    assert line_receipt([1, 2]) is None


def test_read_ndjson_splits_content_and_receipt() -> None:
    lines = [_part("Blue"), _part("", done=True)]
    data = b"".join(json.dumps(x).encode() + b"\r\n" for x in lines) + b"\n"
    data += receipt_line(json.dumps(RECEIPT).encode())
    saved = read_ndjson(data)
    assert list(saved.chunks) == lines
    assert saved.receipt is not None and saved.receipt.receipt == RECEIPT
    assert read_ndjson(data.rstrip(b"\n")).receipt is not None  # no final line end
    assert read_ndjson(b"".join(json.dumps(x).encode() + b"\n" for x in lines)).receipt is None


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        (b'{"model": "m", "done": false}\n', "continues after its receipt"),
        (receipt_line(b'{"receipt_id":"r2"}'), "more than one receipt"),
        (b"not json\n", "JSON"),
    ],
)
def test_read_ndjson_refuses_what_no_gateway_sends(tail: bytes, message: str) -> None:
    data = json.dumps(_part("x", done=True)).encode() + b"\n" + receipt_line(b"{}") + tail
    with pytest.raises(ContentError, match=message):
        read_ndjson(data)


def test_the_line_splitter_keeps_partial_lines_and_bounds_them() -> None:
    splitter = LineSplitter(max_line=10)
    assert splitter.feed(b'{"a":1}\n\n{"b"') == [b'{"a":1}']
    assert splitter.pending == b'{"b"'
    assert splitter.feed(b":2}\r\n") == [b'{"b":2}']
    with pytest.raises(ValueError, match="larger than the limit"):
        splitter.feed(b"x" * 11)
