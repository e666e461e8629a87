"""Transparency-log benchmarks (issue 10), each beside its raw primitive in the same run.

* ``sequence_admitted``: a real :class:`~llmseal.log.service.service.TransparencyLog` on disk
  (fsync on) takes pre-signed receipts one by one — parse, admission signature check,
  durable index, tiles, bundles, signed checkpoint — sustained for ``seconds``; ``raw``
  is bare Ed25519 verification of the same receipts (the admission floor, one thread).
* ``sequence_batched``: the same, 256 receipts per submission (``POST /add`` with an
  array): still every signature checked, one call per batch.
* ``submit_to_proof``: at half the ``sequence_admitted`` rate, paced, the time from a
  receipt's submission to the publication of a checkpoint that covers it (from then
  on its proof can be served), p50/p99.
* ``inclusion_verify``, ``proof_generation``: a 2^20-leaf tree (2^16 with ``quick``)
  built by the log's own tile writer; ``raw`` is the proof's own SHA-256 work.
* ``proofs_http``, ``gateway_log``: :mod:`llmseal.bench._support.loghttp`.
"""

from __future__ import annotations

import base64
import os
import statistics
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from llmseal.bench._support.timing import ops_per_second
from llmseal.core.canonical import loads
from llmseal.core.keys import Ed25519Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.core.receipt import Receipt
from llmseal.core.sign import sign_exchange
from llmseal.log.note.checkpoint import SignedCheckpoint
from llmseal.log.service.service import TransparencyLog, init_log
from llmseal.log.tree.edge import TreeEdge
from llmseal.log.tree.merkle import inclusion_proof, leaf_hash, verify_inclusion
from llmseal.log.tree.tilereader import TileCache, TileHashReader

__all__ = ["run", "signed_receipts"]

BATCH = 256


def run(*, quick: bool) -> dict[str, Any]:
    from llmseal.bench._support import loghttp

    seconds = 2.0 if quick else 30.0
    issuer, receipts = signed_receipts(int(seconds * (9_000 if quick else 7_000)))
    keys = KeySet([KeyEntry(issuer.key_id, issuer.public_key())])
    raw_verify = _raw_verify(receipts, issuer, quick)
    with tempfile.TemporaryDirectory(prefix="llmseal-bench-log-") as tmp:
        single = _sequence(Path(tmp) / "a", keys, receipts, seconds, batch=1)
        batched = _sequence(Path(tmp) / "b", keys, receipts, seconds, batch=BATCH)
        latency = _latency(Path(tmp) / "c", keys, receipts, single["ops_per_s"] / 2, seconds)
    rows = {
        "sequence_admitted": {
            **single,
            "raw_ops_per_s": round(raw_verify),
            "vs_raw": round(single["ops_per_s"] / raw_verify, 3),
            "target_ops_per_s": 5_000,
        },
        "sequence_batched": {
            **batched,
            "raw_ops_per_s": round(raw_verify),
            "vs_raw": round(batched["ops_per_s"] / raw_verify, 3),
            "target_ops_per_s": 10_000,
        },
        "submit_to_proof": latency,
        **_proofs(quick),
        **loghttp.run(keys, receipts[: 4_000 if quick else 20_000], quick=quick),
    }
    return {"log": rows}


def signed_receipts(count: int) -> tuple[Ed25519Signer, list[bytes]]:
    """``count`` receipts (JSON bytes) by one fresh key, signed on both cores."""
    seed = os.urandom(32)
    issuer = _signer(seed)
    chunks = [(seed, n, min(2_000, count - n)) for n in range(0, count, 2_000)]
    with ProcessPoolExecutor(2) as pool:
        parts = list(pool.map(_sign_chunk, chunks))
    return issuer, [r for part in parts for r in part]


def _sign_chunk(job: tuple[bytes, int, int]) -> list[bytes]:
    seed, start, count = job
    signer = _signer(seed)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        orjson.dumps(
            sign_exchange(
                signer,
                model_id="bench/m",
                request={"n": start + i},
                response={"ok": True},
                at=at + timedelta(seconds=start + i),
            ).to_dict()
        )
        for i in range(count)
    ]


def _signer(seed: bytes) -> Ed25519Signer:
    return Ed25519Signer("bench/log-issuer", Ed25519PrivateKey.from_private_bytes(seed))


def _raw_verify(receipts: list[bytes], issuer: Ed25519Signer, quick: bool) -> float:
    public = issuer.public_key()
    pairs = [
        (base64.b64decode(r.signature), r.signing_bytes()) for r in map(_receipt, receipts[:2_000])
    ]
    it = iter(range(1 << 62))
    return ops_per_second(
        lambda: public.verify(*pairs[next(it) % len(pairs)]), seconds=0.3 if quick else 1.0
    )


