"""Crash safety: kill -9 the gateway under load; every receipt a client got is stored."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import httpx
import pytest

from llmseal.store.sharded import ShardedReceiptStore
from tests.helpers import ServeProcess, ThreadedUvicorn, eventually
from tests.integration.gateway.fake_upstream import FakeUpstream

REQUEST = {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]}
DELIVERED_BEFORE_THE_KILL = 40


def _serve(upstream: str, data: Path) -> ServeProcess:
    return ServeProcess(["--upstream", upstream, "--data-dir", str(data), "--workers", "2",
                         "--forward-header", "x-fake"])  # fmt: skip


@pytest.mark.slow
def test_kill_9_under_load_loses_no_delivered_receipt(tmp_path: Path) -> None:
    fake = FakeUpstream()
    with ThreadedUvicorn(fake.app) as upstream:
        data = tmp_path / "data"
        gateway = _serve(upstream.url, data)
        received: list[str] = []
        enough, stop = threading.Event(), threading.Event()

        def load() -> None:
            with httpx.Client(timeout=5) as client:
                while not stop.is_set():
                    try:
                        body = client.post(
                            f"{gateway.url}/v1/chat/completions", json=REQUEST
                        ).json()
                    except (httpx.HTTPError, ValueError):
                        continue
                    if "receipt" in body:
                        received.append(body["receipt"]["receipt_id"])
                        if len(received) >= DELIVERED_BEFORE_THE_KILL:
                            enough.set()

        threads = [threading.Thread(target=load) for _ in range(8)]
        for thread in threads:
            thread.start()
        # Kill once enough receipts were delivered, while the load still runs (a hang
        # guard, not a throughput requirement: a slow machine just takes longer).
        assert enough.wait(timeout=300), f"only {len(received)} receipts delivered"
        gateway.signal(signal.SIGKILL)  # the supervisor and both workers, no shutdown
        gateway.proc.wait()
        stop.set()
        for thread in threads:
            thread.join()

        gateway = _serve(upstream.url, data)  # restart on the same data directory
        try:
            for receipt_id in received[:: max(1, len(received) // 20)]:
                assert httpx.get(f"{gateway.url}/v1/receipts/{receipt_id}").status_code == 200
        finally:
            gateway.stop()
    store = ShardedReceiptStore(data / "receipts")
    try:
        stored = store.ids()
    finally:
        store.close()
    missing = set(received) - stored
    assert len(received) >= DELIVERED_BEFORE_THE_KILL and not missing, (
        f"{len(missing)} of {len(received)} delivered receipts are not in the store"
    )


def _refuses_connections(url: str) -> bool:
    try:
        httpx.get(f"{url}/healthz", timeout=2)
    except httpx.HTTPError:
        return True
    return False


@pytest.mark.slow
def test_sigterm_finishes_in_flight_requests(tmp_path: Path) -> None:
    fake = FakeUpstream()
    with ThreadedUvicorn(fake.app) as upstream:
        gateway = _serve(upstream.url, tmp_path / "data")
        result: dict[str, object] = {}

        def held() -> None:
            response = httpx.post(
                f"{gateway.url}/v1/chat/completions", json=REQUEST,
                headers={"x-fake": "hold"}, timeout=60,
            )  # fmt: skip
            result["body"] = response.json()

        thread = threading.Thread(target=held)
        thread.start()
        try:
            assert fake.arrived.wait(timeout=60), "the request never reached the upstream"
            gateway.signal(signal.SIGTERM)  # the request is in flight: the upstream holds it
            # The gateway is shutting down (no new connections) before the answer comes.
            assert eventually(lambda: _refuses_connections(gateway.url), timeout=60)
        finally:
            fake.release.set()
        thread.join(timeout=60)
        assert gateway.proc.wait(timeout=60) == 0
    body = result["body"]
    assert isinstance(body, dict) and body["choices"][0]["message"]["content"] == "echo: hi"
    assert body["receipt"]["status_code"] == 200
