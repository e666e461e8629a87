"""The browser routes: ``GET /verify`` (public) and ``GET /dashboard`` (the issuer's).

* ``/verify`` — the self-contained verify page (:func:`~llmseal.gateway.web.webpage.verify_page`);
  it verifies in the browser and sends nothing back here.
* ``/dashboard`` and ``/dashboard/state`` — only when the dashboard is enabled on
  this listener. The page polls ``/metrics`` (the gateway's own Prometheus text)
  and ``/dashboard/state`` (:class:`~llmseal.gateway.web.dashboard.DashboardState`).

:class:`DashboardApp` is the same, standalone: the ASGI app behind
``llmseal serve --dashboard-listen HOST:PORT``, reading the data directory of the
gateway it watches, for a listener only the issuer can reach.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from llmseal.gateway.config.config import GatewayConfig
from llmseal.gateway.http._asgi import send_bytes, send_error, send_json
from llmseal.gateway.http._types import Receive, Scope, Send
from llmseal.gateway.observability.metrics import Metrics
from llmseal.gateway.receipts.api import ReceiptsApi
from llmseal.gateway.web.dashboard import DashboardState, ReadOnlyShards
from llmseal.gateway.web.dashboard_log import log_state
from llmseal.gateway.web.webpage import Page, dashboard_page, verify_page

__all__ = ["DashboardApp", "WebRoutes", "gateway_routes"]

_VERIFY = frozenset({"/verify", "/verify/"})
_DASHBOARD = frozenset({"/dashboard", "/dashboard/"})


async def _page(send: Send, page: Page) -> int:
    headers = [(k, v) for k, v in page.headers() if k != b"content-type"]
    await send_bytes(send, 200, page.html, b"text/html; charset=utf-8", headers)
    return 200


class WebRoutes:
    """Routes for browsers on the gateway's listener."""

    def __init__(self, *, verify: bool, dashboard: DashboardState | None) -> None:
        self.verify = verify
        self.dashboard = dashboard

    def handles(self, path: str, method: str) -> bool:
        if method != "GET":
            return False
        if self.verify and path in _VERIFY:
            return True
        return self.dashboard is not None and (path in _DASHBOARD or path == "/dashboard/state")

    async def handle(self, scope: Scope, send: Send) -> int:
        path: str = scope["path"]
        if path in _VERIFY:
            return await _page(send, verify_page())
        if path in _DASHBOARD:
            return await _page(send, dashboard_page())
        if self.dashboard is not None and path == "/dashboard/state":
            state = await asyncio.to_thread(self.dashboard.snapshot)
            await send_json(send, 200, state, headers=[(b"cache-control", b"no-store")])
            return 200
        return await send_error(send, 404, "not found", "not_found")


def gateway_routes(
    config: GatewayConfig, signing_key: str, clock: Callable[[], datetime]
) -> WebRoutes:
    """The routes a gateway worker serves: the dashboard only if it lives on this listener."""
    state = None
    if config.dashboard and config.dashboard_listen is None:
        state = DashboardState(
            Path(config.data_dir), signing_key=signing_key, issuer=config.issuer, clock=clock,
            log_state=log_state(config.log_dir, config.log_url),
        )  # fmt: skip
    return WebRoutes(verify=config.verify_page, dashboard=state)


class DashboardApp:
    """The dashboard on a listener of its own: read-only, over the gateway's data directory."""

    def __init__(self, config: GatewayConfig) -> None:
        data_dir = Path(config.data_dir)
        state = DashboardState(
            data_dir, signing_key=config.key_id, issuer=config.issuer,
            clock=lambda: datetime.now(UTC), log_state=log_state(config.log_dir, config.log_url),
        )  # fmt: skip
        self.routes = WebRoutes(verify=True, dashboard=state)
        self.metrics = Metrics(data_dir / "metrics", writer=False)
        self.store = ReadOnlyShards(data_dir / "receipts")
        # The verify links on the dashboard fetch receipts and the key set from here.
        self.api = ReceiptsApi(self.store, data_dir / "keys", max_body=1 << 20)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    self.store.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if self.routes.handles(path, method):
            await self.routes.handle(scope, send)
        elif path == "/metrics" and method == "GET":
            await send_bytes(send, 200, self.metrics.render(), b"text/plain; version=0.0.4")
        elif path.startswith("/v1/receipts") and method == "GET":
            await self.api.handle(scope, receive, send)
        else:
            await send_error(send, 404, "not found", "not_found")
