"""Crash safety: kill -9 the gateway under load; every receipt a client got is stored."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from llmseal.store.sharded import ShardedReceiptStore
from tests.helpers import ThreadedUvicorn, free_port, wait_http
from tests.integration.gateway.fake_upstream import FakeUpstream

REQUEST = {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]}


def _start(upstream: str, port: int, data: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmseal", "serve", "--upstream", upstream, "--port", str(port),
         "--data-dir", str(data), "--workers", "2", "--log-level", "warning",
         "--forward-header", "x-fake"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    wait_http(f"http://127.0.0.1:{port}/healthz", process=proc)
    return proc


@pytest.mark.slow
def test_kill_9_under_load_loses_no_delivered_receipt(tmp_path: Path) -> None:
    fake = FakeUpstream()
    with ThreadedUvicorn(fake.app) as upstream:
        port = free_port()
        data = tmp_path / "data"
        proc = _start(upstream.url, port, data)
        received: list[str] = []
        stop = threading.Event()

        def load() -> None:
            with httpx.Client(timeout=5) as client:
                while not stop.is_set():
                    try:
                        body = client.post(
                            f"http://127.0.0.1:{port}/v1/chat/completions", json=REQUEST
                        ).json()
                    except (httpx.HTTPError, ValueError):
                        continue
                    if "receipt" in body:
                        received.append(body["receipt"]["receipt_id"])

        threads = [threading.Thread(target=load) for _ in range(8)]
        for thread in threads:
            thread.start()
        time.sleep(1.5)
        os.killpg(proc.pid, signal.SIGKILL)  # the supervisor and both workers, no shutdown
        proc.wait()
        stop.set()
        for thread in threads:
            thread.join()
        assert len(received) > 50, "the load did not run"

        proc = _start(upstream.url, port, data)  # restart on the same data directory
        try:
            for receipt_id in received[:: max(1, len(received) // 20)]:
                assert (
                    httpx.get(f"http://127.0.0.1:{port}/v1/receipts/{receipt_id}").status_code
                    == 200
                )
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    store = ShardedReceiptStore(data / "receipts")
    try:
        stored = store.ids()
    finally:
        store.close()
    missing = set(received) - stored
    assert not missing, f"{len(missing)} delivered receipts are not in the store"


@pytest.mark.slow
def test_sigterm_finishes_in_flight_requests(tmp_path: Path) -> None:
    fake = FakeUpstream()
    with ThreadedUvicorn(fake.app) as upstream:
        port = free_port()
        proc = _start(upstream.url, port, tmp_path / "data")
        result: dict[str, object] = {}

        def slow() -> None:
            response = httpx.post(
                f"http://127.0.0.1:{port}/v1/chat/completions", json=REQUEST,
                headers={"x-fake": "slow:1.5"}, timeout=30,
            )  # fmt: skip
            result["body"] = response.json()

        thread = threading.Thread(target=slow)
        thread.start()
        time.sleep(0.5)
        os.killpg(proc.pid, signal.SIGTERM)
        thread.join()
        assert proc.wait(timeout=30) == 0
    body = result["body"]
    assert isinstance(body, dict) and "receipt" in body
