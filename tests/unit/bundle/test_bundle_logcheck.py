"""One verification opens each distinct checkpoint once, and no verification reuses another's."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from llmseal.bench.bundle import T0, _three_hops
from llmseal.bundle.anchors import Anchors
from llmseal.bundle.format import Bundle
from llmseal.bundle.verify import verify_bundle
from llmseal.log.note.note import NoteVerifier
from llmseal.log.trust import LogTrust
from tests.bundle_helpers import mutate

AT = T0 + timedelta(hours=1)


@dataclass
class Counting:
    """A trusted log key that counts the signatures it is asked to check."""

    inner: NoteVerifier
    calls: list[bytes] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def key_id(self) -> int:
        return self.inner.key_id

    def verify(self, text: bytes, signature: bytes) -> bool:
        self.calls.append(text)
        return self.inner.verify(text, signature)


def _counted(anchors: Anchors) -> tuple[Anchors, Counting]:
    ((origin, (key,)),) = anchors.logs.logs.items()
    counting = Counting(key)
    return Anchors(keys=anchors.keys, logs=LogTrust({origin: (counting,)})), counting


def test_a_checkpoint_shared_by_three_proofs_is_verified_once_per_verification() -> None:
    bundle, anchors, _ = _three_hops(shared=True)
    counted, key = _counted(anchors)
    first = verify_bundle(bundle, counted, at=AT)
    assert first, first.reasons()
    assert [i.log["tree_size"] for i in first.items if i.log] == [1003] * 3
    assert len(key.calls) == 1
    # A second verification trusts nothing the first one checked.
    assert verify_bundle(bundle, counted, at=AT)
    assert len(key.calls) == 2


def test_distinct_checkpoints_are_each_verified() -> None:
    bundle, anchors, _ = _three_hops()
    counted, key = _counted(anchors)
    assert verify_bundle(bundle, counted, at=AT)
    assert len(set(key.calls)) == len(key.calls) == 3


def test_a_tampered_shared_checkpoint_fails_every_receipt_that_carries_it() -> None:
    bundle, anchors, _ = _three_hops(shared=True)
    data = bundle.to_dict()
    for n in range(3):
        proof = data["items"][n]["evidence"]["log"]
        data = mutate(data, ("items", n, "evidence", "log"), proof.replace("\n1003\n", "\n1004\n"))
    result = verify_bundle(Bundle.from_dict(data), anchors, at=AT)
    assert not result
    failed = [r for r in result.reasons() if "log proof does not verify" in r]
    assert len(failed) == 3
    assert {r.split(":")[0] for r in failed} == {i.receipt.receipt_id for i in bundle.items}


def test_one_good_and_one_tampered_copy_of_a_checkpoint_are_judged_apart() -> None:
    bundle, anchors, _ = _three_hops(shared=True)
    data = bundle.to_dict()
    proof = data["items"][1]["evidence"]["log"]
    data = mutate(data, ("items", 1, "evidence", "log"), proof.replace("\n1003\n", "\n1004\n"))
    result = verify_bundle(Bundle.from_dict(data), anchors, at=AT)
    assert [bool(i.ok) for i in result.items] == [True, False, True]
