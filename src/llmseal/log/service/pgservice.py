"""A transparency log kept in PostgreSQL, run by every gateway replica.

``llmseal serve --log postgresql://…`` calls :func:`init_pg_log` (the first replica
creates the log: origin, vkey and the empty checkpoint go into the database, the
note key into ``KEY_DIR/log.key``, mode 0600) and :func:`open_pg_log`. Every replica
signs checkpoints with that same key when it is the integrator, so the others need
a copy of ``log.key`` (as they need the receipt signing keys): a replica whose key
is not the database's log key refuses to start, with one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llmseal.core.keyset import KeyResolver
from llmseal.errors import KeyManagementError
from llmseal.log.note.checkpoint import Checkpoint, sign_checkpoint
from llmseal.log.note.note import check_key_name
from llmseal.log.note.notekeys import Ed25519NoteSigner
from llmseal.log.service.replicated import ReplicatedSequencer
from llmseal.log.service.service import TransparencyLog, load_log_signer
from llmseal.log.storage.pgstore import PostgresLogStorage
from llmseal.log.tree.merkle import EMPTY_ROOT
from llmseal.store.pg import describe
from llmseal.trust.keydir import write_private

__all__ = ["init_pg_log", "open_pg_log"]


def init_pg_log(url: str, origin: str, key_dir: str | Path) -> str:
    """Create the log in the database at ``url`` unless it holds one; its vkey.

    The key is made in ``key_dir/log.key`` if there is none.

    Raises:
        KeyManagementError: the database's log has another key than ``key_dir``'s.
    """
    root = Path(key_dir)
    storage = PostgresLogStorage(url, pool_size=1)
    try:
        found = storage.info()
        if found is None:
            check_key_name(origin)
            key = root / "log.key"
            if not key.exists():
                root.mkdir(mode=0o700, parents=True, exist_ok=True)
                write_private(key, (Ed25519NoteSigner.generate(origin).skey() + "\n").encode())
            signer = load_log_signer(root, origin)
            empty = sign_checkpoint(Checkpoint(origin, 0, EMPTY_ROOT), signer)
            found = storage.create(origin, signer.vkey(), empty.encode())
        _check_key(url, root, *found)
        return found[1]
    finally:
        storage.close()


def _check_key(url: str, key_dir: Path, origin: str, vkey: str) -> Ed25519NoteSigner:
    signer = load_log_signer(key_dir, origin)
    if signer.vkey() != vkey:
        raise KeyManagementError(
            f"{key_dir / 'log.key'} is not the key of the log in {describe(url)}"
            " (copy log.key from the replica that created it)"
        )
    return signer


def open_pg_log(
    url: str, key_dir: str | Path, *, keys: KeyResolver, **sequencer: Any
) -> TransparencyLog:
    """Join the log at ``url`` as one replica (sequencing; integrating when elected)."""
    storage = PostgresLogStorage(url)
    try:
        found = storage.info()
        if found is None:
            raise KeyManagementError(f"{describe(url)} holds no log yet (init_pg_log makes one)")
        signer = _check_key(url, Path(key_dir), *found)
        return TransparencyLog(
            storage, signer, keys, sequencer_class=ReplicatedSequencer, **sequencer
        )
    except BaseException:
        storage.close()
        raise
