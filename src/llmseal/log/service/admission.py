"""Admission: only receipts that verify under the log's key sets become entries.

A log of receipts anyone could append junk to would prove nothing about issuers,
so an entry must be a v0.3 receipt whose signature verifies (status ``valid``)
under one of the key sets the log is configured with. Refusals carry the HTTP
status the log answers with:

* 400 ``malformed`` — not JSON, not a JSON object, not a receipt, no RFC 8785 form;
* 403 ``unverified`` — unknown key, bad signature, revoked key;
* 413 ``too_large`` — over 65,535 bytes as an entry (the tlog-tiles bundle limit).

A receipt already in the log is admitted again; the sequencer answers with its
existing index.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmseal.core.canonical import canonicalize, loads
from llmseal.core.keyset import KeyResolver
from llmseal.core.receipt import Receipt
from llmseal.core.verify import Status, verify_receipt
from llmseal.errors import ContentError, InputError, LogAdmissionError
from llmseal.log.storage.base import PendingEntry
from llmseal.log.tree.merkle import leaf_hash
from llmseal.log.tree.tiles import MAX_ENTRY_SIZE

__all__ = ["MAX_SUBMISSION_BYTES", "Admission"]

MAX_SUBMISSION_BYTES = 8 << 20  # one request body: a receipt, or a batch of them


def _malformed(message: str) -> LogAdmissionError:
    return LogAdmissionError(message, status=400, code="malformed")


class Admission:
    """Checks submissions against ``keys``; thread-safe (no state of its own)."""

    def __init__(self, keys: KeyResolver) -> None:
        self.keys = keys

    def admit(self, receipt: bytes | Mapping[str, Any]) -> PendingEntry:
        """One receipt (JSON bytes or its object) → the entry to sequence.

        Raises:
            LogAdmissionError: with ``status`` 400, 403 or 413.
        """
        data = self._parse(receipt) if isinstance(receipt, bytes | bytearray) else receipt
        return self._admit_object(data)

    def admit_body(self, body: bytes) -> tuple[list[PendingEntry], bool]:
        """A request body: one receipt object, or a JSON array of them (batched).

        Returns the entries and whether the body was a batch. A batch is all or
        nothing: one bad receipt refuses the request (its position is named).
        """
        data = self._parse(body)
        if not isinstance(data, list):
            return [self._admit_object(data)], False
        if not data:
            raise _malformed("an empty batch")
        out = []
        for n, item in enumerate(data):
            try:
                out.append(self._admit_object(item))
            except LogAdmissionError as exc:
                raise LogAdmissionError(
                    f"receipt {n} of the batch: {exc}", status=exc.status, code=exc.code
                ) from exc
        return out, True

    def _parse(self, body: bytes | bytearray) -> Any:
        if len(body) > MAX_SUBMISSION_BYTES:
            raise LogAdmissionError(
                f"submission over {MAX_SUBMISSION_BYTES} bytes", status=413, code="too_large"
            )
        try:
            return loads(body)
        except ContentError as exc:
            raise _malformed(f"submission is {exc}") from exc

    def _admit_object(self, data: Any) -> PendingEntry:
        if not isinstance(data, Mapping):
            raise _malformed("a log entry must be a receipt (a JSON object)")
        try:
            receipt = Receipt.from_dict(data)
            entry = canonicalize(dict(data))
        except InputError as exc:
            raise _malformed(str(exc)) from exc
        if len(entry) > MAX_ENTRY_SIZE:
            raise LogAdmissionError(
                f"receipt is {len(entry)} bytes as a log entry, over {MAX_ENTRY_SIZE}",
                status=413,
                code="too_large",
            )
        result = verify_receipt(receipt, self.keys)
        if result.status is not Status.VALID:
            reason = "; ".join(result.reasons) or result.status.value
            raise LogAdmissionError(
                f"receipt {receipt.receipt_id} is {result.status.value}: {reason}",
                status=403,
                code="unverified",
            )
        return PendingEntry(entry, leaf_hash(entry), receipt.receipt_id)
