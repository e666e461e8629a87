"""What a verifier trusts about logs, and checking a receipt's log proof against it.

A relying party configures the logs it trusts by their vkeys (``--log-vkey``, the
policy's ``logs``); a log's origin is its key name, as C2SP recommends and as
every llmseal log does. :meth:`LogTrust.check` takes a receipt exactly as it was
delivered and a tlog-proof (``receipt_evidence.log``, a ``.tlog-proof`` file or
``GET <log>/proof/<id>``) and says where in which log the receipt is — or raises.
Everything in the proof is untrusted input until it verified.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from llmseal.errors import LogFormatError, ProofError
from llmseal.log.entry import receipt_entry
from llmseal.log.note.note import NoteVerifier
from llmseal.log.note.notekeys import load_verifier
from llmseal.log.tree.proof import LogProof, ProvenEntry, verify_log_proof

__all__ = ["LogTrust"]


@dataclass(frozen=True)
class LogTrust:
    """The logs a verifier accepts: origin → the keys that sign its checkpoints."""

    logs: Mapping[str, tuple[NoteVerifier, ...]] = field(default_factory=dict)

    @classmethod
    def from_vkeys(cls, vkeys: Iterable[str]) -> LogTrust:
        """Parse vkeys (LogFormatError names the bad one)."""
        logs: dict[str, list[NoteVerifier]] = {}
        for vkey in vkeys:
            try:
                verifier = load_verifier(vkey)
            except LogFormatError as exc:
                raise LogFormatError(f"log key {vkey[:60]!r}: {exc}") from exc
            logs.setdefault(verifier.name, []).append(verifier)
        return cls({origin: tuple(v) for origin, v in logs.items()})

    def __bool__(self) -> bool:
        return bool(self.logs)

    def check(self, receipt: Mapping[str, Any], proof: str | bytes | LogProof) -> ProvenEntry:
        """Verify that ``receipt`` (the delivered object) is in a trusted log.

        Raises:
            LogFormatError: the proof or its checkpoint is malformed.
            ProofError: the checkpoint is not from a trusted log, not signed by its
                key, or the path does not lead from this receipt to its root.
        """
        parsed = proof if isinstance(proof, LogProof) else LogProof.parse(proof)
        # The origin is read unverified only to pick keys; the signature decides.
        origin = parsed.note.text.split("\n", 1)[0]
        verifiers = self.logs.get(origin)
        if not verifiers:
            trusted = ", ".join(sorted(self.logs)) or "none"
            raise ProofError(f"the proof is from log {origin!r}, not a trusted log ({trusted})")
        return verify_log_proof(parsed, receipt_entry(receipt), origin=origin, verifiers=verifiers)
