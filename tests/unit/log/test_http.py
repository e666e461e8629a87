"""The log's HTTP API on a real socket: content types, cache headers, status codes."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest

from llmseal.log.entry import receipt_entry
from llmseal.log.http.app import LogApp
from llmseal.log.service.service import TransparencyLog
from llmseal.log.tree.proof import verify_log_proof
from llmseal.log.tree.tilereader import TileLog
from tests.helpers import ThreadedUvicorn
from tests.unit.log.conftest import ORIGIN

Maker = Callable[..., dict[str, Any]]


@pytest.fixture
def served(
    open_log: Callable[..., TransparencyLog],
) -> Iterator[tuple[TransparencyLog, httpx.Client]]:
    log = open_log()
    with (
        ThreadedUvicorn(LogApp(log, prefix="/log")) as server,
        httpx.Client(base_url=server.url + "/log", timeout=20) as client,
    ):
        yield log, client


def test_add_then_proof_and_lookup(
    served: tuple[TransparencyLog, httpx.Client], make_receipt: Maker
) -> None:
    log, client = served
    receipt = make_receipt(1)
    r = client.post("/add", content=orjson.dumps(receipt))
    assert r.status_code == 200, r.text
    added = r.json()
    assert added["index"] == 0 and added["duplicate"] is False
    assert (
        added["leaf_hash"]
        == __import__("hashlib").sha256(b"\x00" + receipt_entry(receipt)).hexdigest()
    )
    log.prove_published(0, timeout=10)
    for key in (receipt["receipt_id"], added["leaf_hash"]):
        p = client.get(f"/proof/{key}")
        assert p.status_code == 200 and p.headers["content-type"] == "text/plain; charset=utf-8"
        verify_log_proof(p.content, receipt_entry(receipt), origin=ORIGIN, verifiers=[log.verifier])
    look = client.get(f"/lookup/{receipt['receipt_id']}").json()
    assert (look["index"], look["published"], look["tree_size"]) == (0, True, 1)
    again = client.post("/add", content=orjson.dumps(receipt)).json()
    assert again == dict(added, duplicate=True)


def test_batched_add(served: tuple[TransparencyLog, httpx.Client], make_receipt: Maker) -> None:
    _, client = served
    batch = [make_receipt(i) for i in range(50)]
    r = client.post("/add", content=orjson.dumps(batch))
    assert r.status_code == 200
    assert sorted(e["index"] for e in r.json()) == list(range(50))


def test_read_api_headers_and_bytes(
    served: tuple[TransparencyLog, httpx.Client], make_receipt: Maker
) -> None:
    log, client = served
    receipts = [make_receipt(i) for i in range(300)]
    for f in [log.submit(r) for r in receipts]:
        f.result(10)
    log.prove_published(299, timeout=10)
    cp = client.get("/checkpoint")
    assert cp.headers["content-type"] == "text/plain; charset=utf-8"
    assert "max-age=2" in cp.headers["cache-control"]
    tile = client.get("/tile/0/000")
    assert tile.headers["content-type"] == "application/octet-stream"
    assert "immutable" in tile.headers["cache-control"] and len(tile.content) == 8192
    proof = client.get(f"/proof/{receipts[5]['receipt_id']}")
    assert proof.status_code == 200
    for public in (cp, tile, proof):  # readable by a verify page on any origin (issue 15)
        assert public.headers["access-control-allow-origin"] == "*"
    bundle = client.get("/tile/entries/001.p/44", headers={"accept-encoding": "gzip"})
    assert bundle.headers.get("content-encoding") == "gzip"  # httpx decodes it
    raw = client.get("/tile/entries/001.p/44", headers={"accept-encoding": "identity"})
    assert raw.content == bundle.content and "content-encoding" not in raw.headers
    # the whole log, read back over HTTP by the generic tile reader
    tl = TileLog(
        lambda path: client.get("/" + path).raise_for_status().content, ORIGIN, [log.verifier]
    )
    assert tl.verify_entries(tl.checkpoint()) == 300
    assert gzip.decompress(gzip.compress(raw.content)) == raw.content


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/tile/0/0001", 404, "not_found"),
        ("GET", "/tile/0/x000/001", 404, "not_found"),
        ("GET", "/tile/0/999", 404, "not_found"),
        ("GET", "/tile/../log.key", 404, "not_found"),
        ("GET", "/proof/nope", 404, "not_found"),
        ("GET", "/proof/" + "0" * 64, 404, "not_found"),
        ("GET", "/lookup/nope", 404, "not_found"),
        ("GET", "/nothing", 404, "not_found"),
        ("DELETE", "/checkpoint", 405, "method_not_allowed"),
        ("GET", "/add", 404, "not_found"),
    ],
)
def test_errors(
    served: tuple[TransparencyLog, httpx.Client], method: str, path: str, status: int, code: str
) -> None:
    _, client = served
    r = client.request(method, path)
    assert r.status_code == status and r.json()["error"]["code"] == code


def test_bad_submissions(served: tuple[TransparencyLog, httpx.Client], make_receipt: Maker) -> None:
    log, client = served
    good = make_receipt(1)
    cases = [
        (b"not json", 400),
        (b"{}", 400),
        (b"[]", 400),
        (orjson.dumps(dict(good, output_hash="2" * 64)), 403),
        (orjson.dumps(make_receipt(2, pad="x" * 66_000)), 413),
        (b"[" + b"1," * (5 << 20) + b"1]", 413),
    ]
    for body, status in cases:
        r = client.post("/add", content=body)
        assert r.status_code == status, (body[:40], r.text)
    assert log.storage.sequenced_size() == 0


def test_pending_proof_says_retry(
    open_log: Callable[..., TransparencyLog], make_receipt: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmseal.log.storage.dirstore import DirectoryStorage

    log = open_log()
    release = threading.Event()
    real = DirectoryStorage.publish

    def held(self: DirectoryStorage, *args: Any) -> None:
        release.wait(30)  # sequenced, not yet published
        real(self, *args)

    monkeypatch.setattr(DirectoryStorage, "publish", held)
    with ThreadedUvicorn(LogApp(log)) as server:
        receipt = make_receipt(5)
        index = log.add(receipt).index
        r = httpx.get(f"{server.url}/proof/{receipt['receipt_id']}")
        assert r.status_code == 404 and r.json()["error"]["code"] == "pending"
        assert r.headers["retry-after"] == "1"
        assert (
            httpx.get(f"{server.url}/lookup/{receipt['receipt_id']}").json()["published"] is False
        )
        release.set()
        log.prove_published(index, timeout=10)
        assert httpx.get(f"{server.url}/proof/{receipt['receipt_id']}").status_code == 200
