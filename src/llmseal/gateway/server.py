"""Running the gateway: prepare the data directory, then uvicorn with N workers."""

from __future__ import annotations

import logging
import logging.config
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from llmseal.errors import ConfigError
from llmseal.gateway._logging import log_config
from llmseal.gateway.config import ENV_VAR, GatewayConfig, prepare_data_dir
from llmseal.gateway.weights import prepare_weights

__all__ = ["run"]

log = logging.getLogger("llmseal.gateway")


def run(
    config: GatewayConfig, *, host: str, port: int, workers: int, log_level: str = "info"
) -> None:
    """Serve until SIGINT/SIGTERM; in-flight requests finish, pending receipts are committed."""
    import uvicorn

    config = prepare_data_dir(config, at=datetime.now(UTC))
    config = prepare_weights(config)  # refuses to start on weights other than the committed
    log_vkey = _prepare_log(config, workers)
    # Counters of a previous run are not this run's; workers recreate their files.
    shutil.rmtree(Path(config.data_dir) / "metrics", ignore_errors=True)
    os.environ[ENV_VAR] = config.to_env()
    logging.config.dictConfig(log_config(log_level))
    log.info(
        "llmseal gateway on http://%s:%d -> %s (key %s, receipts %s, %d worker(s), data %s)",
        host, port, config.upstream, config.key_id, config.receipts, workers, config.data_dir,
    )  # fmt: skip
    if log_vkey:
        log.info("transparency log %s, served at /log/ (vkey %s)", config.log_dir, log_vkey)
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


def _prepare_log(config: GatewayConfig, workers: int) -> str | None:
    """Create the embedded log if new; one process owns a log, so one worker."""
    if config.log_dir is None:
        return None
    if workers > 1:
        raise ConfigError(
            "--log DIR runs the log inside the gateway process: use --workers 1, or run"
            " `llmseal log serve` and give --log-url"
        )
    from llmseal.gateway.receipt_log import prepare_log_dir

    return prepare_log_dir(config)
