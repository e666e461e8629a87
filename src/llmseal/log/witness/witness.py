"""A C2SP tlog-witness: cosign a log's checkpoint only if it extends what we cosigned.

:meth:`Witness.add_checkpoint` implements ``POST <prefix>/add-checkpoint``
(c2sp.org/tlog-witness @5ba5ee8, "add-checkpoint") with its statuses, in the
spec's order:

* 400 — the body is not ``old <size>``, proof lines, a blank line and a note;
  or the old size is above the checkpoint's size (a rollback);
* 404 — the origin (first line of the note) is not a log we witness;
* 403 — no trusted log key signed it, or a trusted key's signature fails;
* 409 ``text/x.tlog.size`` — the old size is not the size we last cosigned
  (the body says ours, so the client can retry with the right proof);
* 422 — a size-0 checkpoint without the empty root, a proof sent with old size
  0, a consistency proof that fails against *our* stored root, or the same
  size with another root;
* 200 — one timestamped cosignature line, after the new state is on disk.

A checkpoint that fails a consistency check against one we cosigned is kept as
:class:`~.witnessstore.Evidence` (both signed notes) before the 422: it may be
the proof that the log forked. The spec allows keeping it (and forbids
cosigning it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import orjson

from llmseal.errors import LogFormatError, NoteSignatureError, ProofError, StoreError
from llmseal.log.note.checkpoint import SignedCheckpoint, open_checkpoint
from llmseal.log.note.cosignature import CosignatureSigner
from llmseal.log.note.note import Note, NoteVerifier
from llmseal.log.tree.merkle import EMPTY_ROOT, verify_consistency
from llmseal.log.witness.addcheckpoint import SIZE_CONTENT_TYPE, AddCheckpoint, encode_size
from llmseal.log.witness.witnessstore import Evidence, Latest, WitnessStore

__all__ = ["TEXT", "Witness", "WitnessAnswer", "error_answer"]

TEXT = "text/plain; charset=utf-8"
_RETRIES = 8  # compare-and-swap lost to a concurrent request: judge again


@dataclass(frozen=True, slots=True)
class WitnessAnswer:
    """An HTTP answer: status, body, content type."""

    status: int
    body: bytes
    content_type: str = TEXT


def error_answer(status: int, code: str, message: str) -> WitnessAnswer:
    """A refusal: JSON ``{"error": {"code", "message"}}`` (clients must not rely on it)."""
    body = orjson.dumps({"error": {"code": code, "message": message}})
    return WitnessAnswer(status, body, "application/json")


class Witness:
    """Witnesses the logs in ``logs`` (origin -> trusted checkpoint keys)."""

    def __init__(
        self,
        signer: CosignatureSigner,
        logs: Mapping[str, Sequence[NoteVerifier]],
        store: WitnessStore,
        clock: Callable[[], int],
    ) -> None:
        self.signer = signer
        self.logs = {origin: tuple(keys) for origin, keys in logs.items()}
        self.store = store
        self._clock = clock
        self.counts: dict[int, int] = {}

    @classmethod
    def for_keys(
        cls,
        signer: CosignatureSigner,
        log_keys: Iterable[NoteVerifier],
        store: WitnessStore,
        clock: Callable[[], int],
    ) -> Witness:
        """Each log key names its log: the key name is the origin (tlog-checkpoint)."""
        logs: dict[str, list[NoteVerifier]] = {}
        for key in log_keys:
            logs.setdefault(key.name, []).append(key)
        return cls(signer, logs, store, clock)

    async def add_checkpoint(self, body: bytes) -> WitnessAnswer:
        answer = await self._add(body)
        self.counts[answer.status] = self.counts.get(answer.status, 0) + 1
        return answer

    async def _add(self, body: bytes) -> WitnessAnswer:
        try:
            request = AddCheckpoint.parse(body)
            note = request.note()
        except LogFormatError as exc:
            return error_answer(400, "malformed", f"malformed add-checkpoint request: {exc}")
        origin = note.text.split("\n", 1)[0]
        keys = self.logs.get(origin)
        if keys is None:
            return error_answer(404, "unknown_log", "unknown log origin")
        try:
            signed = open_checkpoint(note, origin=origin, verifiers=keys)
        except NoteSignatureError as exc:
            return error_answer(403, "bad_signature", str(exc))
        except LogFormatError as exc:
            return error_answer(400, "malformed", f"malformed checkpoint: {exc}")
        if request.old_size > signed.size:
            message = f"old size {request.old_size} is above the checkpoint's size"
            return error_answer(400, "rollback", message)
        try:
            for _ in range(_RETRIES):
                answer = await self._against(request, signed, self.store.latest(origin))
                if answer is not None:
                    return answer
        except StoreError:
            return error_answer(503, "unavailable", "the witness cannot store its state right now")
        return error_answer(503, "busy", "too many concurrent updates for this log; retry")

    async def _against(
        self, request: AddCheckpoint, signed: SignedCheckpoint, stored: Latest | None
    ) -> WitnessAnswer | None:
        """Judge against one stored state; None if that state changed before we stored."""
        stored_size = 0 if stored is None else stored.size
        if request.old_size != stored_size:
            return WitnessAnswer(409, encode_size(stored_size), SIZE_CONTENT_TYPE)
        refusal = self._consistency(request, signed, stored)
        if refusal is not None:
            kind, message = refusal
            if stored is not None and kind:
                await self._keep(kind, request, signed, stored)
            return error_answer(422, kind or "unprocessable", message)
        stamp = self._clock()
        line = self.signer.cosign(signed.note.text, stamp)
        # What a monitor fetches: the log signatures we verified plus our cosignature.
        kept = Note(signed.note.text, (*signed.verified_by, line)).encode()
        new = Latest(signed.origin, signed.size, signed.root, kept)
        if not await self.store.swap(stored, new):
            return None
        return WitnessAnswer(200, line.line().encode("utf-8"))

    @staticmethod
    def _consistency(
        request: AddCheckpoint, signed: SignedCheckpoint, stored: Latest | None
    ) -> tuple[str, str] | None:
        """(evidence kind or "", message) if the checkpoint must not be cosigned."""
        if signed.size == 0 and signed.root != EMPTY_ROOT:
            return "bad-empty-tree", "a checkpoint of size 0 must carry the empty tree's root"
        if request.old_size == 0 or stored is None:
            # The empty tree is a prefix of every tree (and a stored size-0 checkpoint
            # has the empty root, checked when it was stored).
            return ("", "no consistency proof may accompany old size 0") if request.proof else None
        if signed.size == stored.size:
            if request.proof:
                return "", "a consistency proof between equal sizes must be empty"
            if signed.root != stored.root:
                return "fork", "same tree size as the checkpoint we cosigned, another root"
            return None
        try:
            verify_consistency(stored.size, signed.size, stored.root, signed.root, request.proof)
        except ProofError as exc:
            return "inconsistent", f"consistency proof does not verify: {exc}"
        return None

    async def _keep(
        self, kind: str, request: AddCheckpoint, signed: SignedCheckpoint, stored: Latest
    ) -> None:
        evidence = Evidence(
            signed.origin,
            kind,
            self._clock(),
            stored.note,
            request.checkpoint,
            request.old_size,
            request.proof,
        )
        await self.store.keep(evidence)

    def checkpoint(self, digest: str) -> bytes | None:
        """The latest cosigned checkpoint of the log whose origin hashes to ``digest``."""
        latest = self.store.latest_by_hash(digest)
        return None if latest is None else latest.note
