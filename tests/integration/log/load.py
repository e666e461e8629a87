"""Load for the log's must-show tests: threads posting until told to stop, and a
watcher keeping every checkpoint the log published while they ran."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from llmseal.log.note.notekeys import load_verifier
from llmseal.log.service.service import read_log_info
from llmseal.log.tree.tilereader import TileLog, directory_fetch

__all__ = ["Load", "open_log"]


class Load:
    """``threads`` workers calling ``send(client) -> result or None`` until :meth:`stop`;
    ``results`` keeps every non-None result, ``checkpoints`` every distinct checkpoint
    fetched from ``checkpoint_url`` between two sends."""

    def __init__(
        self,
        send: Callable[[httpx.Client], Any],
        *,
        threads: int = 8,
        checkpoint_url: str | None = None,
        enough: int = 1 << 62,
    ) -> None:
        self.results: list[Any] = []
        self.checkpoints: list[bytes] = []
        self.enough = threading.Event()
        self._stop = threading.Event()
        self._send, self._want, self._url = send, enough, checkpoint_url
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._work) for _ in range(threads)]
        if checkpoint_url is not None:
            self._threads.append(threading.Thread(target=self._watch))
        for thread in self._threads:
            thread.start()

    def _work(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                try:
                    result = self._send(client)
                except (httpx.HTTPError, ValueError):
                    continue  # the server is being killed: not acknowledged, not counted
                if result is not None:
                    with self._lock:
                        self.results.append(result)
                        if len(self.results) >= self._want:
                            self.enough.set()

    def _watch(self) -> None:
        assert self._url is not None
        with httpx.Client(timeout=5) as client:
            while not self._stop.wait(0.02):  # pacing the reader, not synchronisation
                try:
                    answer = client.get(self._url)
                except httpx.HTTPError:
                    continue
                if answer.status_code == 200 and (
                    not self.checkpoints or self.checkpoints[-1] != answer.content
                ):
                    self.checkpoints.append(answer.content)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


def open_log(log_dir: Path, fetch: Callable[[str], bytes] | None = None) -> TileLog:
    """The log at ``log_dir`` read as any reader would (its public files, or ``fetch``)."""
    info = read_log_info(log_dir)
    return TileLog(fetch or directory_fetch(log_dir / "public"), info["origin"],
                   [load_verifier(info["vkey"])])  # fmt: skip
