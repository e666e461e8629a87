"""A running transparency log: admission, sequencing, lookups and proofs in one object.

:class:`TransparencyLog` is what ``llmseal log serve`` and the gateway's embedded
log (``llmseal serve --log DIR``) run. A log directory is made once with
:func:`init_log`; its layout is in :mod:`llmseal.log.storage.dirstore`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmseal.core.keyset import KeyResolver
from llmseal.errors import KeyManagementError, LogError, LogUnavailableError
from llmseal.log.note.checkpoint import Checkpoint, SignedCheckpoint, sign_checkpoint
from llmseal.log.note.note import check_key_name
from llmseal.log.note.notekeys import Ed25519NoteSigner, Ed25519NoteVerifier
from llmseal.log.service.admission import Admission
from llmseal.log.service.sequencer import Sequencer
from llmseal.log.storage.base import EntryRef, LogStorage, PendingEntry, Sequenced
from llmseal.log.storage.dirstore import DirectoryStorage
from llmseal.log.tree.merkle import EMPTY_ROOT, inclusion_proof
from llmseal.log.tree.proof import LogProof
from llmseal.trust.keydir import write_atomic, write_private

if TYPE_CHECKING:
    from llmseal.log.witness.witnessing import Witnessing
    from llmseal.log.witness.witnesspolicy import WitnessPolicy

__all__ = ["LOG_FORMAT", "TransparencyLog", "init_log", "load_log_signer", "read_log_info"]

LOG_FORMAT = "llmseal-log/1"
_HEX_LEAF = re.compile(r"\A[0-9a-f]{64}\Z")


def init_log(directory: str | Path, origin: str) -> str:
    """Create a log at ``directory`` (key 0600, empty tree published); its vkey.

    Raises:
        KeyManagementError: a log (or its key) already exists there.
        LogFormatError: ``origin`` cannot be a key name (spaces, ``+``).
    """
    root = Path(directory)
    check_key_name(origin)
    if (root / "log.json").exists():
        raise KeyManagementError(f"{root} already holds a log; refusing to overwrite it")
    root.mkdir(mode=0o755, parents=True, exist_ok=True)  # public/ is for static servers
    signer = Ed25519NoteSigner.generate(origin)
    write_private(root / "log.key", (signer.skey() + "\n").encode())
    storage = DirectoryStorage(root)
    try:
        empty = sign_checkpoint(Checkpoint(origin, 0, EMPTY_ROOT), signer)
        storage.publish({}, empty.encode(), 0)
    finally:
        storage.close()
    info = {"format": LOG_FORMAT, "origin": origin, "vkey": signer.vkey()}
    write_atomic(root / "log.json", json.dumps(info, indent=2).encode() + b"\n")
    return signer.vkey()


def read_log_info(directory: str | Path) -> dict[str, str]:
    """``log.json``: format, origin, vkey."""
    path = Path(directory) / "log.json"
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise LogUnavailableError(f"{path} is not a log description: {exc}") from exc
    if not isinstance(info, dict) or info.get("format") != LOG_FORMAT:
        raise LogUnavailableError(f"{path} is not an {LOG_FORMAT} log")
    return {k: str(v) for k, v in info.items()}


def load_log_signer(directory: Path, origin: str) -> Ed25519NoteSigner:
    """The note signer in ``directory/log.key`` (0600), checked to be ``origin``'s."""
    path = directory / "log.key"
    try:
        if path.stat().st_mode & 0o077:
            raise KeyManagementError(f"{path} is readable by others; chmod 600 it")
        signer = Ed25519NoteSigner.from_skey(path.read_text())
    except OSError as exc:
        raise KeyManagementError(f"cannot read the log key {path}: {exc.strerror}") from exc
    except LogError as exc:
        raise KeyManagementError(f"{path} is not a log key: {exc}") from exc
    if signer.name != origin:
        raise KeyManagementError(f"{path} is the key of {signer.name!r}, not of {origin!r}")
    return signer


