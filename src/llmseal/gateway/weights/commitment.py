"""The weights commitment as a logged receipt (``serve --weights`` with ``--log``/``--log-url``).

A transparency log takes receipts, so the gateway makes the commitment one: at startup
it signs a receipt over the manifest —

* ``receipt_id``   a UUIDv5 of the signing key and the ``weight_hash`` (one per key and
                   weights, so a restart finds it in the store instead of signing anew)
* ``prompt_hash``  the hash of the request ``{"weight_hash": <weight_hash>}``
* ``output_hash``  SHA-256 of the manifest's RFC 8785 bytes (what
                   ``GET /v1/receipts/weights/<weight_hash>`` serves)
* ``weight_hash``  the committed root; claims ``endpoint`` (that URL path), ``status_code``
                   200, ``issuer`` and ``inference`` as in every other receipt

— and stores it like any other receipt: the store adds it to its log outbox in the
same transaction, and the worker's :class:`~llmseal.gateway.receipts.receipt_log.ReceiptLogger`
submits it. ``docs/spec/weights.md`` §2.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any

import orjson

from llmseal.core.hashing import hash_json
from llmseal.core.keys import Signer
from llmseal.core.receipt import check_identifier
from llmseal.core.sign import issue_receipt
from llmseal.errors import MalformedReceiptError, StoreError
from llmseal.store.base import ReceiptStore, StoredReceipt
from llmseal.weights import WeightManifest

__all__ = ["commitment_id", "commitment_request", "ensure_commitment"]


def commitment_id(key_id: str, weight_hash: str) -> str:
    """The receipt id of the commitment to ``weight_hash`` under ``key_id``."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"llmseal:weights:{key_id}:{weight_hash}"))


def commitment_request(weight_hash: str) -> dict[str, str]:
    """The request the commitment receipt's ``prompt_hash`` covers."""
    return {"weight_hash": weight_hash}


def ensure_commitment(
    store: ReceiptStore,
    signer: Signer,
    manifest: WeightManifest,
    *,
    at: datetime,
    issuer: str | None = None,
    model_id: str | None = None,
    inference: dict[str, Any] | None = None,
) -> StoredReceipt:
    """The stored commitment receipt, signed and stored now unless a previous run did.

    Raises:
        StoreError: the store cannot take it (the gateway does not start).
    """
    wh = manifest.weight_hash
    rid = commitment_id(signer.key_id, wh)
    found = store.get(rid)
    if found is not None:
        return found
    claims: dict[str, Any] = {"endpoint": f"/v1/receipts/weights/{wh}", "status_code": 200}
    if issuer:
        claims["issuer"] = issuer
    if inference:
        claims["inference"] = inference
    receipt = issue_receipt(
        signer,
        model_id=_model_id(model_id, manifest),
        prompt_hash=hash_json(commitment_request(wh)),
        output_hash=hashlib.sha256(manifest.to_json()).hexdigest(),
        at=at,
        claims=claims,
        weight_hash=wh,
        receipt_id=rid,
    )
    record = StoredReceipt.of(receipt, orjson.dumps(receipt.to_dict()))
    try:
        store.put_many([record])
    except StoreError:
        again = store.get(rid)  # another worker stored it first
        if again is None:
            raise
        return again
    return record


def _model_id(configured: str | None, manifest: WeightManifest) -> str:
    for candidate in (configured, manifest.file_name):
        if candidate:
            try:
                check_identifier("model_id", candidate)
            except MalformedReceiptError:
                continue
            return candidate
    return "unknown"
