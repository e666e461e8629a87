"""Recovery: half-done batches are completed, damage stops the log, failed writes retry."""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmseal.core.keyset import KeySet
from llmseal.errors import LogCorruptError, LogUnavailableError
from llmseal.log.entry import receipt_entry
from llmseal.log.service.service import TransparencyLog
from llmseal.log.storage.base import PendingEntry
from llmseal.log.storage.dirstore import DirectoryStorage
from llmseal.log.tree.merkle import leaf_hash
from llmseal.log.tree.tilereader import TileLog
from tests.unit.log.conftest import ORIGIN

Maker = Callable[..., dict[str, Any]]
Opener = Callable[..., TransparencyLog]


def _pending(receipt: dict[str, Any]) -> PendingEntry:
    entry = receipt_entry(receipt)
    return PendingEntry(entry, leaf_hash(entry), receipt["receipt_id"])


def _failed(log: TransparencyLog) -> bool:
    """Whether the sequencer holds a publish failure. A call, not the attribute: mypy
    would keep an attribute's narrowing across the log calls that change it."""
    return log.sequencer.failure is not None


def _check(log_dir: Path, log: TransparencyLog, size: int) -> None:
    tl = TileLog.directory(log_dir / "public", ORIGIN, [log.verifier])
    assert tl.verify_entries(tl.checkpoint()) == size


def test_sequenced_but_unpublished_entries_are_published_at_startup(
    open_log: Opener, make_receipt: Maker, log_dir: Path
) -> None:
    log = open_log()
    for i in range(10):
        log.add(make_receipt(i))
    log.close()
    # A crash after the durable index, before any tile: sequence straight into storage.
    storage = DirectoryStorage(log_dir)
    acked = storage.sequence([_pending(make_receipt(100 + i)) for i in range(300)])
    storage.close()
    log = open_log()
    assert log.checkpoint().size == 310  # completed before serving anything
    assert [a.index for a in acked] == list(range(10, 310))
    _check(log_dir, log, 310)


def test_half_written_batch_is_completed(
    open_log: Opener, make_receipt: Maker, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = open_log(batch_size=4096, batch_age=60)
    old = log.checkpoint()
    written: list[str] = []
    real_write = DirectoryStorage._write

    def crash_after_three(self: DirectoryStorage, path: str, data: bytes) -> set[Path]:
        if len(written) == 3:  # some tiles are on disk, the checkpoint is not
            raise LogUnavailableError("simulated crash")
        written.append(path)
        return real_write(self, path, data)

    monkeypatch.setattr(DirectoryStorage, "_write", crash_after_three)
    futures = [log.submit(make_receipt(i)) for i in range(600)]
    log.sequencer.close()
    assert all(f.result(0).index < 600 for f in futures)  # every caller got a durable index
    assert log.sequencer.failure is not None and len(written) == 3
    log.storage.close()
    assert (log_dir / "public/checkpoint").read_bytes() == old.encode()
    monkeypatch.setattr(DirectoryStorage, "_write", real_write)
    again = open_log()
    assert again.checkpoint().size == 600
    _check(log_dir, again, 600)


def test_failed_publish_refuses_new_entries_then_recovers(
    open_log: Opener, make_receipt: Maker, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = open_log(retry_interval=0.01)
    log.add(make_receipt(0))
    log.prove_published(0, timeout=10)
    real_write = DirectoryStorage._write
    full = {"on": True}

    def disk_full(self: DirectoryStorage, path: str, data: bytes) -> set[Path]:
        if full["on"]:
            raise LogUnavailableError(f"log storage: cannot write {path}: {errno.ENOSPC}")
        return real_write(self, path, data)

    monkeypatch.setattr(DirectoryStorage, "_write", disk_full)
    stuck = log.add(make_receipt(1))  # sequenced (durable), not publishable
    with pytest.raises(LogUnavailableError):
        log.prove_published(stuck.index, timeout=0.2)
    assert _failed(log)
    with pytest.raises(LogUnavailableError, match="not accepting"):
        log.submit(make_receipt(2))
    full["on"] = False
    proof = log.prove_published(stuck.index, timeout=10)  # the retry publishes it
    assert proof.index == 1 and not _failed(log)
    log.add(make_receipt(3))
    log.close()
    _check(log_dir, open_log(), 3)


@pytest.mark.parametrize(
    ("path", "damage", "message"),
    [
        ("tile/0/000", lambda b: b[:5] + bytes([b[5] ^ 1]) + b[6:], "tile/1/000.p/2 hash 0"),
        ("tile/0/001", lambda b: b[:-1], "tile/0/001 is damaged"),
        ("tile/0/002.p/88", lambda b: b[:-32], "damaged"),
        ("tile/1/000.p/2", lambda b: b[::-1], "root"),
        ("tile/entries/002.p/88", lambda b: b.replace(b'"n":599', b'"n":999'), "does not match"),
        ("checkpoint", lambda b: b.replace(b"\n600\n", b"\n601\n"), "not this log's"),
    ],
)
def test_damage_found_at_startup_stops_the_log(
    open_log: Opener,
    make_receipt: Maker,
    log_dir: Path,
    issuer_keys: KeySet,
    path: str,
    damage: Callable[[bytes], bytes],
    message: str,
) -> None:
    log = open_log()
    for f in [log.submit(make_receipt(i)) for i in range(600)]:
        f.result(10)
    log.close()
    target = log_dir / "public" / path
    target.write_bytes(damage(target.read_bytes()))
    with pytest.raises(LogCorruptError, match=message.replace(".", r"\.")):
        TransparencyLog.open(log_dir, keys=issuer_keys)


def test_missing_tile_and_lost_index_stop_the_log(
    open_log: Opener, make_receipt: Maker, log_dir: Path, issuer_keys: KeySet
) -> None:
    log = open_log()
    for f in [log.submit(make_receipt(i)) for i in range(300)]:
        f.result(10)
    log.close()
    (log_dir / "state" / "index.db").rename(log_dir / "state" / "index.db.lost")
    for suffix in ("-wal", "-shm"):
        (log_dir / "state" / f"index.db{suffix}").unlink(missing_ok=True)
    with pytest.raises(LogCorruptError, match="disagree"):
        TransparencyLog.open(log_dir, keys=issuer_keys)
    (log_dir / "public/tile/0/000").unlink()
    with pytest.raises(LogCorruptError, match="tile/0/000"):
        TransparencyLog.open(log_dir, keys=issuer_keys)
