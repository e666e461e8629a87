"""Issue 9, defect 8: with evidence on, a long stream is held in memory only up to the cap."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path

import orjson

from llmseal.client.verifier import ResponseVerifier
from llmseal.core.framing import receipt_comment
from llmseal.core.hashing import StreamHasher, hash_json
from llmseal.core.sign import issue_receipt
from llmseal.store.evidence import EvidenceStore
from tests.unit.client.conftest import ENDPOINT, NOW, Issuer

CAP = 64 << 10
CHUNKS = 2000  # ~2 MiB of content in ~1 KiB events
REQUEST = orjson.dumps({"model": "m", "stream": True, "messages": []})


def _stream(issuer: Issuer) -> list[bytes]:
    hasher = StreamHasher()
    events = []
    for n in range(CHUNKS):
        chunk = {"id": "s", "n": n, "choices": [{"index": 0, "delta": {"content": "x" * 1000}}]}
        hasher.add(chunk)
        events.append(b"data: " + orjson.dumps(chunk) + b"\n\n")
    receipt = issue_receipt(
        issuer.signer, model_id="m", at=NOW, prompt_hash=hash_json(orjson.loads(REQUEST)),
        output_hash=hasher.hexdigest(), claims={"endpoint": ENDPOINT, "status_code": 200},
    )  # fmt: skip
    events.append(receipt_comment(orjson.dumps(receipt.to_dict())))
    events.append(b"data: [DONE]\n\n")
    return events


def _peak(verifier: ResponseVerifier, events: list[bytes]) -> int:
    checker = verifier.stream(ENDPOINT, REQUEST)
    tracemalloc.start()
    try:
        for event in events:
            checker.feed(event)
        checker.finish()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert checker.result is not None and checker.result.status.value == "valid"
    return peak


def test_a_long_stream_is_not_kept_past_the_sample_cap(
    issuer: Issuer, make_verifier: Callable[..., ResponseVerifier], tmp_path: Path
) -> None:
    events = _stream(issuer)
    streamed = sum(len(e) for e in events)
    store = EvidenceStore(tmp_path, sample_cap=CAP)
    peak = _peak(make_verifier(evidence=store, sample_rate=1.0), events)
    assert streamed > 30 * CAP
    assert peak < 8 * CAP, f"held {peak} bytes of a {streamed}-byte stream"
    store.close()
    record = next(iter(EvidenceStore(tmp_path).list()))
    assert record.status == "valid" and record.sampled and record.sample is None  # skipped


def test_a_short_stream_is_still_sampled(
    issuer: Issuer, make_verifier: Callable[..., ResponseVerifier], tmp_path: Path
) -> None:
    events = [*_stream(issuer)[:3]]  # three chunks: a receipt over them is needed
    hasher = StreamHasher()
    for event in events:
        hasher.add(orjson.loads(event[6:]))
    receipt = issue_receipt(
        issuer.signer, model_id="m", at=NOW, prompt_hash=hash_json(orjson.loads(REQUEST)),
        output_hash=hasher.hexdigest(), claims={"endpoint": ENDPOINT, "status_code": 200},
    )  # fmt: skip
    events += [receipt_comment(orjson.dumps(receipt.to_dict())), b"data: [DONE]\n\n"]
    store = EvidenceStore(tmp_path, sample_cap=CAP)
    _peak(make_verifier(evidence=store, sample_rate=1.0), events)
    store.close()
    record = next(iter(EvidenceStore(tmp_path).list()))
    sample = EvidenceStore(tmp_path).sample_path(record)
    assert sample is not None
    saved = orjson.loads((sample / "response.json").read_bytes())
    assert [c["n"] for c in saved] == [0, 1, 2]
