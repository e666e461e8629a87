"""Running a standalone log (``llmseal log serve``) and checking one (``llmseal log check``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from llmseal.core.keyset import KeyResolver
from llmseal.log.note.checkpoint import open_checkpoint
from llmseal.log.note.notekeys import load_verifier
from llmseal.log.service.service import TransparencyLog, read_log_info
from llmseal.log.tree.integrity import check_tree
from llmseal.log.tree.tilereader import directory_fetch
from llmseal.log.witness.witnesspolicy import WitnessPolicy
from llmseal.trust.keysource import CachedKeySet, KeySources

__all__ = ["check_directory", "key_sources", "run"]

log = logging.getLogger("llmseal.log")


def key_sources(keysets: Sequence[str]) -> KeyResolver:
    """The key sets a log admits receipts of, loaded now (so a bad one fails at start)."""
    sources = [CachedKeySet(source) for source in keysets]
    for source in sources:
        source.keyset()
    return KeySources(*sources)


def run(
    directory: str | Path,
    keysets: Sequence[str],
    *,
    host: str,
    port: int,
    batch_size: int = 1024,
    batch_age: float = 0.05,
    log_level: str = "info",
    witness_policy: str | Path | None = None,
    witness_interval: float = 10.0,
) -> None:
    """Open (recover) the log and serve it until SIGINT/SIGTERM; queued entries are published.

    With ``witness_policy`` (C2SP tlog-policy) the policy's witnesses are asked to
    cosign every ``witness_interval`` seconds (:meth:`TransparencyLog.witness`).
    """
    import uvicorn

    from llmseal.log.http.app import LogApp

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(message)s")
    tlog = TransparencyLog.open(
        directory, keys=key_sources(keysets), batch_size=batch_size, batch_age=batch_age
    )
    cp = tlog.checkpoint()
    if witness_policy is not None:
        policy = WitnessPolicy.load(witness_policy)
        tlog.witness(policy, interval=witness_interval)
        log.info("llmseal log %s: witnesses %s", tlog.origin, policy.describe())
    log.info("llmseal log %s (size %d) on http://%s:%d", tlog.origin, cp.size, host, port)
    uvicorn.run(
        LogApp(tlog),
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level=log_level,
        timeout_graceful_shutdown=30,
        backlog=2048,
    )


def check_directory(directory: str | Path, *, entries: bool = True) -> int:
    """Verify a log directory read-only (it may be serving meanwhile); the tree size."""
    info = read_log_info(directory)
    fetch = directory_fetch(Path(directory) / "public")
    verifier = load_verifier(info["vkey"])
    cp = open_checkpoint(fetch("checkpoint"), origin=info["origin"], verifiers=[verifier])
    check_tree(fetch, cp, entries=entries)
    return cp.size
