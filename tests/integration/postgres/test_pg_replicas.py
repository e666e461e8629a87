"""Gateway replicas (separate `llmseal serve` processes) sharing one PostgreSQL store."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import httpx
import pytest

from llmseal.store.postgres import PostgresReceiptStore
from tests.helpers import eventually
from tests.integration.postgres.fleet import REQUEST, replicas


def test_each_replica_serves_the_receipts_of_the_others(
    upstream: str, pg_url: str, tmp_path: Path
) -> None:
    gateways = replicas(upstream, pg_url, tmp_path, 2)
    try:
        issued: dict[str, int] = {}
        for i in range(20):
            body = httpx.post(f"{gateways[i % 2].url}/v1/chat/completions", json=REQUEST).json()
            issued[body["receipt"]["receipt_id"]] = i % 2
        for receipt_id, origin in issued.items():
            other = gateways[1 - origin]
            got = httpx.get(f"{other.url}/v1/receipts/{receipt_id}")
            assert got.status_code == 200 and got.json()["receipt_id"] == receipt_id
            verdict = httpx.get(f"{other.url}/v1/receipts/{receipt_id}/verify").json()
            assert verdict["status"] == "valid"
        keys = [httpx.get(f"{g.url}/v1/receipts/keys").json() for g in gateways]
        assert keys[0] == keys[1]
    finally:
        for g in gateways:
            g.stop()


@pytest.mark.slow
def test_kill_9_of_a_replica_loses_no_acknowledged_receipt(
    upstream: str, pg_url: str, tmp_path: Path
) -> None:
    victim, survivor = replicas(upstream, pg_url, tmp_path, 2, "--workers", "2")
    received: list[str] = []
    enough, stop = threading.Event(), threading.Event()

    def load(url: str) -> None:
        with httpx.Client(timeout=5) as client:
            while not stop.is_set():
                try:
                    body = client.post(f"{url}/v1/chat/completions", json=REQUEST).json()
                except (httpx.HTTPError, ValueError):
                    continue
                if "receipt" in body:
                    received.append(body["receipt"]["receipt_id"])
                    if len(received) >= 200:
                        enough.set()

    threads = [threading.Thread(target=load, args=(g.url,)) for g in (victim, survivor) * 3]
    try:
        for thread in threads:
            thread.start()
        assert enough.wait(timeout=300), f"only {len(received)} receipts delivered"
        victim.signal(signal.SIGKILL)  # supervisor and workers, mid-load
        victim.proc.wait()
        after_kill = len(received)
        # the survivor keeps serving: wait for more receipts (a hang guard, not a timing)
        assert eventually(lambda: len(received) >= after_kill + 50, timeout=120)
        stop.set()
        for thread in threads:
            thread.join()
        for receipt_id in received[:: max(1, len(received) // 25)]:
            assert httpx.get(f"{survivor.url}/v1/receipts/{receipt_id}").status_code == 200
    finally:
        stop.set()
        victim.stop()
        survivor.stop()
    store = PostgresReceiptStore(pg_url)
    try:
        stored = store.ids()
    finally:
        store.close()
    missing = set(received) - stored
    assert not missing, f"{len(missing)} of {len(received)} delivered receipts are not stored"
    assert len(received) == len(set(received))