class TransparencyLog:
    """One log: admits receipts, sequences them, answers lookups and proofs."""

    def __init__(
        self,
        storage: LogStorage,
        signer: Ed25519NoteSigner,
        keys: KeyResolver,
        *,
        sequencer_class: type[Sequencer] = Sequencer,
        **sequencer: Any,
    ) -> None:
        self.storage = storage
        self.origin = signer.name
        self.verifier: Ed25519NoteVerifier = signer.verifier()
        self.vkey = signer.vkey()
        self.admission = Admission(keys)
        self.sequencer = sequencer_class(storage, signer, self.verifier, self.origin, **sequencer)
        self._witnessing: Witnessing | None = None

    @classmethod
    def open(
        cls, directory: str | Path, *, keys: KeyResolver, durable: bool = True, **sequencer: Any
    ) -> TransparencyLog:
        """Open (and recover) the log at ``directory``; it is locked for this process."""
        root = Path(directory)
        info = read_log_info(root)
        signer = load_log_signer(root, info["origin"])
        storage = DirectoryStorage(root, durable=durable)
        try:
            return cls(storage, signer, keys, **sequencer)
        except BaseException:
            storage.close()
            raise

    # --- writing -------------------------------------------------------------------
    def submit(self, receipt: bytes | Mapping[str, Any]) -> Future[Sequenced]:
        """Admit one receipt (raises LogAdmissionError) and queue it."""
        return self.sequencer.submit([self.admission.admit(receipt)])[0]

    def submit_entries(self, entries: Sequence[PendingEntry]) -> list[Future[Sequenced]]:
        """Queue already-admitted entries."""
        return self.sequencer.submit(entries)

    def add(self, receipt: bytes | Mapping[str, Any], *, timeout: float = 30.0) -> Sequenced:
        """Admit, sequence and wait for the durable index."""
        future = self.submit(receipt)
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise LogUnavailableError(f"the log did not sequence within {timeout} s") from None

    # --- reading -------------------------------------------------------------------
    def checkpoint(self) -> SignedCheckpoint:
        return self.sequencer.published

    def read(self, path: str) -> bytes:
        return self.storage.read(path)

    def lookup(self, receipt_id: str) -> list[EntryRef]:
        return self.storage.find_receipt(receipt_id)

    def locate(self, key: str) -> EntryRef | None:
        """An entry by 64-hex leaf hash or by receipt_id (the first logged one)."""
        if _HEX_LEAF.match(key):
            leaf = bytes.fromhex(key)
            index = self.storage.find_leaf(leaf)
            if index is not None:
                return EntryRef(index, leaf)
        found = self.storage.find_receipt(key)
        return found[0] if found else None

    def prove(self, index: int, checkpoint: SignedCheckpoint | None = None) -> LogProof | None:
        """The tlog-proof of entry ``index`` against ``checkpoint`` (default: the latest);
        None while that checkpoint does not cover it yet."""
        witnessed = self.sequencer.witnessed
        if checkpoint is None and witnessed is not None and index < witnessed.size:
            checkpoint = witnessed  # a cosigned checkpoint, once one covers the entry
        cp = checkpoint or self.sequencer.published
        if not 0 <= index < cp.size:
            return None
        path = inclusion_proof(index, cp.size, self.sequencer.reader(cp))
        return LogProof(index, tuple(path), cp.encode())

    def prove_published(self, index: int, *, timeout: float) -> LogProof:
        """Wait until ``index`` is published, then its proof."""
        cp = self.sequencer.wait_published(index + 1, timeout)
        proof = self.prove(index, cp)
        if proof is None:  # pragma: no cover - wait_published guarantees the size
            raise LogUnavailableError(f"entry {index} is not published")
        return proof

    def witness(self, policy: WitnessPolicy, *, interval: float = 10.0) -> Witnessing:
        """Have the policy's witnesses cosign our checkpoints, every ``interval`` s, until
        :meth:`close` (:mod:`llmseal.log.witness.witnessing`)."""
        from llmseal.log.witness.witnessing import witnessing_for

        self._witnessing = witnessing_for(self, policy, interval=interval)
        self._witnessing.start()
        return self._witnessing

    def close(self) -> None:
        """Sequence and publish what is queued, then release the directory."""
        if self._witnessing is not None:
            self._witnessing.stop()
        try:
            self.sequencer.close()
        finally:
            self.storage.close()
