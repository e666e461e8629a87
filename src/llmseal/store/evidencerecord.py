"""What the evidence stores keep per checked exchange, and the full copy of a sample.

:class:`EvidenceRecord` is one row (SQLite in :mod:`llmseal.store.evidence`,
PostgreSQL in :mod:`llmseal.store.pgevidence`); :class:`Sample` is the exchange's
three files, named by :attr:`Sample.digest`. Both stores map rows the same way
(:func:`record_row`, :func:`record_from_row`) and refuse a replay with the same
error (:func:`replay_error`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from llmseal.errors import ReplayError

__all__ = ["EvidenceRecord", "Sample", "record_from_row", "record_row", "replay_error"]


@dataclass(frozen=True, slots=True)
class EvidenceRecord:
    """One checked exchange."""

    receipt_id: str
    status: str
    issuer: str
    key_id: str
    model_id: str
    issued_at: str
    verified_at: str
    nonce: str
    prompt_hash: str
    output_hash: str
    endpoint: str
    reasons: tuple[str, ...]
    receipt: bytes
    sampled: bool = False
    sample: str | None = None
    """The sample folder, relative to ``verification_samples`` (``accepted/<digest>``)."""

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["reasons"] = list(self.reasons)
        out["receipt"] = json.loads(self.receipt)
        return out


@dataclass(frozen=True, slots=True)
class Sample:
    """The full content of one exchange, to be written beside the record."""

    request: bytes
    response: bytes
    receipt: bytes

    @property
    def size(self) -> int:
        return len(self.request) + len(self.response) + len(self.receipt)

    @property
    def digest(self) -> str:
        """SHA-256 over the three files' SHA-256s: distinct contents, distinct names."""
        parts = (
            hashlib.sha256(part).digest() for part in (self.request, self.response, self.receipt)
        )
        return hashlib.sha256(b"".join(parts)).hexdigest()


def record_row(rec: EvidenceRecord) -> tuple[Any, ...]:
    """The record as a row, in the column order both stores insert (SQLite and PostgreSQL)."""
    return (
        rec.receipt_id, rec.status, rec.issuer, rec.key_id, rec.model_id, rec.issued_at,
        rec.verified_at, rec.nonce, rec.prompt_hash, rec.output_hash, rec.endpoint,
        json.dumps(list(rec.reasons)), rec.receipt, int(rec.sampled), rec.sample,
    )  # fmt: skip


def replay_error(rec: EvidenceRecord) -> ReplayError:
    return ReplayError(
        f"receipt {rec.receipt_id} was seen before (nonce {rec.nonce} of key "
        f"{rec.key_id!r} already accepted): a replayed answer",
        status="replayed",
    )


def record_from_row(row: tuple[Any, ...]) -> EvidenceRecord:
    """An evidence row in the column order both stores select (SQLite and PostgreSQL)."""
    return EvidenceRecord(
        receipt_id=row[0], status=row[1], issuer=row[2], key_id=row[3], model_id=row[4],
        issued_at=row[5], verified_at=row[6], nonce=row[7], prompt_hash=row[8],
        output_hash=row[9], endpoint=row[10], reasons=tuple(json.loads(row[11])),
        receipt=bytes(row[12]), sampled=bool(row[13]), sample=row[14],
    )  # fmt: skip
