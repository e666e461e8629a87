"""`pg_ctl restart -m fast` under load: a clear 503 meanwhile, nothing delivered unstored,
and afterwards every delivered receipt is in the store and in the log."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from llmseal.devpostgres import PgCluster
from llmseal.store.postgres import PostgresReceiptStore
from tests.helpers import eventually
from tests.integration.postgres.fleet import REQUEST, replicas


@pytest.mark.slow
def test_a_database_restart_fails_requests_cleanly_and_loses_nothing(
    upstream: str, pg_cluster: PgCluster, pg_url: str, tmp_path: Path
) -> None:
    gateways = replicas(upstream, pg_url, tmp_path, 2, "--log", pg_url, "--no-dashboard")
    delivered: list[str] = []
    answers: list[tuple[float, int, str]] = []  # (when, status, error code)
    stop = threading.Event()

    def load(url: str) -> None:
        with httpx.Client(timeout=10) as client:
            while not stop.is_set():
                try:
                    response = client.post(f"{url}/v1/chat/completions", json=REQUEST)
                except httpx.HTTPError:
                    answers.append((time.monotonic(), 0, "transport"))
                    continue
                body = response.json()
                code = body.get("error", {}).get("code", "") if response.status_code != 200 else ""
                answers.append((time.monotonic(), response.status_code, code))
                if response.status_code == 200:
                    delivered.append(body["receipt"]["receipt_id"])

    threads = [threading.Thread(target=load, args=(g.url,)) for g in gateways * 2]
    try:
        for thread in threads:
            thread.start()
        assert eventually(lambda: len(delivered) >= 100, timeout=300)
        restarted = time.monotonic()
        pg_cluster.restart("fast")
        back = len(delivered)
        assert eventually(lambda: len(delivered) >= back + 100, timeout=120)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    try:
        failed = [a for a in answers if a[1] != 200]
        assert failed, "the restart interrupted nothing (the fault was not exercised)"
        assert {(status, code) for _, status, code in failed} <= {(503, "store_unavailable")}
        ok_times = sorted(t for t, status, _ in answers if status == 200)
        outage = max(b - a for a, b in itertools.pairwise(ok_times))
        store = PostgresReceiptStore(pg_url)
        try:
            assert set(delivered) <= store.ids()  # nothing delivered that is not stored
        finally:
            store.close()

        def logged() -> set[str]:
            with psycopg.connect(pg_url) as conn:
                return {r[0] for r in conn.execute("SELECT receipt_id FROM log_entries")}

        assert eventually(lambda: logged() >= set(delivered), timeout=120)
    finally:
        for g in gateways:
            g.stop()
    print(f"restart at +{restarted - answers[0][0]:.1f} s: {len(failed)} × 503,"
          f" longest gap between successes {outage:.2f} s")  # fmt: skip
