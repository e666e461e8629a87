"""The two logs a gateway submits receipts to: embedded in the worker, or remote.

Both answer the :class:`LogClient` protocol :class:`~.receipt_log.ReceiptLogger`
uses: submit a batch and get durable indices, then wait for the tlog-proof of an
entry once a checkpoint covers it. :class:`EmbeddedLog` is ``llmseal serve --log
DIR`` (the log runs in this process); :class:`RemoteLog` is ``--log-url`` (a
standalone ``llmseal log serve``: batched ``POST /add``, ``GET /proof/<leaf hash>``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol

import httpx
import orjson

from llmseal.core.canonical import canonicalize
from llmseal.errors import LogUnavailableError, NetworkError
from llmseal.log.service import TransparencyLog
from llmseal.log.service.awaiter import PublicationAwaiter
from llmseal.log.storage import PendingEntry, Sequenced
from llmseal.log.tree.merkle import leaf_hash
from llmseal.store.base import StoredReceipt

__all__ = ["EmbeddedLog", "LogClient", "RemoteLog"]


class LogClient(Protocol):
    """Where receipts are logged."""

    async def submit(self, records: Sequence[StoredReceipt]) -> list[Sequenced]:
        """Durable indices for ``records`` (LogError/NetworkError if not)."""
        ...

    async def proof(self, sequenced: Sequenced, timeout: float) -> str:
        """The tlog-proof text once a checkpoint covers the entry (LogError if not in time)."""
        ...

    async def proof_of(self, leaf: bytes, timeout: float) -> str:
        """The tlog-proof of the entry with this leaf hash (LogError if none in time)."""
        ...

    async def aclose(self) -> None: ...


class EmbeddedLog:
    """The log running in this process (one worker owns the log directory).

    The gateway's own receipts skip admission: it signed them itself a moment ago
    with the key the log admits. ``POST /log/add`` from anyone else is checked.
    """

    def __init__(self, tlog: TransparencyLog) -> None:
        self.tlog = tlog
        self._awaiter: PublicationAwaiter | None = None

    async def submit(self, records: Sequence[StoredReceipt]) -> list[Sequenced]:
        if len(records) == 1:
            entries = _entries(records)
        else:  # a big outbox batch: canonicalize off the loop
            entries = await asyncio.to_thread(_entries, records)
        futures = self.tlog.submit_entries(entries)
        return list(await asyncio.gather(*(asyncio.wrap_future(f) for f in futures)))

    async def proof(self, sequenced: Sequenced, timeout: float) -> str:
        if self._awaiter is None:
            self._awaiter = PublicationAwaiter(self.tlog.sequencer)
        checkpoint = await self._awaiter.wait(sequenced.index + 1, timeout)
        proof = self.tlog.prove(sequenced.index, checkpoint)
        if proof is None:  # pragma: no cover - the awaited checkpoint covers the index
            raise LogUnavailableError(f"entry {sequenced.index} is not published")
        return proof.text()

    async def proof_of(self, leaf: bytes, timeout: float) -> str:
        ref = await asyncio.to_thread(self.tlog.locate, leaf.hex())
        if ref is None:
            raise LogUnavailableError(f"no entry with leaf hash {leaf.hex()} yet")
        return await self.proof(Sequenced(ref.index, ref.leaf_hash, True), timeout)

    async def aclose(self) -> None:
        await asyncio.to_thread(self.tlog.close)


def _entries(records: Sequence[StoredReceipt]) -> list[PendingEntry]:
    out = []
    for record in records:
        entry = canonicalize(orjson.loads(record.body))  # the receipt's RFC 8785 bytes
        out.append(PendingEntry(entry, leaf_hash(entry), record.receipt_id))
    return out


class RemoteLog:
    """A standalone ``llmseal log serve`` at ``url``."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.AsyncClient(timeout=timeout)

    async def submit(self, records: Sequence[StoredReceipt]) -> list[Sequenced]:
        body = b"[" + b",".join(r.body for r in records) + b"]"
        answer = await self._request("POST", "/add", content=body)
        try:
            items = answer.json()
            return [
                Sequenced(int(i["index"]), bytes.fromhex(i["leaf_hash"]), bool(i["duplicate"]))
                for i in items
            ]
        except (ValueError, TypeError, KeyError) as exc:
            raise NetworkError(f"log at {self.url} answered POST /add with {exc}") from exc

    async def proof(self, sequenced: Sequenced, timeout: float) -> str:
        path = f"/proof/{sequenced.leaf_hash.hex()}?wait={timeout:g}"
        return (await self._request("GET", path)).text

    async def proof_of(self, leaf: bytes, timeout: float) -> str:
        return await self.proof(Sequenced(-1, leaf, True), timeout)  # found by leaf hash

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            answer = await self._client.request(method, self.url + path, **kwargs)
        except httpx.HTTPError as exc:
            raise NetworkError(f"log at {self.url} unreachable: {exc}") from exc
        if answer.status_code != 200:
            raise LogUnavailableError(
                f"log at {self.url} answered {method} {path.split('?')[0]} with"
                f" {answer.status_code}: {answer.text[:200]}"
            )
        return answer

    async def aclose(self) -> None:
        await self._client.aclose()
