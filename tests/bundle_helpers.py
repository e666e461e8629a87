"""Issuers, chat exchanges, logs and bundles for the bundle tests (real signing, no mocks)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from llmseal.bundle.format import BundleItem, receipt_digest
from llmseal.core.hashing import hash_json, hash_response
from llmseal.core.keys import Ed25519Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.core.receipt import Receipt
from llmseal.core.sign import issue_receipt
from llmseal.log.entry import receipt_entry
from llmseal.log.note.cosignature import CosignatureSigner
from llmseal.log.tree.merkle import inclusion_proof, leaf_hash, memory_reader
from llmseal.log.tree.proof import LogProof
from llmseal.log.witness.witnesspolicy import WitnessPolicy
from tests.logtree import TreeLog

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def chat(messages: list[dict[str, Any]], model: str = "smollm2") -> dict[str, Any]:
    return {"model": model, "messages": messages, "max_tokens": 64, "seed": 42}


def answer(text: str, *, rid: str = "chatcmpl-1") -> dict[str, Any]:
    return {
        "id": rid,
        "object": "chat.completion",
        "model": "smollm2",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


@dataclass
class Issuer:
    """One sealing party: a name (issuer claim), an Ed25519 key."""

    name: str
    signer: Ed25519Signer = field(init=False)

    def __post_init__(self) -> None:
        self.signer = Ed25519Signer.generate(f"{self.name}/2026q4")

    @property
    def entry(self) -> KeyEntry:
        return KeyEntry(self.signer.key_id, self.signer.public_key(), created_at=T0)

    def keyset(self) -> KeySet:
        return KeySet([self.entry])

    def seal(
        self,
        request: Any,
        response: Any,
        *,
        at: datetime = T0,
        parents: Sequence[Mapping[str, Any]] | None = None,
        **claims: Any,
    ) -> Receipt:
        receipt_id = claims.pop("receipt_id", None)
        extra: dict[str, Any] = {"issuer": self.name, **claims}
        if parents:
            extra["parents"] = list(parents)
        return issue_receipt(
            self.signer, model_id="smollm2", prompt_hash=hash_json(request),
            output_hash=hash_response(response), at=at, claims=extra, receipt_id=receipt_id,
        )  # fmt: skip


def link(parent: Receipt, relation: str, **extra: Any) -> dict[str, Any]:
    return {"digest": receipt_digest(parent), "relation": relation, **extra}


def item(receipt: Receipt, request: Any, response: Any, **evidence: Any) -> BundleItem:
    return BundleItem(receipt, request, response, None, evidence)


def keysets(*issuers: Issuer) -> KeySet:
    return KeySet([i.entry for i in issuers])


def later(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


@dataclass
class Log:
    """A signed in-memory log that proves receipts (optionally cosigned by witnesses)."""

    tree: TreeLog = field(default_factory=lambda: TreeLog.new("log.example/receipts", size=3))

    def prove(self, receipt: Receipt, witnesses: tuple[CosignatureSigner, ...] = (),
              at: datetime = T0) -> str:  # fmt: skip
        """Log ``receipt``; its proof's checkpoint is cosigned by ``witnesses`` at ``at``."""
        self.tree.entries.append(receipt_entry(receipt))
        index = len(self.tree.entries) - 1
        cp = self.tree.checkpoint()
        lines = [w.cosign(cp.note.text, int(at.timestamp())) for w in witnesses]
        note = cp.note.with_signatures(*lines)
        leaves = [leaf_hash(e) for e in self.tree.entries]
        path = inclusion_proof(index, cp.size, memory_reader(leaves))
        return LogProof(index, tuple(path), note.encode()).text()

    @property
    def vkey(self) -> str:
        return self.tree.signer.vkey()

    def witness_policy(self, witnesses: tuple[CosignatureSigner, ...], k: int) -> WitnessPolicy:
        lines = [f"log {self.vkey}"]
        lines += [f"witness w{i} {w.vkey()}" for i, w in enumerate(witnesses)]
        names = " ".join(f"w{i}" for i in range(len(witnesses)))
        return WitnessPolicy.parse("\n".join([*lines, f"group q {k} {names}", "quorum q"]))


def mutate(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A deep copy of ``data`` with the member at ``path`` replaced."""
    out = copy.deepcopy(data)
    target = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return out
