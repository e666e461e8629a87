"""Every receipt the gateway delivers goes to the transparency log.

The receipt is in the store — with a row in the store's log outbox, same
transaction — before its response is sent (:mod:`llmseal.store.sqlite`). Then:

* by default the response is not delayed: :class:`ReceiptLogger` wakes its outbox
  task, which submits everything unacknowledged in batches and drops the rows the
  log acknowledged. After a crash the rows are still there and are resubmitted;
  the log answers a duplicate with its existing index, so resubmitting is safe.
* with ``inline`` the response waits: the receipt is submitted at once, and once
  a checkpoint covers it its tlog-proof travels beside it as
  ``receipt_evidence.log``. If the log refuses or cannot take it, the response is
  a 503 and the receipt is never logged (it was not delivered); if the log took
  it but no checkpoint came in time, the response goes without the proof.

The log is either embedded (:class:`~.logclient.EmbeddedLog`, ``llmseal serve --log
DIR``) or remote (:class:`~.logclient.RemoteLog`, ``--log-url``: batched ``POST /add``);
:func:`open_log_link` opens the one a configuration names.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from typing import Any

import orjson

from llmseal.core.canonical import canonicalize
from llmseal.core.receipt import Receipt
from llmseal.errors import Error, LogError, LogUnavailableError, NetworkError
from llmseal.gateway.receipts.logclient import EmbeddedLog, LogClient, RemoteLog
from llmseal.log.http import LogApp
from llmseal.log.service import TransparencyLog
from llmseal.log.tree.merkle import leaf_hash
from llmseal.store.base import LogOutbox, StoredReceipt
from llmseal.store.pg import is_postgres_url

__all__ = ["ReceiptLogger", "open_log_link", "prepare_log_dir"]

log = logging.getLogger("llmseal.gateway")
_BATCH = 2048


class ReceiptLogger:
    """The outbox task plus the inline path. Create and start it on the serving loop."""

    def __init__(
        self,
        store: LogOutbox,
        client: LogClient,
        *,
        inline: bool = False,
        timeout: float = 10.0,
        retry: float = 1.0,
    ) -> None:
        self.store = store
        self.client = client
        self.inline = inline
        self.timeout = timeout
        self._retry = retry
        self._wake = asyncio.Event()
        self._done: list[str] = []
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.logged = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())
            self._wake.set()  # resubmit what a previous run left in the outbox

    async def logged_evidence(self, receipt: Receipt, receipt_json: bytes) -> dict[str, Any]:
        """After the receipt is stored: evidence to send beside it ({} unless inline).

        Raises:
            LogUnavailableError: inline, and the log did not take the receipt.
        """
        if self._task is None:
            self.start()  # served without a lifespan (ASGI test clients)
        if not self.inline:
            self._wake.set()
            return {}
        record = StoredReceipt.of(receipt, receipt_json)
        try:
            (sequenced,) = await asyncio.wait_for(self.client.submit([record]), self.timeout)
        except (Error, TimeoutError) as exc:
            self._forget(receipt.receipt_id)  # not delivered, so never logged either
            raise LogUnavailableError(
                f"the transparency log did not take the receipt: {exc}"
            ) from exc
        self._forget(receipt.receipt_id)
        self.logged += 1
        try:
            return {"log": await self.client.proof(sequenced, self.timeout)}
        except Error as exc:  # logged, but no checkpoint in time: deliver without the proof
            log.warning(
                "log: no proof for %s within %s s: %s", receipt.receipt_id, self.timeout, exc
            )
            return {}

    async def proof_of(self, record: StoredReceipt, timeout: float) -> str | None:
        """The tlog-proof of a stored receipt once logged and published; None if not yet."""
        leaf = leaf_hash(canonicalize(orjson.loads(record.body)))
        try:
            return await asyncio.wait_for(self.client.proof_of(leaf, timeout), timeout + 1.0)
        except (Error, TimeoutError):
            return None

    def _forget(self, receipt_id: str) -> None:
        self._done.append(receipt_id)
        if len(self._done) >= _BATCH:
            self._wake.set()

    async def _run(self) -> None:
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._retry)
            self._wake.clear()
            await self._drain()

    async def _drain(self) -> None:
        """Submit what the outbox holds until it is empty or the log fails."""
        try:
            while True:
                done, self._done = self._done, []
                if done:
                    await asyncio.to_thread(self.store.outbox_done, done)
                # Inline requests submit their own receipts; leave them a head start.
                before = time.time() - 3 * self.timeout if self.inline else None
                rows = await asyncio.to_thread(
                    self.store.outbox_pending, _BATCH, queued_before=before
                )
                if not rows:
                    return
                await self.client.submit(rows)
                await asyncio.to_thread(self.store.outbox_done, [r.receipt_id for r in rows])
                self.logged += len(rows)
        except (LogError, NetworkError) as exc:
            log.warning("log: outbox submission failed, retrying in %s s: %s", self._retry, exc)
        except Error as exc:
            log.error("log: outbox failed: %s", exc)

    async def aclose(self) -> None:
        """Submit what is left (best effort), then stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
            await self._drain()
        await self.client.aclose()


def open_log_link(config: Any, store: Any) -> tuple[ReceiptLogger | None, LogApp | None]:
    """The logger a gateway config asks for, and the embedded log's routes under /log."""
    if config.log_dir is None and config.log_url is None:
        return None, None
    client: LogClient
    tlog = None
    if config.log_dir is not None:
        from llmseal.trust.keysource import CachedKeySet

        prepare_log_dir(config)
        keys = CachedKeySet(str(config.keys_dir / "keys.json"))
        witnesses = _witness_policy(config)  # read before the log is opened (and locked)
        if is_postgres_url(config.log_dir):  # shared by replicas (llmseal.log.service.pgservice)
            from llmseal.log.service.pgservice import open_pg_log

            tlog = open_pg_log(
                config.log_dir, config.data_dir, keys=keys, batch_age=config.log_batch_age
            )
        else:
            tlog = TransparencyLog.open(config.log_dir, keys=keys, batch_age=config.log_batch_age)
        if witnesses is not None:
            tlog.witness(witnesses, interval=config.log_witness_interval)
        client = EmbeddedLog(tlog)
    else:
        client = RemoteLog(config.log_url, timeout=max(config.log_timeout, 5.0))
    logger = ReceiptLogger(store, client, inline=config.log_inline, timeout=config.log_timeout)
    return logger, (LogApp(tlog, prefix="/log") if tlog is not None else None)


def _witness_policy(config: Any) -> Any:
    if config.log_witness_policy is None:
        return None
    from llmseal.log.witness.witnesspolicy import WitnessPolicy

    return WitnessPolicy.load(config.log_witness_policy)


def prepare_log_dir(config: Any) -> str:
    """Create the embedded log on first run (origin ``--log-origin``, else
    ``<issuer or host name>/log``); its vkey. ``--log postgresql://…``: the log in that
    database, its key in ``DATA_DIR/log.key`` (every replica needs a copy)."""
    from pathlib import Path

    from llmseal.log.service import init_log, read_log_info

    if is_postgres_url(config.log_dir):
        from llmseal.log.service.pgservice import init_pg_log

        origin = config.log_origin or f"{config.issuer or socket.gethostname()}/log"
        return init_pg_log(config.log_dir, origin, config.data_dir)
    if not (Path(config.log_dir) / "log.json").exists():
        origin = config.log_origin or f"{config.issuer or socket.gethostname()}/log"
        return init_log(config.log_dir, origin)
    return read_log_info(config.log_dir)["vkey"]
