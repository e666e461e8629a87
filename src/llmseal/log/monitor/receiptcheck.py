"""Judging a log's entries as receipts, on this process or on a pool of worker processes.

A monitor with key sets verifies every entry's signature: ~100 µs of Ed25519 per
entry on one core, which makes signatures the monitor's cost. With ``workers``
> 1 the bundles of a large catch-up are verified by that many forked processes
(each rebuilding the key set from its JSON), while this process keeps fetching
and recomputing tiles; small rounds stay on this process.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Collection, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from llmseal.core.canonical import loads
from llmseal.core.keyset import KeyResolver, KeySet
from llmseal.core.receipt import Receipt
from llmseal.core.verify import verify_receipt
from llmseal.errors import Error

__all__ = ["POOL_THRESHOLD", "EntryFinding", "ReceiptChecker", "judge_entries"]

POOL_THRESHOLD = 4096  # entries in a round below which a pool costs more than it saves


@dataclass(frozen=True, slots=True)
class EntryFinding:
    """One entry worth listing: signed by a watched key, or not a valid receipt."""

    index: int
    status: str
    key_id: str | None = None
    receipt_id: str | None = None
    issued_at: str | None = None
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "status": self.status, "key_id": self.key_id,
                "receipt_id": self.receipt_id, "issued_at": self.issued_at,
                "reasons": list(self.reasons)}  # fmt: skip


def _judge(index: int, entry: bytes, keys: KeyResolver | None) -> EntryFinding:
    try:
        receipt = Receipt.from_dict(loads(entry))
    except Error as exc:
        status = "unchecked" if keys is None else "malformed"
        return EntryFinding(index, status, reasons=(str(exc),))
    status, reasons = "unchecked", tuple[str, ...]()
    if keys is not None:
        verdict = verify_receipt(receipt, keys)
        status, reasons = verdict.status.value, verdict.reasons
    return EntryFinding(index, status, receipt.key_id, receipt.receipt_id,
                        receipt.issued_at, reasons)  # fmt: skip


def judge_entries(
    first: int, entries: Sequence[bytes], keys: KeyResolver | None, watch: Collection[str]
) -> tuple[int, list[EntryFinding]]:
    """(valid receipts, findings) for entries ``first``, ``first + 1``, ..."""
    valid = 0
    findings: list[EntryFinding] = []
    for offset, entry in enumerate(entries):
        finding = _judge(first + offset, entry, keys)
        if finding.status == "valid":
            valid += 1
        if finding.status not in ("valid", "unchecked") or finding.key_id in watch:
            findings.append(finding)
    return valid, findings


_WORKER: tuple[KeySet | None, frozenset[str]] = (None, frozenset())


def _init_worker(keyset: Any, watch: frozenset[str]) -> None:
    global _WORKER
    _WORKER = (None if keyset is None else KeySet.from_obj(keyset), watch)


def _work(first: int, entries: list[bytes]) -> tuple[int, list[EntryFinding]]:
    keys, watch = _WORKER
    return judge_entries(first, entries, keys, watch)


class ReceiptChecker:
    """Collects (valid count, findings) over a round's bundles."""

    def __init__(
        self,
        keys: KeyResolver | None,
        watch: Collection[str],
        *,
        workers: int = 1,
        expected: int = 0,
    ) -> None:
        self.keys = keys
        self.watch = frozenset(watch)
        self.active = keys is not None or bool(self.watch)
        self._pool: ProcessPoolExecutor | None = None
        self._futures: list[Future[tuple[int, list[EntryFinding]]]] = []
        self.valid = 0
        self.findings: list[EntryFinding] = []
        snapshot = keys.to_dict() if isinstance(keys, KeySet) else None
        poolable = keys is None or snapshot is not None
        if self.active and workers > 1 and expected >= POOL_THRESHOLD and poolable:
            # fork: a spawned worker re-imports everything (seconds on a busy machine).
            # The workers are forked here, before this round starts its fetch threads,
            # so no lock another thread holds is copied into them.
            self._pool = ProcessPoolExecutor(
                max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                initializer=_init_worker, initargs=(snapshot, self.watch),
            )  # fmt: skip
            self._pool.submit(int).result()

    def submit(self, first: int, entries: list[bytes]) -> None:
        if not self.active:
            return
        if self._pool is None:
            self._add(judge_entries(first, entries, self.keys, self.watch))
        else:
            self._futures.append(self._pool.submit(_work, first, entries))

    def _add(self, result: tuple[int, list[EntryFinding]]) -> None:
        self.valid += result[0]
        self.findings += result[1]

    def finish(self) -> None:
        """Wait for the workers; findings end up in index order."""
        for future in self._futures:
            self._add(future.result())
        self._futures.clear()
        self.findings.sort(key=lambda f: f.index)
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
