"""Replay ordinary traffic: the signed exchanges a verifying client kept as evidence.

The client's ``DATA_DIR`` holds one record per checked receipt and, for a sample of
them (all, with ``sample_rate=1.0``), the full request, response and receipt. Every
complete sample becomes an answer to replay; a sample whose record is not ``valid``,
or whose files no longer hash to the receipt, counts as a failed exchange — the
replay rests only on bytes the receipt vouches for (no probes needed).
"""

from __future__ import annotations

import hmac
import json
from pathlib import Path

from llmseal.audit.replay.verify import SignedAnswer
from llmseal.core.canonical import loads
from llmseal.core.hashing import hash_json, hash_response, strip_gateway_members
from llmseal.core.receipt import Receipt
from llmseal.errors import Error, InputError
from llmseal.store.evidence import EvidenceStore

__all__ = ["evidence_answers"]


def evidence_answers(data_dir: str | Path) -> list[SignedAnswer | None]:
    """The sampled exchanges of a client data directory, oldest first (None: failed)."""
    if not (Path(data_dir) / "evidence.db").is_file():
        raise InputError(f"{data_dir} is not a client data directory (no evidence.db)")
    store = EvidenceStore(data_dir)
    try:
        out: list[SignedAnswer | None] = []
        for record in store.list():
            path = store.sample_path(record)
            if path is None:
                continue  # recorded but not sampled: nothing to replay
            out.append(_answer(path) if record.status == "valid" else None)
        return out
    finally:
        store.close()


def _answer(path: Path) -> SignedAnswer | None:
    try:
        receipt = Receipt.from_json((path / "receipt.json").read_bytes())
        request = loads((path / "request.json").read_bytes())
        response = loads((path / "response.json").read_bytes())
        same = hmac.compare_digest(hash_json(request), receipt.prompt_hash) and (
            hmac.compare_digest(hash_response(response), receipt.output_hash)
        )
    except (OSError, Error, json.JSONDecodeError):
        return None
    if not same:
        return None
    content = strip_gateway_members(response) if isinstance(response, dict) else response
    return SignedAnswer(receipt, request, content)
