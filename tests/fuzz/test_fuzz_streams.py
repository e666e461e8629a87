"""SSE framing and the stream verifier under hostile bytes (issue 9: fuzz what parses them).

A sealed stream is mutated (bytes flipped, cut, inserted; events dropped,
repeated, swapped) and fed in random pieces. The verifier must either refuse it
with an llmseal error, or release exactly the content the receipt covers: never
a ``valid`` verdict over other content, never another exception.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import orjson
from hypothesis import event, given, settings
from hypothesis import strategies as st

from llmseal.client.verifier import ResponseVerifier
from llmseal.core.framing import read_stream, receipt_comment
from llmseal.core.hashing import StreamHasher, hash_json
from llmseal.core.keys import Ed25519Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.core.sign import issue_receipt
from llmseal.core.sse import SseSplitter, event_data
from llmseal.errors import Error
from tests.helpers import examples

ENDPOINT = "/v1/chat/completions"
REQUEST = orjson.dumps({"model": "m", "stream": True, "messages": []})
SIGNER = Ed25519Signer.generate("fuzz-2026q4")
KEYS = KeySet([KeyEntry(SIGNER.key_id, SIGNER.public_key())])
CHUNKS = [
    {"id": "s", "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
    for word in ("Hello", ", ", "world", "!")
]


def _sealed() -> bytes:
    hasher = StreamHasher()
    for chunk in CHUNKS:
        hasher.add(chunk)
    receipt = issue_receipt(
        SIGNER, model_id="m", at=datetime.now(UTC), prompt_hash=hash_json(orjson.loads(REQUEST)),
        output_hash=hasher.hexdigest(), claims={"endpoint": ENDPOINT, "status_code": 200},
    )  # fmt: skip
    events = b"".join(b"data: " + orjson.dumps(c) + b"\n\n" for c in CHUNKS)
    return events + receipt_comment(orjson.dumps(receipt.to_dict())) + b"data: [DONE]\n\n"


SEALED = _sealed()


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = SEALED
    how = draw(st.sampled_from(["none", "flip", "cut", "insert", "drop", "repeat", "swap"]))
    event(how)
    events = data.split(b"\n\n")
    if how == "flip":
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]
    elif how == "cut":
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif how == "insert":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=40)) + data[at:]
    elif how in ("drop", "repeat", "swap"):
        i = draw(st.integers(0, len(events) - 2))
        if how == "drop":
            del events[i]
        elif how == "repeat":
            events.insert(i, events[i])
        else:
            j = draw(st.integers(0, len(events) - 2))
            events[i], events[j] = events[j], events[i]
        data = b"\n\n".join(events)
    return data


def _content(chunks: list[Any]) -> list[Any]:
    return [{k: v for k, v in c.items() if k not in ("receipt", "llmseal", "receipt_evidence")}
            for c in chunks]  # fmt: skip


@settings(max_examples=examples(500))
@given(mutated(), st.lists(st.integers(0, 5000), max_size=6))
def test_a_mutated_stream_is_refused_or_exactly_the_signed_content(
    data: bytes, cuts: list[int]
) -> None:
    checker = ResponseVerifier(KEYS).stream(ENDPOINT, REQUEST)
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    out = b""
    try:
        for start, end in itertools.pairwise(points):
            out += checker.feed(data[start:end])
        out += checker.finish()
    except Error:
        event("refused")
        return
    event("accepted")
    assert checker.result is not None and checker.result.status.value == "valid"
    assert _content(list(read_stream(out).chunks)) == CHUNKS


@settings(max_examples=examples(500))
@given(st.binary(max_size=400), st.lists(st.integers(0, 1000), max_size=8))
def test_sse_splitting_is_independent_of_the_pieces(data: bytes, cuts: list[int]) -> None:
    whole = SseSplitter()
    expected = whole.feed(data)
    pieces = SseSplitter()
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    got: list[bytes] = []
    for start, end in itertools.pairwise(points):
        got += pieces.feed(data[start:end])
    assert got == expected and pieces.pending == whole.pending
    assert b"".join(expected) + whole.pending == data
    for item in expected:
        value = event_data(item)
        assert value is None or isinstance(value, bytes)
    event(f"events={min(len(expected), 3)}")


@settings(max_examples=examples(300))
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_pass_as_a_sealed_stream(data: bytes) -> None:
    checker = ResponseVerifier(KEYS).stream(ENDPOINT, REQUEST)
    try:
        checker.feed(data)
        checker.finish()
    except Error:
        event("refused")
        return
    raise AssertionError(f"accepted without a receipt: {data!r}")
