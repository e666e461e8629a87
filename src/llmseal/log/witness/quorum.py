"""Judging a checkpoint's cosignatures against a witness policy, and its proven time.

Each witness of the policy counts once, by its earliest cosignature that
verifies (a cosignature line by a policy witness that fails to verify rejects
the whole checkpoint, as signed-note asks for known keys). A group of ``n`` is
witnessed when ``k`` of its members are (c2sp.org/tlog-policy).

**Proven time.** A cosignature at time ``t`` says the witness had seen this tree
by ``t`` (c2sp.org/tlog-cosignature, "Ed25519 signed message"). One witness
could lie about ``t``; the policy's quorum is who the verifier trusts not to all
lie together. So the checkpoint is *proven* to have existed at the earliest time
by which a quorum had cosigned it: a witness at its cosignature time, a ``k``-of-
``n`` group at the ``k``-th earliest time of its members. A quorum that lies
less than fully cannot move that time earlier. Cosignatures dated after the
verifier's clock (plus skew) are not counted (the spec lets verifiers reject
them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from llmseal.errors import NoteSignatureError, ProofError
from llmseal.log.note.checkpoint import SignedCheckpoint, open_checkpoint
from llmseal.log.note.cosignature import cosignature_time
from llmseal.log.note.note import Note, NoteVerifier
from llmseal.log.tree.proof import LogProof, ProvenEntry, verify_log_proof
from llmseal.log.witness.witnesspolicy import WitnessPolicy

__all__ = [
    "Witnessed",
    "WitnessedEntry",
    "check_quorum",
    "open_witnessed",
    "quorum_time",
    "verify_witnessed_proof",
    "witness_times",
]

DEFAULT_SKEW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Witnessed:
    """What a witness policy makes of one log-verified checkpoint."""

    checkpoint: SignedCheckpoint
    cosigned: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    """Policy witness name -> POSIX time of its earliest valid cosignature."""
    satisfied: bool = False
    proven_at: datetime | None = None
    """When a quorum had cosigned (None if unsatisfied or the quorum is ``none``)."""
    notes: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.satisfied

    def require(self) -> Witnessed:
        """Fail closed: :class:`ProofError` unless the quorum is satisfied."""
        if not self.satisfied:
            who = ", ".join(sorted(self.cosigned)) or "no policy witness"
            extra = f" ({'; '.join(self.notes)})" if self.notes else ""
            raise ProofError(
                f"checkpoint of size {self.checkpoint.size} is not cosigned by the witness "
                f"quorum: cosigned by {who}{extra}"
            )
        return self


def witness_times(
    note: Note, policy: WitnessPolicy, *, at: datetime | None = None, skew: timedelta = DEFAULT_SKEW
) -> tuple[dict[str, int], list[str]]:
    """Each policy witness's earliest valid cosignature time on ``note``, and notes.

    Raises:
        NoteSignatureError: a cosignature line matching a policy witness's name
            and key ID does not verify.
    """
    by_key = {(w.verifier.name, w.verifier.key_id): w for w in policy.witnesses.values()}
    text = note.text.encode("utf-8")
    limit = None if at is None else int((at + skew).timestamp())
    times: dict[str, int] = {}
    notes: list[str] = []
    for sig in note.signatures:
        witness = by_key.get((sig.name, sig.key_id))
        if witness is None:
            continue  # unknown cosigners are ignored (tlog-witness, signed-note)
        if not witness.verifier.verify(text, sig.signature):
            raise NoteSignatureError(f"the cosignature by witness {witness.name} does not verify")
        stamp = cosignature_time(sig)
        if limit is not None and stamp > limit:
            notes.append(f"witness {witness.name}'s cosignature is dated in the future")
            continue
        times[witness.name] = min(stamp, times.get(witness.name, stamp))
    return times, notes


def quorum_time(policy: WitnessPolicy, times: Mapping[str, int]) -> int | None:
    """The earliest POSIX time by which the quorum had cosigned; None if it has not."""
    if policy.quorum is None:
        return None
    memo: dict[str, int | None] = {}

    def at(name: str) -> int | None:
        if name in memo:
            return memo[name]
        group = policy.groups.get(name)
        if group is None:
            result = times.get(name)
        else:
            # Groups only name what was defined before them: no cycles to guard.
            known = sorted(t for t in (at(m) for m in group.members) if t is not None)
            result = known[group.threshold - 1] if len(known) >= group.threshold else None
        memo[name] = result
        return result

    return at(policy.quorum)


def check_quorum(
    signed: SignedCheckpoint,
    policy: WitnessPolicy,
    *,
    at: datetime | None = None,
    skew: timedelta = DEFAULT_SKEW,
) -> Witnessed:
    """Judge the cosignatures of an already log-verified checkpoint."""
    times, notes = witness_times(signed.note, policy, at=at, skew=skew)
    cosigned = MappingProxyType(times)
    if policy.quorum is None:
        return Witnessed(signed, cosigned, True, None, tuple(notes))
    stamp = quorum_time(policy, times)
    if stamp is None:
        return Witnessed(signed, cosigned, False, None, tuple(notes))
    return Witnessed(signed, cosigned, True, datetime.fromtimestamp(stamp, UTC), tuple(notes))


def open_witnessed(
    data: bytes | str | Note,
    *,
    origin: str,
    policy: WitnessPolicy,
    log_verifiers: Iterable[NoteVerifier] = (),
    at: datetime | None = None,
) -> Witnessed:
    """Open a checkpoint under the policy's (and any extra) log keys, then judge it.

    Raises:
        LogFormatError, NoteSignatureError, ProofError: as :func:`open_checkpoint`;
            also when no log key for ``origin`` is known at all.
    """
    verifiers = [*policy.log_verifiers(origin), *log_verifiers]
    if not verifiers:
        raise ProofError(f"the witness policy lists no key for log {origin!r}")
    signed = open_checkpoint(data, origin=origin, verifiers=verifiers)
    return check_quorum(signed, policy, at=at)


@dataclass(frozen=True, slots=True)
class WitnessedEntry:
    """A verified tlog-proof and what the witness policy makes of its checkpoint."""

    entry: ProvenEntry
    witnessed: Witnessed

    @property
    def proven_at(self) -> datetime | None:
        return self.witnessed.proven_at


def verify_witnessed_proof(
    proof: LogProof | bytes | str,
    entry: bytes,
    *,
    policy: WitnessPolicy,
    log_verifiers: Iterable[NoteVerifier] = (),
    origin: str | None = None,
    at: datetime | None = None,
) -> WitnessedEntry:
    """Verify a tlog-proof under the policy's logs (and ``log_verifiers``), judge its quorum.

    The log is the one the proof's checkpoint names (``origin`` pins it); its key
    must come from the policy or the caller. The quorum is judged, not required:
    call ``.witnessed.require()`` to fail closed.

    Raises:
        LogFormatError, NoteSignatureError, ProofError: the proof does not verify.
    """
    parsed = proof if isinstance(proof, LogProof) else LogProof.parse(proof)
    named = parsed.note.text.split("\n", 1)[0]
    origin = named if origin is None else origin
    verifiers = [*policy.log_verifiers(origin), *(v for v in log_verifiers if v.name == origin)]
    if not verifiers:
        raise ProofError(f"no trusted key for log {origin!r} (witness policy or log vkey)")
    proven = verify_log_proof(parsed, entry, origin=origin, verifiers=verifiers)
    return WitnessedEntry(proven, check_quorum(proven.checkpoint, policy, at=at))
