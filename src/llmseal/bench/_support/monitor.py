"""Monitor benchmark: follow a receipts log over HTTP from scratch, same run as the raw floor.

The log (``N`` real signed receipts, tiles written by the log's own writer) is
served by a static HTTP server in another process
(:mod:`llmseal.bench._beds.static_files`). Two rounds from an empty state: tiles
only (download bundles, recompute every tile and the root, compare with the served
tiles), then with every receipt verified against the key set.
``raw`` is the cheapest possible version of each on one thread: RFC 6962 leaf
hashing of the same entries, and bare Ed25519 verification of their signatures.
"""

from __future__ import annotations

import base64
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from llmseal.bench._support.payload import REQUEST, RESPONSE
from llmseal.bench._support.procs import process as _process
from llmseal.core.keys import Ed25519Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.core.sign import sign_exchange
from llmseal.log.entry import receipt_entry
from llmseal.log.monitor.monitor import Monitor
from llmseal.log.monitor.monitorstate import MonitorState
from llmseal.log.note.checkpoint import Checkpoint, sign_checkpoint
from llmseal.log.note.notekeys import Ed25519NoteSigner
from llmseal.log.tree.edge import TreeEdge
from llmseal.log.tree.httpfetch import HttpFetch
from llmseal.log.tree.merkle import leaf_hash

__all__ = ["run"]


def run(*, quick: bool) -> dict[str, Any]:
    count = 6_000 if quick else 30_000
    issuer = Ed25519Signer.generate("bench/issuer")
    at = datetime(2026, 1, 1, tzinfo=UTC)
    receipts = [
        sign_exchange(issuer, model_id="m", request=REQUEST, response=RESPONSE,
                      at=at + timedelta(seconds=i))
        for i in range(count)
    ]  # fmt: skip
    entries = [receipt_entry(r) for r in receipts]
    keys = KeySet([KeyEntry(issuer.key_id, issuer.public_key())])
    log = Ed25519NoteSigner.generate("bench.example/monitor")
    with tempfile.TemporaryDirectory(prefix="llmseal-bench-monitor-") as tmp:
        root = Path(tmp)
        edge, files = TreeEdge(0).append(entries)
        for path, data in files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_bytes(data)
        cp = sign_checkpoint(Checkpoint(log.name, count, edge.root()), log)
        (root / "checkpoint").write_bytes(cp.encode())
        serve = [sys.executable, "-m", "llmseal.bench._beds.static_files", str(root), "{port}"]
        with _process(serve) as port:
            url = f"http://127.0.0.1:{port}"
            tiles = _follow(url, log, None)
            signed = _follow(url, log, keys)
    raw_hash = _rate(lambda: [leaf_hash(e) for e in entries], count)
    public = issuer.public_key()
    pairs = [(base64.b64decode(r.signature), r.signing_bytes()) for r in receipts]
    raw_verify = _rate(lambda: [public.verify(s, m) for s, m in pairs], count)
    return {
        "monitor_tiles": _row(tiles, raw_hash, 20_000, count),
        "monitor_signatures": _row(signed, raw_verify, 5_000, count),
    }


def _follow(url: str, log: Ed25519NoteSigner, keys: KeySet | None) -> float:
    """Entries per second of one round from an empty state."""
    with HttpFetch(url) as fetch:
        monitor = Monitor(fetch, [log.verifier()], MonitorState(log.name), keys=keys, workers=2)
        start = time.perf_counter()
        result = monitor.round()
        elapsed = time.perf_counter() - start
    if result.alarms or (keys is not None and result.receipts_verified != result.entries):
        raise RuntimeError(f"monitor bench: unexpected alarms {result.to_dict()['alarms']}")
    return result.entries / elapsed


def _rate(fn: Any, count: int) -> float:
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        fn()
        best = max(best, count / (time.perf_counter() - start))
    return best


def _row(ours: float, raw: float, target: int, count: int) -> dict[str, Any]:
    ratio = round(ours / raw, 3)
    return {"ops_per_s": round(ours), "raw_ops_per_s": round(raw), "vs_raw": ratio,
            "entries": count, "target_ops_per_s": target}  # fmt: skip
