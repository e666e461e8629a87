"""Running the gateway: prepare the data directory, then uvicorn with N workers."""

from __future__ import annotations

import logging
import logging.config
import os
import shutil
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llmseal.errors import ConfigError
from llmseal.gateway.config.config import ENV_VAR, GatewayConfig, listen_address
from llmseal.gateway.config.datadir import prepare_data_dir
from llmseal.gateway.config.redact import mask_secrets
from llmseal.gateway.observability._logging import log_config
from llmseal.gateway.weights.binding import prepare_weights
from llmseal.store.pg import describe

__all__ = ["check_workers", "run"]

log = logging.getLogger("llmseal.gateway")


def run(
    config: GatewayConfig,
    *,
    host: str,
    port: int,
    workers: int,
    log_level: str = "info",
    announce: Callable[[GatewayConfig], None] | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM; in-flight requests finish, pending receipts are committed.

    ``announce`` is called with the prepared configuration once everything that can
    refuse the start has passed (``llmseal serve`` prints the effective configuration).
    """
    import uvicorn

    config = prepare_data_dir(config, at=datetime.now(UTC))
    config = prepare_weights(config)  # refuses to start on weights other than the committed
    _prepare_store(config)
    log_vkey = _prepare_log(config, workers)
    if announce is not None:
        announce(config)
    # Counters (and recent receipts) of a previous run are not this run's; workers
    # recreate their files.
    for name in ("metrics", "recent"):
        shutil.rmtree(Path(config.data_dir) / name, ignore_errors=True)
    os.environ[ENV_VAR] = config.to_env()
    logging.config.dictConfig(log_config(log_level))
    log.info(
        "llmseal gateway on http://%s:%d -> %s (key %s, receipts %s, %d worker(s), data %s)",
        host, port, mask_secrets(config.upstream), config.key_id or "per model", config.receipts,
        workers, config.data_dir,
    )  # fmt: skip
    if log_vkey:
        where = describe(config.log_dir) if config.log_dir else ""
        log.info("transparency log %s, served at /log/ (vkey %s)", where, log_vkey)
    if config.dashboard_listen is not None:
        _dashboard_listener(config, config.dashboard_listen, log_level)
    uvicorn.run(
        "llmseal.gateway.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_config=log_config(log_level),
        timeout_graceful_shutdown=30,
        timeout_keep_alive=30,
        backlog=2048,
    )


def _dashboard_listener(config: GatewayConfig, address: str, log_level: str) -> None:
    """The dashboard on its own address, in this (the supervising) process.

    It only reads the data directory the workers write, so it needs no access to
    the signing key and shares nothing with the public listener but files. The
    socket is bound here, so ``HOST:0`` works and the log names the real port.
    """
    import uvicorn

    from llmseal.gateway.web.routes import DashboardApp

    host, port = listen_address(address)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"--dashboard-listen {address}: {exc.strerror or exc}") from exc
    bound = sock.getsockname()[1]
    config_ = uvicorn.Config(DashboardApp(config), lifespan="on", log_config=None, access_log=False)
    server = _quiet_server()(config_)
    # Not the main thread: uvicorn installs no signal handlers here; the process's
    # exit ends it.
    threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="llmseal-dashboard", daemon=True
    ).start()
    log.info("llmseal dashboard on http://%s:%d/dashboard (read-only)", host, bound)


def _quiet_server() -> type:
    import uvicorn

    class QuietServer(uvicorn.Server):
        """Announces nothing: only the public listener says "Uvicorn running on"."""

        def _log_started_message(self, listeners: Any) -> None:
            return

    return QuietServer


def _prepare_store(config: GatewayConfig) -> None:
    """A PostgreSQL store is migrated here, once, before any worker starts: a database
    newer than this llmseal (or one that cannot be reached) stops ``serve`` with one line."""
    from llmseal.store.pg import is_postgres_url

    if is_postgres_url(config.store):
        from llmseal.store.opening import open_receipt_store

        open_receipt_store(config.store_location).close()


def check_workers(config: GatewayConfig, workers: int) -> None:
    """ConfigError when an embedded log (one owner process) meets several workers."""
    from llmseal.store.pg import is_postgres_url

    if config.log_dir is not None and workers > 1 and not is_postgres_url(config.log_dir):
        raise ConfigError(
            "--log DIR runs the log inside the gateway process: use --workers 1, or run"
            " `llmseal log serve` and give --log-url"
        )


def _prepare_log(config: GatewayConfig, workers: int) -> str | None:
    """Create the embedded log if new; one process owns a log, so one worker."""

    if config.log_dir is None:
        return None
    check_workers(config, workers)
    from llmseal.gateway.receipts.receipt_log import prepare_log_dir

    return prepare_log_dir(config)
