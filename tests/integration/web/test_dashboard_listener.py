"""``llmseal serve --dashboard-listen``: the dashboard on a private address, in its own server."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import ServeProcess, ThreadedUvicorn, eventually, wait_http
from tests.integration.gateway.fake_upstream import FakeUpstream

pytestmark = pytest.mark.slow


_DASHBOARD = re.compile(r"llmseal dashboard on http://127\.0\.0\.1:(\d+)/dashboard")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    upstream = FakeUpstream()
    with ThreadedUvicorn(upstream.app) as fake:
        gateway = ServeProcess(["--upstream", fake.url, "--data-dir", str(tmp_path / "gw"),
                                "--dashboard-listen", "127.0.0.1:0"])  # fmt: skip
        try:
            assert eventually(lambda: _DASHBOARD.search(gateway.stderr()) is not None)
            found = _DASHBOARD.search(gateway.stderr())
            assert found is not None
            private = f"http://127.0.0.1:{found.group(1)}"
            wait_http(f"{private}/dashboard", process=gateway.proc)
            yield gateway.url, private
        finally:
            # uvicorn re-raises SIGTERM after its graceful shutdown when it runs in-process.
            assert gateway.stop() in (0, -signal.SIGTERM)


def test_the_private_listener_serves_the_dashboard_and_the_public_one_does_not(
    served: tuple[str, str],
) -> None:
    public, private = served
    chat = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    receipt_id = httpx.post(f"{public}/v1/chat/completions", json=chat).headers["x-receipt-id"]
    state = httpx.get(f"{private}/dashboard/state").json()
    assert [r["receipt_id"] for r in state["recent"]] == [receipt_id]
    assert state["signing_key"] == state["keys"][0]["key_id"]
    assert "llmseal_receipts_total 1" in httpx.get(f"{private}/metrics").text
    # The dashboard's verify links work against the private listener too.
    stored = httpx.get(f"{private}/v1/receipts/{receipt_id}")
    assert stored.status_code == 200 and stored.json()["receipt_id"] == receipt_id
    assert (
        httpx.get(f"{private}/v1/receipts/keys").json()
        == httpx.get(f"{public}/v1/receipts/keys").json()
    )
    assert httpx.get(f"{private}/verify").status_code == 200
    # Read-only: nothing that changes state is served there.
    assert httpx.post(f"{private}/v1/chat/completions", json=chat).status_code == 404
    assert httpx.post(f"{private}/v1/receipts/verify", json={"receipt": {}}).status_code == 404
    # The public listener has no dashboard (the path goes to the upstream, which has none).
    assert httpx.get(f"{public}/dashboard").status_code == 404
    assert httpx.get(f"{public}/dashboard/state").status_code == 404