def _receipt(wire: bytes) -> Receipt:
    return Receipt.from_dict(loads(wire))


def _open(directory: Path, keys: KeySet) -> TransparencyLog:
    init_log(directory, "bench.example/log")
    return TransparencyLog.open(directory, keys=keys, durable=True)


def _sequence(
    directory: Path, keys: KeySet, receipts: list[bytes], seconds: float, *, batch: int
) -> dict[str, Any]:
    """Entries/s sequenced and integrated (published) for about ``seconds``."""
    tlog = _open(directory, keys)
    try:
        start = time.perf_counter()
        deadline = start + seconds
        sent = 0
        while sent < len(receipts) and time.perf_counter() < deadline:
            if batch == 1:
                tlog.submit(receipts[sent])
                sent += 1
            else:
                body = b"[" + b",".join(receipts[sent : sent + batch]) + b"]"
                entries, _ = tlog.admission.admit_body(body)
                tlog.submit_entries(entries)
                sent += len(entries)
            _backpressure(tlog, sent)
        tlog.sequencer.wait_published(sent, timeout=120)
        elapsed = time.perf_counter() - start
    finally:
        tlog.close()
    return {
        "ops_per_s": round(sent / elapsed),
        "entries": sent,
        "seconds": round(elapsed, 2),
        "pool_exhausted": sent == len(receipts),
        "fsync": True,
    }


def _backpressure(tlog: TransparencyLog, sent: int) -> None:
    """Keep at most ~16 batches queued (the log refuses past ``max_pending``)."""
    while sent - tlog.sequencer.published.size > 16_384:
        tlog.sequencer.wait_published(sent - 8_192, timeout=60)


def _latency(
    directory: Path, keys: KeySet, receipts: list[bytes], rate: float, seconds: float
) -> dict[str, Any]:
    """Submission → covering checkpoint published, paced at ``rate`` entries/s."""
    tlog = _open(directory, keys)
    published: list[tuple[float, int]] = []
    lock = threading.Lock()

    def on_publish(cp: SignedCheckpoint) -> None:
        with lock:
            published.append((time.perf_counter(), cp.size))

    tlog.sequencer.add_listener(on_publish)
    submitted: list[tuple[float, int]] = []
    try:
        count = min(len(receipts), int(rate * min(seconds, 10.0)))
        start = time.perf_counter()
        futures = []
        for i in range(count):
            due = start + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            submitted.append((time.perf_counter(), i))
            futures.append(tlog.submit(receipts[i]))
        indices = [f.result(timeout=60).index for f in futures]
        tlog.sequencer.wait_published(count, timeout=60)
    finally:
        tlog.close()
    with lock:
        events = sorted(published)
    latencies = []
    for (sent_at, _), index in zip(submitted, indices, strict=True):
        done = next(t for t, size in events if size > index)
        latencies.append((done - sent_at) * 1000)
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "rate_per_s": round(rate),
        "entries": len(latencies),
        "p50_ms": round(cuts[49], 1),
        "p99_ms": round(cuts[98], 1),
        "target_p99_ms": 500,
    }


def _proofs(quick: bool) -> dict[str, Any]:
    size = 1 << (16 if quick else 20)
    edge, files = TreeEdge(0).append([i.to_bytes(8, "big") for i in range(size)])
    root = edge.root()
    seconds = 0.3 if quick else 1.0
    index = size // 3 + 17
    entry = index.to_bytes(8, "big")
    fresh = TileHashReader(files.__getitem__, size)
    proof = inclusion_proof(index, size, fresh)
    leaf = leaf_hash(entry)
    verify = ops_per_second(
        lambda: verify_inclusion(leaf, index, size, proof, root), seconds=seconds
    )
    node = b"\x01" + leaf + leaf
    raw = ops_per_second(lambda: [sha256(node).digest() for _ in proof], seconds=seconds)
    cache = TileCache()
    it = iter(range(1 << 62))
    generate = ops_per_second(
        lambda: inclusion_proof(
            (next(it) * 7919) % size, size, TileHashReader(files.__getitem__, size, cache=cache)
        ),
        seconds=seconds,
    )
    return {
        "inclusion_verify": {
            "us": round(1e6 / verify, 2),
            "raw_us": round(1e6 / raw, 2),
            "vs_raw": round(verify / raw, 3),
            "leaves": size,
            "proof_hashes": len(proof),
            "target_us": 50,
        },
        "proof_generation": {
            "us": round(1e6 / generate, 2),
            "leaves": size,
            "vs_verify": round(generate / verify, 3),
            "target_us": 1_000,
        },
    }
