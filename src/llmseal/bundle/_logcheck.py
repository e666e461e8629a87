"""The log proofs of one bundle verification, each distinct checkpoint opened once.

The receipts of a pipeline are often logged together, so their tlog-proofs carry
the same checkpoint. Its log signature, its cosignatures and the witness quorum
are then the same question asked several times: :class:`LogChecker` answers it
once per verification, keyed by the checkpoint's exact bytes (a failure is
remembered too, and raised again for every proof that carries it). The inclusion
path is checked per receipt. A checker lives for one :func:`verify_bundle` call
and is never reused: what a later call trusts must be checked again
(docs/spec/bundle.md, "Verdict").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from llmseal.bundle.anchors import Anchors
from llmseal.core import _time
from llmseal.errors import LogError, LogFormatError, ProofError
from llmseal.log.note.checkpoint import SignedCheckpoint, open_checkpoint
from llmseal.log.note.note import Note, NoteVerifier
from llmseal.log.tree.merkle import leaf_hash, verify_inclusion
from llmseal.log.tree.proof import LogProof
from llmseal.log.tree.tiles import MAX_ENTRY_SIZE
from llmseal.log.witness.quorum import Witnessed, check_quorum

__all__ = ["LogChecker", "LogOutcome"]


@dataclass(frozen=True, slots=True)
class LogOutcome:
    """What one item's log proof established (or why it did not)."""

    report: dict[str, Any] | None
    """The ``log`` member of the item's result; None when the item has no proof."""
    proven_at: datetime | None = None
    witnessed: bool = False
    reason: str | None = None
    """Why the receipt does not count as logged (for the policy), None if it does."""
    failure: str | None = None
    """A failure of the item itself (a proof that is there but does not verify)."""


@dataclass(frozen=True, slots=True)
class _Opened:
    origin: str
    signed: SignedCheckpoint
    witnessed: Witnessed | None


class LogChecker:
    """Checks the tlog-proofs of one verification against ``anchors`` at time ``at``."""

    def __init__(self, anchors: Anchors, *, at: datetime) -> None:
        self._anchors = anchors
        self._at = at
        self._opened: dict[bytes, _Opened | LogError] = {}

    def check(self, entry: bytes, proof: object) -> LogOutcome:
        """Judge ``proof`` (the item's ``evidence.log``) for the log entry ``entry``."""
        anchors = self._anchors
        if not isinstance(proof, str):
            return LogOutcome(None, reason="the bundle has no log proof for this receipt")
        if not anchors.logs and anchors.witnesses is None:
            report = {"verified": False, "reason": "no log key to check it against"}
            return LogOutcome(report, reason="no trusted log key was given")
        try:
            if len(entry) > MAX_ENTRY_SIZE:
                raise LogFormatError(f"receipt is {len(entry)} bytes as a log entry, over 65535")
            parsed = LogProof.parse(proof)
            opened = self._open(parsed)
            verify_inclusion(
                leaf_hash(entry), parsed.index, opened.signed.size, parsed.path, opened.signed.root
            )
        except LogError as exc:
            report = {"verified": False, "reason": str(exc)}
            return LogOutcome(
                report, reason=str(exc), failure=f"its log proof does not verify: {exc}"
            )
        report = {"verified": True, "origin": opened.origin, "index": parsed.index,
                  "tree_size": opened.signed.size}  # fmt: skip
        witnessed = opened.witnessed
        if witnessed is None:
            return LogOutcome(report)
        report["witnessed"] = bool(witnessed)
        report["cosigned_by"] = sorted(witnessed.cosigned)
        if witnessed.proven_at is not None:
            report["proven_at"] = _time.format_utc(witnessed.proven_at)
        return LogOutcome(report, witnessed.proven_at, bool(witnessed))

    def _open(self, proof: LogProof) -> _Opened:
        known = self._opened.get(proof.checkpoint)
        if known is None:
            try:
                known = self._verify(proof.note)
            except LogError as exc:
                known = exc
            self._opened[proof.checkpoint] = known
        if isinstance(known, LogError):
            raise known
        return known

    def _verify(self, note: Note) -> _Opened:
        # The origin is read unverified only to pick keys; the signature decides.
        origin = note.text.split("\n", 1)[0]
        anchors = self._anchors
        policy = anchors.witnesses
        if policy is None:
            verifiers: list[NoteVerifier] = list(anchors.logs.logs.get(origin, ()))
            if not verifiers:
                trusted = ", ".join(sorted(anchors.logs.logs)) or "none"
                raise ProofError(f"the proof is from log {origin!r}, not a trusted log ({trusted})")
            return _Opened(origin, open_checkpoint(note, origin=origin, verifiers=verifiers), None)
        verifiers = [*policy.log_verifiers(origin), *anchors.logs.logs.get(origin, ())]
        if not verifiers:
            raise ProofError(f"no trusted key for log {origin!r} (witness policy or log vkey)")
        signed = open_checkpoint(note, origin=origin, verifiers=verifiers)
        return _Opened(origin, signed, check_quorum(signed, policy, at=self._at))
