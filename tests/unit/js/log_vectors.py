"""Logged receipts with C2SP proofs and witness cosignatures, as data for the JS tests.

``python -m tests.unit.js.log_vectors`` writes ``tests/vectors/llmseal/logged.json``.
The log side is ``llmseal.log`` (RFC 9162 tree, signed checkpoints, tlog-proof@v1).
Witness cosignatures (c2sp.org/tlog-cosignature, type 0x04) are made here from the
spec with ``cryptography`` directly. Two checkpoints of one log: an early one,
cosigned before a key's revocation, and a later one cosigned after it — so a
receipt dated before the revocation but first logged after it can be caught.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from llmseal.core.hashing import hash_json
from llmseal.core.keys import Ed25519Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.core.sign import issue_receipt
from llmseal.log import Checkpoint, Ed25519NoteSigner, LogProof, sign_checkpoint
from llmseal.log.entry import receipt_leaf_hash
from llmseal.log.note.notekeys import SIG_COSIGNATURE, key_id
from llmseal.log.tree.merkle import inclusion_proof, memory_reader, tree_root
from tests.unit.js.python_vectors import OUT as SIGNED

__all__ = ["OUT", "build", "main"]

OUT = SIGNED.with_name("logged.json")
ORIGIN = "log.example.com/receipts"
CREATED = datetime(2025, 9, 1, tzinfo=UTC)
REVOKED = datetime(2026, 6, 1, tzinfo=UTC)
EARLY = datetime(2026, 5, 1, 0, 10, tzinfo=UTC)  # the first checkpoint is cosigned
LATE = datetime(2026, 7, 1, tzinfo=UTC)  # the second one


def _ed(seed: int) -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(seed, seed + 32)))


def _raw(key: ed25519.Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class _Witness:
    def __init__(self, name: str, seed: int) -> None:
        self.name, self.key = name, _ed(seed)
        self.id = key_id(name, SIG_COSIGNATURE, _raw(self.key))

    def vkey(self) -> str:
        key = base64.b64encode(bytes([SIG_COSIGNATURE]) + _raw(self.key)).decode()
        return f"{self.name}+{self.id:08x}+{key}"

    def cosign(self, text: str, at: datetime) -> str:
        t = int(at.timestamp())
        signature = self.key.sign(f"cosignature/v1\ntime {t}\n".encode() + text.encode())
        blob = self.id.to_bytes(4, "big") + t.to_bytes(8, "big") + signature
        return f"\u2014 {self.name} {base64.b64encode(blob).decode()}\n"


def _receipts() -> dict[str, dict[str, Any]]:
    issuer = Ed25519Signer("py-ed25519", _ed(0))
    stolen = Ed25519Signer("py-stolen", _ed(7))
    request, response = {"q": "Grüße"}, {"a": "<b>hi</b> 🚀"}

    def issue(signer: Ed25519Signer, at: datetime, n: int) -> dict[str, Any]:
        receipt = issue_receipt(
            signer, model_id="lab/model", prompt_hash=hash_json(request),
            output_hash=hash_json(response), at=at, claims={"n": n},
            receipt_id=f"logged-{n}", nonce=base64.urlsafe_b64encode(bytes([n]) * 16).decode()[:22],
        )  # fmt: skip
        return receipt.to_dict()

    names = [f"filler-{i}" for i in range(13)]
    out = {name: issue(issuer, EARLY - timedelta(days=1), i) for i, name in enumerate(names)}
    out["early"] = issue(stolen, EARLY - timedelta(hours=1), 100)  # index 13: first checkpoint
    out["ok"] = issue(issuer, EARLY, 101)
    out["backdated"] = issue(stolen, EARLY, 102)  # signed with the stolen key, logged late
    out["unlogged"] = issue(issuer, EARLY, 103)
    return out


def build() -> dict[str, Any]:
    receipts = _receipts()
    order = [*(f"filler-{i}" for i in range(13)), "early", "ok", "backdated"]
    leaves = [receipt_leaf_hash(receipts[name]) for name in order]
    read = memory_reader(leaves)
    log = Ed25519NoteSigner(ORIGIN, _ed(64))
    w1, w2 = _Witness("witness1.example.org", 96), _Witness("witness2.example.org", 128)

    def proof(name: str, size: int, at: datetime, cosigners: list[_Witness]) -> str:
        signed = sign_checkpoint(Checkpoint(ORIGIN, size, tree_root(read, size)), log)
        text = signed.checkpoint.text()
        note = signed.encode().decode() + "".join(w.cosign(text, at) for w in cosigners)
        index = order.index(name)
        path = tuple(inclusion_proof(index, size, read))
        return LogProof(index, path, note.encode()).text()

    proofs = {
        "early": proof("early", 14, EARLY, [w1, w2]),
        "ok": proof("ok", 16, LATE, [w1, w2]),
        "backdated": proof("backdated", 16, LATE, [w1, w2]),
        "ok-one-witness": proof("ok", 16, LATE, [w1]),
    }
    issuers = KeySet([
        KeyEntry("py-ed25519", Ed25519Signer("py-ed25519", _ed(0)).public_key(), "active", CREATED),
        KeyEntry("py-stolen", Ed25519Signer("py-stolen", _ed(7)).public_key(), "revoked", CREATED,
                 REVOKED),
    ])  # fmt: skip
    policy = (
        f"log {log.vkey()}\nwitness w1 {w1.vkey()}\nwitness w2 {w2.vkey()}\n"
        "group both all w1 w2\nquorum both\n"
    )
    return {
        "note": "Receipts logged with llmseal.log; cosignatures per c2sp.org/tlog-cosignature.",
        "keyset": issuers.to_dict(),
        "log_vkey": log.vkey(),
        "other_log_vkey": Ed25519NoteSigner(ORIGIN, _ed(160)).vkey(),
        "witness_vkeys": [w1.vkey(), w2.vkey()],
        "policy": policy,
        "revoked_at": "2026-06-01T00:00:00Z",
        "receipts": {k: v for k, v in receipts.items() if not k.startswith("filler")},
        "proofs": proofs,
        "response": {"a": "<b>hi</b> 🚀"},
    }


def main(write: Callable[[str], object] = OUT.write_text) -> None:
    write(json.dumps(build(), ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()
