"""The evidence store's files beside its rows: sample folders, flushed at exit.

A sample folder is built under a temporary name (files fsynced, ``manifest.json``
last) and renamed into place only if nothing is there, so a folder that exists is
complete and nothing is ever overwritten (:mod:`llmseal.store.evidence` has the
layout). Sample files are written on a background thread: :func:`flush_at_exit`
registers a store to be flushed at interpreter exit and on ``SIGTERM``.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import os
import shutil
import signal
import tempfile
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

from llmseal.errors import StoreError
from llmseal.store.evidencerecord import EvidenceRecord, Sample

if TYPE_CHECKING:
    from llmseal.store.evidence import EvidenceStore

__all__ = ["flush_at_exit", "write_folder"]

log = logging.getLogger("llmseal.evidence")


def write_folder(target: Path, rec: EvidenceRecord, sample: Sample) -> None:
    """Write ``sample`` of ``rec`` as the folder ``target``, keeping one already there.

    Raises:
        StoreError: the folder could not be written.
    """
    files = {}
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=".building-", dir=target.parent))
        for name, data in (
            ("request.json", sample.request),
            ("response.json", sample.response),
            ("receipt.json", sample.receipt),
        ):
            _write_synced(building / name, data)
            files[name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        manifest = {
            "receipt_id": rec.receipt_id, "status": rec.status, "issuer": rec.issuer,
            "key_id": rec.key_id, "model_id": rec.model_id, "issued_at": rec.issued_at,
            "verified_at": rec.verified_at, "endpoint": rec.endpoint,
            "reasons": list(rec.reasons), "files": files,
        }  # fmt: skip
        _write_synced(building / "manifest.json", json.dumps(manifest, indent=2).encode() + b"\n")
        _publish(building, target)
    except OSError as exc:
        raise StoreError(f"cannot write evidence sample {target}: {exc.strerror}") from exc


def _publish(building: Path, target: Path) -> None:
    """Rename the finished folder into place; if another writer got there first, keep theirs."""
    try:
        os.rename(building, target)  # fails on an existing non-empty folder: never replaces
    except OSError:
        shutil.rmtree(building, ignore_errors=True)
        if not (target / "manifest.json").exists():
            raise
        return
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _write_synced(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


# Stores with a sample writer to flush when the process ends. The rows are already
# committed; this is about the sample files still queued.
_open: weakref.WeakSet[EvidenceStore] = weakref.WeakSet()
_hooks_lock = threading.Lock()
_hooked = False


def flush_at_exit(store: EvidenceStore) -> None:
    global _hooked
    with _hooks_lock:
        _open.add(store)
        if _hooked:
            return
        _hooked = True
        atexit.register(_flush_open)
        # SIGTERM's default action ends the process without atexit. Take it over only
        # where nobody else has (main thread, default action), and keep its meaning.
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
        ):
            signal.signal(signal.SIGTERM, _on_sigterm)


def _flush_open() -> None:
    for store in list(_open):
        try:
            store.flush()
        except Exception as exc:  # exiting: report, never raise
            log.error("evidence flush at exit failed: %s", exc)


def _on_sigterm(signum: int, frame: object) -> None:
    _flush_open()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)
