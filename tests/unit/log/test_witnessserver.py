"""The witness's HTTP surface, in process: routes, methods, limits, monitoring reads."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from llmseal.log.note.checkpoint import open_checkpoint
from llmseal.log.note.cosignature import CosignatureSigner
from llmseal.log.note.note import verify_note
from llmseal.log.note.notekeys import Ed25519NoteSigner
from llmseal.log.witness.addcheckpoint import MAX_REQUEST_BYTES, AddCheckpoint
from llmseal.log.witness.witness import Witness
from llmseal.log.witness.witnessserver import WitnessApp
from llmseal.log.witness.witnessstore import WitnessStore, origin_hash
from tests.logtree import TreeLog

SIGNER = CosignatureSigner.generate("witness.example/http")


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[WitnessApp, TreeLog]]:
    log = TreeLog.new(size=8)
    store = WitnessStore(tmp_path)
    yield WitnessApp(Witness.for_keys(SIGNER, [log.signer.verifier()], store, lambda: 1)), log
    store.close()


def _run(app: WitnessApp, *requests: tuple[str, str, bytes]) -> list[httpx.Response]:
    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://w") as client:
            return [await client.request(m, p, content=b) for m, p, b in requests]

    return asyncio.run(go())


def test_add_then_read_back(setup: tuple[WitnessApp, TreeLog]) -> None:
    app, log = setup
    path = f"/{origin_hash(log.origin)}/checkpoint"
    before, added, after, evidence, info = _run(
        app,
        ("GET", path, b""),
        ("POST", "/add-checkpoint", log.request(0)),
        ("GET", path, b""),
        ("GET", f"/{origin_hash(log.origin)}/evidence", b""),
        ("GET", "/", b""),
    )
    assert before.status_code == 404 and before.json()["error"]["code"] == "not_cosigned"
    assert added.status_code == 200 and added.text.startswith("— witness.example/http ")
    assert after.status_code == 200 and after.headers["content-type"].startswith("text/plain")
    cp = open_checkpoint(after.content, origin=log.origin, verifiers=[log.signer.verifier()])
    assert cp.size == 8
    verify_note(cp.note, [SIGNER.verifier()])
    assert evidence.json() == {"origin": log.origin, "evidence": []}
    assert info.json() == {"name": SIGNER.name, "vkey": SIGNER.vkey(), "logs": [log.origin],
                           "answers": {"200": 1}}  # fmt: skip


def test_routes_methods_and_limits(setup: tuple[WitnessApp, TreeLog]) -> None:
    app, log = setup
    answers = _run(
        app,
        ("GET", "/add-checkpoint", b""),
        ("PUT", "/", b""),
        ("GET", "/nope", b""),
        ("GET", f"/{'0' * 64}/checkpoint", b""),
        ("GET", f"/{origin_hash(log.origin).upper()}/checkpoint", b""),
        ("POST", "/add-checkpoint", b"x" * (MAX_REQUEST_BYTES + 1)),
        ("POST", "/add-checkpoint", b"old 0\n"),
    )
    assert [a.status_code for a in answers] == [405, 405, 404, 404, 404, 413, 400]
    assert all(a.json()["error"]["message"] for a in answers)


def test_every_refusal_code_over_http(setup: tuple[WitnessApp, TreeLog]) -> None:
    """The C2SP tlog-witness status codes and content types, as a log meets them."""
    app, log = setup
    stranger = TreeLog.new("example.com/other", 3)
    impostor = TreeLog(Ed25519NoteSigner.generate(log.origin), list(log.entries))
    first = log.request(0)
    log.append(8)  # size 16
    bad_proof = AddCheckpoint(8, (bytes(32),) * len(log.proof(8, 16)), log.checkpoint().encode())
    fork = log.fork(12, 4)  # size 16 too, another root, signed by the log's key
    answers = _run(
        app,
        ("POST", "/add-checkpoint", first),  # 200: size 8 cosigned
        ("POST", "/add-checkpoint", stranger.request(0)),  # a log it does not follow
        ("POST", "/add-checkpoint", impostor.request(0)),  # the origin, another key
        ("POST", "/add-checkpoint", log.request(3)),  # the log's idea of our size is wrong
        ("POST", "/add-checkpoint", bad_proof.encode()),  # a proof that does not verify
        ("POST", "/add-checkpoint", b"old 8\nnot base64\n\n" + log.checkpoint().encode()),
        ("POST", "/add-checkpoint", log.request(8)),  # 200: size 16
        ("POST", "/add-checkpoint", AddCheckpoint(16, (), log.checkpoint(8).encode()).encode()),
        ("POST", "/add-checkpoint", fork.request(16)),  # a second root for size 16
        ("GET", f"/{origin_hash(log.origin)}/evidence", b""),
    )
    assert [a.status_code for a in answers] == [200, 404, 403, 409, 422, 400, 200, 400, 422, 200]
    conflict = answers[3]
    assert conflict.headers["content-type"] == "text/x.tlog.size" and conflict.text == "8\n"
    for refused in answers[1:3] + answers[4:6] + answers[7:9]:
        assert refused.headers["content-type"].startswith("application/json")
        assert refused.json()["error"]["message"]
    assert answers[8].json()["error"]["code"] == "fork"
    # The unprovable checkpoint is kept too ("inconsistent": the witness cannot tell a
    # bad proof from a bad tree; a monitor checks it with its own proof).
    (kept,) = [e for e in answers[9].json()["evidence"] if e["kind"] == "fork"]
    ours = open_checkpoint(kept["cosigned"].encode(), origin=log.origin,
                           verifiers=[log.signer.verifier()])  # fmt: skip
    theirs = open_checkpoint(kept["refused"].encode(), origin=log.origin,
                             verifiers=[log.signer.verifier()])  # fmt: skip
    assert (ours.size, ours.root) == (16, log.root())
    assert (theirs.size, theirs.root) == (16, fork.root())
