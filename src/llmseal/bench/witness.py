"""Witness and monitor benchmarks (issue 11), against the raw primitives in the same run.

* ``add_checkpoint``: a real ``llmseal witness serve`` process, ``LOGS`` logs each
  growing one checkpoint at a time over a keep-alive connection of its own, every
  request with a real consistency proof (trees of ~2^16 leaves: ~16 hashes), every
  answer a cosignature after the fsynced commit. ``raw`` is what a request costs
  at the very least, on one thread: one Ed25519 verify (the log's signature), one
  consistency-proof check and one Ed25519 sign (the cosignature).
* ``monitor_tiles``, ``monitor_signatures``: :mod:`llmseal.bench._support.monitor`.

Requests are pre-built so the load generator (same machine, other core) spends
its time on sockets only.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from llmseal.bench._support.procs import process as _process
from llmseal.bench._support.timing import ops_per_second
from llmseal.log.note.checkpoint import Checkpoint, sign_checkpoint
from llmseal.log.note.cosignature import CosignatureSigner
from llmseal.log.note.notekeys import Ed25519NoteSigner
from llmseal.log.tree.merkle import (
    consistency_proof,
    leaf_hash,
    memory_reader,
    tree_root,
    verify_consistency,
)
from llmseal.log.witness.addcheckpoint import AddCheckpoint

__all__ = ["run"]

LOGS = 64
_T = TypeVar("_T")
_HEAD = b"POST /add-checkpoint HTTP/1.1\r\nhost: w\r\ncontent-length: %d\r\n\r\n"
TREE = 1 << 16


def run(*, quick: bool) -> dict[str, Any]:
    from llmseal.bench._support import monitor

    steps = 40 if quick else 160
    rows = {"add_checkpoint": _add_checkpoint(steps, quick), **monitor.run(quick=quick)}
    return {"witness": rows}


def _add_checkpoint(steps: int, quick: bool) -> dict[str, Any]:
    leaves = [leaf_hash(i.to_bytes(8, "big")) for i in range(TREE)]
    read = memory_reader(leaves)
    logs = [Ed25519NoteSigner.generate(f"bench.example/log{i}") for i in range(LOGS)]
    sizes = sorted({1, *(int.from_bytes(os.urandom(3), "big") % TREE + 1 for _ in range(steps))})
    bodies = [_sequence(log, sizes, read) for log in logs]
    raw = _raw(read, logs[0], sizes, quick)
    with tempfile.TemporaryDirectory(prefix="llmseal-bench-witness-") as tmp:
        keys = Path(tmp) / "logs.vkey"
        keys.write_text("".join(log.vkey() + "\n" for log in logs))
        directory = Path(tmp) / "w"
        _cli("witness", "init", "--dir", str(directory), "--name", "bench.example/witness")
        command = [sys.executable, "-m", "llmseal", "witness", "serve", "--dir", str(directory),
                   "--port", "{port}", "--log-vkey", str(keys)]  # fmt: skip
        with _process(command, health="/") as port:
            elapsed, statuses = _run_fast(_drive(port, bodies))
    total = sum(len(b) for b in bodies)
    ours = total / elapsed
    return {
        "ops_per_s": round(ours),
        "raw_ops_per_s": round(raw),
        "vs_raw": round(ours / raw, 3),
        "requests": total,
        "logs": LOGS,
        "non_200": total - statuses.get(200, 0),
        "target_ops_per_s": 1000,
    }


def _sequence(log: Ed25519NoteSigner, sizes: list[int], read: Any) -> list[bytes]:
    out: list[bytes] = []
    old = 0
    for size in sizes:
        cp = sign_checkpoint(Checkpoint(log.name, size, tree_root(read, size)), log)
        proof = tuple(consistency_proof(old, size, read)) if old else ()
        out.append(AddCheckpoint(old, proof, cp.encode()).encode())
        old = size
    return out


def _raw(read: Any, log: Ed25519NoteSigner, sizes: list[int], quick: bool) -> float:
    """verify + proof check + cosign, one thread: a request's cryptographic floor."""
    old, new = sizes[len(sizes) // 2], sizes[-1]
    proof = consistency_proof(old, new, read)
    old_root, new_root = tree_root(read, old), tree_root(read, new)
    text = Checkpoint(log.name, new, new_root).text().encode()
    sig = log.sign(text)
    verifier = log.verifier()
    cosigner = CosignatureSigner.generate("bench.example/raw")

    def once() -> None:
        verifier.verify(text, sig)
        verify_consistency(old, new, old_root, new_root, proof)
        cosigner.sign_at(text, 1_800_000_000)

    return ops_per_second(once, seconds=0.3 if quick else 1.0)


async def _drive(port: int, bodies: list[list[bytes]]) -> tuple[float, dict[int, int]]:
    statuses: dict[int, int] = {}
    start = time.perf_counter()
    await asyncio.gather(*(_one_log(port, seq, statuses) for seq in bodies))
    return time.perf_counter() - start, statuses


async def _one_log(port: int, bodies: list[bytes], statuses: dict[int, int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for body in bodies:
            writer.write(_HEAD % len(body) + body)
            status = await _response(reader)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def _response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


def _run_fast(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run on uvloop when it is installed (the load generator should cost little)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - the gateway extra brings it
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def _cli(*args: str) -> None:
    import subprocess

    subprocess.run([sys.executable, "-m", "llmseal", *args], check=True, capture_output=True)
