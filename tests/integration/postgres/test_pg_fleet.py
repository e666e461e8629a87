"""Three replicas on one PostgreSQL for receipts and the log, under a kill -9 of the
log's integrator: another takes over, no entry is lost, no checkpoint forks."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from llmseal.log.note.checkpoint import SignedCheckpoint, open_checkpoint
from llmseal.log.note.notekeys import load_verifier
from llmseal.log.storage.pgstore import PostgresLogStorage
from llmseal.log.tree.tilereader import TileLog
from llmseal.store.postgres import PostgresReceiptStore
from tests.helpers import eventually
from tests.integration.postgres.fleet import REQUEST, integrator_pid, replicas


@pytest.mark.slow
def test_kill_9_of_the_integrator_under_load(upstream: str, pg_url: str, tmp_path: Path) -> None:
    gateways = replicas(upstream, pg_url, tmp_path, 3, "--log", pg_url, "--no-dashboard")
    received: list[str] = []
    seen: list[bytes] = []  # every checkpoint text observed while it all runs
    stop = threading.Event()

    def load(url: str) -> None:
        with httpx.Client(timeout=5) as client:
            while not stop.is_set():
                try:
                    body = client.post(f"{url}/v1/chat/completions", json=REQUEST).json()
                except (httpx.HTTPError, ValueError):
                    continue
                if "receipt" in body:
                    received.append(body["receipt"]["receipt_id"])

    def watch() -> None:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            while not stop.wait(0.05):
                row = conn.execute(
                    "SELECT body FROM log_checkpoints WHERE name = 'checkpoint'"
                ).fetchone()
                if row and (not seen or seen[-1] != bytes(row[0])):
                    seen.append(bytes(row[0]))

    threads = [threading.Thread(target=load, args=(g.url,)) for g in gateways * 2]
    threads.append(threading.Thread(target=watch))
    victim = None
    try:
        for thread in threads:
            thread.start()
        assert eventually(lambda: len(received) >= 150, timeout=300)
        assert eventually(lambda: integrator_pid(pg_url) is not None, timeout=30)
        leader = integrator_pid(pg_url)
        victim = next(g for g in gateways if g.proc.pid == leader)
        victim.signal(signal.SIGKILL)
        killed = time.monotonic()
        victim.proc.wait()
        assert eventually(lambda: integrator_pid(pg_url) not in (None, leader), timeout=30)
        takeover = time.monotonic() - killed
        after = len(received)
        assert eventually(lambda: len(received) >= after + 100, timeout=120)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    survivors = [g for g in gateways if g is not victim]
    try:
        storage = PostgresLogStorage(pg_url)
        # every delivered receipt reaches the log, the victim's too (its outbox rows are
        # adopted by the survivors), each exactly once
        assert eventually(lambda: _logged(pg_url) >= set(received), timeout=120)
        with psycopg.connect(pg_url) as conn:
            twice = conn.execute(
                "SELECT receipt_id FROM log_entries GROUP BY receipt_id HAVING count(*) > 1"
            ).fetchall()
        assert twice == []
        size = storage.sequenced_size()
        assert eventually(lambda: _published(storage) == size, timeout=60)
        info = storage.info()
        assert info is not None
        verifier = load_verifier(info[1])
        tiles = TileLog(storage.read, info[0], [verifier])
        final = tiles.checkpoint()
        assert tiles.verify_entries(final) == size
        for text in seen:  # no fork: every checkpoint ever seen is a prefix of the final one
            old: SignedCheckpoint = open_checkpoint(text, origin=info[0], verifiers=[verifier])
            tiles.check_consistency(old, final)
        for g in survivors:  # every replica serves receipts and proofs of every other
            for receipt_id in received[:: max(1, len(received) // 10)]:
                assert httpx.get(f"{g.url}/v1/receipts/{receipt_id}").status_code == 200
                assert httpx.get(f"{g.url}/log/proof/{receipt_id}").status_code == 200
        storage.close()
    finally:
        for g in gateways:
            g.stop()
    store = PostgresReceiptStore(pg_url)
    try:
        assert set(received) <= store.ids()
    finally:
        store.close()
    print(f"integrator takeover after kill -9: {takeover:.2f} s; {len(seen)} checkpoints seen")


def _logged(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute("SELECT receipt_id FROM log_entries").fetchall()}


def _published(storage: PostgresLogStorage) -> int:
    with psycopg.connect(storage.url) as conn:
        row = conn.execute("SELECT size FROM log_checkpoints WHERE name = 'checkpoint'").fetchone()
    return int(row[0]) if row else -1
