"""The log's side of tlog-witness: collect cosignatures for a checkpoint from the policy.

For each witness of a :class:`~.witnesspolicy.WitnessPolicy` that has a URL,
:meth:`WitnessClient.cosign` sends ``old <size we think it has>``, the
consistency proof from there, and the checkpoint (c2sp.org/tlog-witness,
"add-checkpoint"). A 409 tells us the witness's real size: we retry once with a
proof from it. Cosignature lines in a 200 are kept only if they are the
witness's own key and verify over this checkpoint ("The client MUST ignore any
cosignatures from unknown keys").

Nothing here raises into the log: a witness that is down, slow or refusing is
recorded in :attr:`WitnessClient.status` and simply contributes no cosignature
this round (issue 11: a witness that is down delays cosigning, never the log).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import httpx

from llmseal.errors import Error, LogFormatError
from llmseal.log.note.checkpoint import SignedCheckpoint
from llmseal.log.note.note import Note, NoteSignature
from llmseal.log.witness.addcheckpoint import (
    SIZE_CONTENT_TYPE,
    AddCheckpoint,
    parse_cosignature_lines,
    parse_size,
)
from llmseal.log.witness.witnesspolicy import PolicyWitness, WitnessPolicy

__all__ = ["Prover", "WitnessClient", "WitnessStatus", "cosigned_by", "merge_cosignatures"]

log = logging.getLogger("llmseal.log.witness.witness")

Prover = Callable[[int, int], Sequence[bytes]]
"""``prove(old_size, new_size)`` → the consistency proof between two sizes of our tree."""


@dataclass(slots=True)
class WitnessStatus:
    """What we last heard from one witness."""

    size: int | None = None
    """The size it has cosigned, as far as we know (None: not known yet)."""
    cosigned_size: int | None = None
    error: str | None = None


def merge_cosignatures(
    signed: SignedCheckpoint, lines: Sequence[NoteSignature]
) -> SignedCheckpoint:
    """``signed`` with the cosignature lines it does not carry yet appended."""
    have = set(signed.note.signatures)
    extra = tuple(dict.fromkeys(line for line in lines if line not in have))
    if not extra:
        return signed
    note = signed.note.with_signatures(*extra)
    return SignedCheckpoint(signed.checkpoint, note, signed.verified_by)


class WitnessClient:
    """Asks every witness of ``policy`` (those with a URL) to cosign our checkpoints."""

    def __init__(
        self,
        policy: WitnessPolicy,
        prove: Prover,
        *,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.policy = policy
        self.witnesses = [w for w in policy.witnesses.values() if w.url]
        self._prove = prove
        self._timeout = timeout
        self._transport = transport
        self.status = {w.name: WitnessStatus() for w in self.witnesses}

    async def cosign(
        self, signed: SignedCheckpoint, *, skip: Collection[str] = ()
    ) -> SignedCheckpoint:
        """``signed`` plus every cosignature the witnesses (but ``skip``) gave this round."""
        asked = [w for w in self.witnesses if w.name not in skip]
        if not asked:
            return signed
        async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport) as http:
            results = await asyncio.gather(*(self._one(http, w, signed) for w in asked))
        return merge_cosignatures(signed, [line for lines in results for line in lines])

    async def _one(
        self, http: httpx.AsyncClient, witness: PolicyWitness, signed: SignedCheckpoint
    ) -> list[NoteSignature]:
        status = self.status[witness.name]
        try:
            lines = await self._exchange(http, witness, signed, status)
        except (httpx.HTTPError, Error, ValueError) as exc:
            status.error = f"{type(exc).__name__}: {exc}"[:300]
            log.warning("witness %s: no cosignature for size %d: %s",
                        witness.name, signed.size, status.error)  # fmt: skip
            return []
        status.error = None
        status.size = status.cosigned_size = signed.size
        return lines

    async def _exchange(
        self,
        http: httpx.AsyncClient,
        witness: PolicyWitness,
        signed: SignedCheckpoint,
        status: WitnessStatus,
    ) -> list[NoteSignature]:
        old = status.size if status.size is not None and status.size <= signed.size else 0
        url = witness.url.rstrip("/") + "/add-checkpoint" if witness.url else ""
        for _ in range(2):  # the second try uses the size a 409 told us
            body = AddCheckpoint(old, tuple(self._proof(old, signed.size)), signed.encode())
            answer = await http.post(url, content=body.encode())
            if answer.status_code == 200:
                return self._verified(witness, signed, answer.content)
            if answer.status_code != 409 or SIZE_CONTENT_TYPE not in answer.headers.get(
                "content-type", ""
            ):
                raise LogFormatError(f"HTTP {answer.status_code}: {answer.text[:200]}")
            old = parse_size(answer.content)
            status.size = old
            if old > signed.size:
                # It cosigned a larger tree of ours than we now have: we rolled back,
                # or someone showed it another tree. Never something to paper over.
                log.error("witness %s has cosigned size %d, larger than our %d",
                          witness.name, old, signed.size)  # fmt: skip
                raise LogFormatError(f"witness is at size {old}, beyond our {signed.size}")
        raise LogFormatError("the witness's size changed between two requests")

    def _proof(self, old: int, new: int) -> Sequence[bytes]:
        return self._prove(old, new) if 0 < old < new else ()

    @staticmethod
    def _verified(
        witness: PolicyWitness, signed: SignedCheckpoint, body: bytes
    ) -> list[NoteSignature]:
        text = signed.note.text.encode("utf-8")
        good = [
            line
            for line in parse_cosignature_lines(body)
            if (line.name, line.key_id) == (witness.verifier.name, witness.verifier.key_id)
            and witness.verifier.verify(text, line.signature)
        ]
        if not good:
            raise LogFormatError("the answer holds no valid cosignature by this witness's key")
        return good


def cosigned_by(note: Note, policy: WitnessPolicy) -> set[str]:
    """Names of the policy witnesses with a line on ``note`` (unverified: for scheduling)."""
    keys = {(w.verifier.name, w.verifier.key_id): w.name for w in policy.witnesses.values()}
    return {keys[(s.name, s.key_id)] for s in note.signatures if (s.name, s.key_id) in keys}
