"""``llmseal audit pack build | verify | fetch``: every bad input is one line and exit 2.

Mirrors are real HTTP servers on loopback; each serves whatever bytes the test
gives it (a good pack, an edited one, a truncated one, a connection cut short).
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from llmseal.audit.enrollment.reference import Reference, content_id
from llmseal.audit.packs.pack import signing_message
from llmseal.core.canonical import canonicalize
from llmseal.core.keyset import KeySet
from llmseal.trust.keydir import KeyDirectory

AT = "2026-04-13T00:00:00Z"


class _Mirror:
    """A loopback HTTP server: path -> (bytes, declared length or None)."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, int | None]] = {}
        self.requests: list[str] = []
        files, requests = self.files, self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                requests.append(self.path)
                if self.path not in files:
                    self.send_error(404)
                    return
                body, declared = files[self.path]
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(declared or len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def put(self, path: str, body: bytes, declared: int | None = None) -> str:
        self.files[path] = (body, declared)
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"


@pytest.fixture
def mirror() -> Iterator[_Mirror]:
    served = _Mirror()
    yield served
    served.server.shutdown()
    served.server.server_close()


@pytest.fixture
def setup(tmp_path: Path, t0: datetime, cli: Callable[..., Any]) -> dict[str, Path]:
    """A publisher key dir, its key set as the trust policy, two references, a pack."""
    keys = tmp_path / "publisher"
    KeyDirectory(keys).create("pub-1", at=t0)
    refs = []
    for model in ("smollm2-135m-instruct", "gemma-3-270m"):
        ref = Reference.build(model_id=model, at=t0, source="endpoint", covers=["endpoint"],
                              families={"kbf": {"probes": [], "envelope": None}})  # fmt: skip
        path = tmp_path / f"{model}.json"
        path.write_bytes(ref.to_json())
        refs.append(path)
    pack = tmp_path / "pack.json"
    result = cli("audit", "pack", "build", *refs, "--key-dir", keys, "--key-id", "pub-1",
                 "--out", pack, "--at", "2026-04-12T14:32:00Z", "--expires-in", "30")  # fmt: skip
    assert result.status == 0, result.stderr
    assert result.stdout.startswith("built sha256:") and "2 references" in result.stdout
    return {"keys": keys, "publishers": keys / "keys.json", "pack": pack, "ref": refs[0]}


def _one_line_exit_2(result: Any, code: str) -> None:
    assert result.status == 2, (result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and code in result.stderr, result.stderr
    assert result.stdout == ""


def test_build_then_verify(setup: dict[str, Path], cli: Callable[..., Any]) -> None:
    result = cli("audit", "pack", "verify", setup["pack"], "--publishers", setup["publishers"],
                 "--at", AT)  # fmt: skip
    assert result.status == 0, result.stderr
    assert result.stdout.startswith("valid  pack sha256:")
    assert "pub-1 (trusted)" in result.stdout and "gemma-3-270m" in result.stdout
    as_json = cli("audit", "pack", "verify", setup["pack"], "--at", AT, "--json").json()
    assert as_json["publisher"] == {"key_id": "pub-1", "trust": "not"}
    assert len(as_json["references"]) == 2 and as_json["license"] == "CC-BY-4.0"


def test_build_refuses_a_private_reference(
    setup: dict[str, Path], tmp_path: Path, t0: datetime, cli: Callable[..., Any]
) -> None:
    private = Reference.build(model_id="m", at=t0, source="endpoint", covers=[], private=True,
                              families={"kbf": {}})  # fmt: skip
    path = tmp_path / "private.json"
    path.write_bytes(private.to_json())
    out = tmp_path / "never.json"
    result = cli("audit", "pack", "build", setup["ref"], path, "--key-dir", setup["keys"],
                 "--key-id", "pub-1", "--out", out)  # fmt: skip
    _one_line_exit_2(result, "private probe bank")
    assert not out.exists()


def _resigned(setup: dict[str, Path], edit: Callable[[dict[str, Any]], None]) -> bytes:
    """The pack edited, re-hashed and re-signed by the publisher (so only ``edit`` is wrong)."""
    data = json.loads(setup["pack"].read_bytes())
    edit(data)
    data["pack_id"] = content_id(data, exclude=("pack_id", "signature"))
    signer = KeyDirectory(setup["keys"]).signer("pub-1")
    import base64

    data["signature"] = base64.b64encode(signer.sign(signing_message(data["pack_id"]))).decode()
    return canonicalize(data)


def _bad_packs(setup: dict[str, Path], tmp_path: Path, t0: datetime) -> dict[str, bytes]:
    good = setup["pack"].read_bytes()
    data = json.loads(good)
    edited = dict(data, license="proprietary")
    rehashed = dict(edited, pack_id=content_id(edited, exclude=("pack_id", "signature")))
    stranger_dir = tmp_path / "stranger"
    KeyDirectory(stranger_dir).create("pub-1", at=t0)  # same key id, another key
    stranger = _resigned({**setup, "keys": stranger_dir}, lambda d: d["publisher"].update(
        public_key=KeyDirectory(stranger_dir).load_keyset().resolve("pub-1").public_key.b64()))  # type: ignore[union-attr]  # fmt: skip
    return {
        "hash_mismatch": canonicalize(edited),
        "bad_signature": canonicalize(rehashed),
        "untrusted_publisher": stranger,
        "expired": _resigned(setup, lambda d: d.update(expires_at="2026-04-12T15:00:00Z")),
        "must be JSON": good[: len(good) // 2],
    }


@pytest.mark.parametrize(
    "case", ["hash_mismatch", "bad_signature", "untrusted_publisher", "expired", "must be JSON"]
)
def test_verify_refuses_each_bad_pack(
    setup: dict[str, Path], tmp_path: Path, t0: datetime, cli: Callable[..., Any], case: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(_bad_packs(setup, tmp_path, t0)[case])
    result = cli("audit", "pack", "verify", path, "--publishers", setup["publishers"], "--at", AT)
    _one_line_exit_2(result, case)


@pytest.mark.parametrize(
    "case", ["hash_mismatch", "bad_signature", "untrusted_publisher", "expired", "must be JSON"]
)
def test_fetch_refuses_each_bad_pack_and_writes_nothing(
    setup: dict[str, Path], tmp_path: Path, t0: datetime, cli: Callable[..., Any],
    mirror: _Mirror, case: str,
) -> None:  # fmt: skip
    url = mirror.put("/pack.json", _bad_packs(setup, tmp_path, t0)[case])
    data_dir = tmp_path / "buyer"
    result = cli("audit", "pack", "fetch", url, "--data-dir", data_dir,
                 "--publishers", setup["publishers"], "--at", AT)  # fmt: skip
    _one_line_exit_2(result, case)
    assert not (data_dir / "fingerprints").exists() or not any(
        (data_dir / "fingerprints").iterdir()
    )


def test_fetch_stores_a_good_pack_under_its_id(
    setup: dict[str, Path], tmp_path: Path, cli: Callable[..., Any], mirror: _Mirror
) -> None:
    good = setup["pack"].read_bytes()
    pack_id = json.loads(good)["pack_id"]
    pretty = json.dumps(json.loads(good), indent=2).encode()  # any formatting is the same pack
    url = mirror.put("/packs/latest.json", pretty)
    data_dir = tmp_path / "buyer"
    result = cli("audit", "pack", "fetch", url, "--data-dir", data_dir,
                 "--publishers", setup["publishers"], "--at", AT, "--json")  # fmt: skip
    assert result.status == 0, result.stderr
    stored = data_dir / "fingerprints" / f"sha256-{pack_id.removeprefix('sha256:')}.json"
    assert result.json()["stored"] == str(stored) and result.json()["pack_id"] == pack_id
    assert stored.read_bytes() == good  # the canonical file form
    assert [p.name for p in stored.parent.iterdir()] == [stored.name]  # no temporary left


def test_fetch_falls_back_to_the_next_mirror(
    setup: dict[str, Path], tmp_path: Path, t0: datetime, cli: Callable[..., Any],
    mirror: _Mirror,
) -> None:  # fmt: skip
    good = setup["pack"].read_bytes()
    bad = mirror.put("/bad.json", _bad_packs(setup, tmp_path, t0)["bad_signature"])
    cut = mirror.put("/cut.json", good[:100], declared=len(good))  # connection ends early
    missing = mirror.put("/missing.json", b"")
    del mirror.files["/missing.json"]
    ok = mirror.put("/ok.json", good)
    data_dir = tmp_path / "buyer"
    result = cli("audit", "pack", "fetch", bad, cut, missing, ok, "--data-dir", data_dir,
                 "--publishers", setup["publishers"], "--at", AT)  # fmt: skip
    assert result.status == 0, result.stderr
    assert "bad_signature" in result.stderr and "HTTP 404" in result.stderr
    assert "RemoteProtocolError" in result.stderr and "stored" in result.stdout
    # every mirror bad: one line, exit 2, nothing written
    empty = tmp_path / "empty"
    result = cli("audit", "pack", "fetch", bad, cut, "--data-dir", empty,
                 "--publishers", setup["publishers"], "--at", AT)  # fmt: skip
    _one_line_exit_2(result, "no mirror gave a usable pack")
    assert not empty.exists()


def test_fetch_uses_the_stored_trust_policy_and_fails_closed_without_one(
    setup: dict[str, Path], tmp_path: Path, cli: Callable[..., Any], mirror: _Mirror
) -> None:
    url = mirror.put("/pack.json", setup["pack"].read_bytes())
    data_dir = tmp_path / "buyer"
    result = cli("audit", "pack", "fetch", url, "--data-dir", data_dir, "--at", AT)
    _one_line_exit_2(result, "no trusted publishers")
    (data_dir / "fingerprints").mkdir(parents=True)
    trusted = KeySet.from_json(setup["publishers"].read_bytes())
    (data_dir / "fingerprints" / "publishers.json").write_text(json.dumps(trusted.to_dict()))
    result = cli("audit", "pack", "fetch", url, "--data-dir", data_dir, "--at", AT)
    assert result.status == 0, result.stderr
    assert "pub-1 (trusted)" in result.stdout


def test_fetch_refuses_what_is_not_a_mirror_url(
    setup: dict[str, Path], tmp_path: Path, cli: Callable[..., Any]
) -> None:
    result = cli("audit", "pack", "fetch", str(setup["pack"]), "--data-dir", tmp_path,
                 "--publishers", setup["publishers"])  # fmt: skip
    _one_line_exit_2(result, "not an http(s) mirror URL")


def _announce(
    setup: dict[str, Path], tmp_path: Path, cli: Callable[..., Any], *mirrors: str
) -> tuple[Path, Path]:
    pack, note = tmp_path / "announced.json", tmp_path / "announcement.json"
    args = [a for m in mirrors for a in ("--mirror", m)]
    result = cli("audit", "pack", "build", setup["ref"], "--key-dir", setup["keys"],
                 "--key-id", "pub-1", "--out", pack, "--at", "2026-04-12T14:32:00Z",
                 "--announce", note, "--chunk-size", "256", *args)  # fmt: skip
    assert result.status == 0, result.stderr
    return pack, note


def test_an_announcement_checks_every_chunk(
    setup: dict[str, Path], tmp_path: Path, cli: Callable[..., Any], mirror: _Mirror
) -> None:
    url = mirror.put("/a.json", b"")
    pack, note = _announce(setup, tmp_path, cli, url)
    good = pack.read_bytes()
    announced = json.loads(note.read_bytes())
    assert announced["byte_length"] == len(good) and len(announced["chunk_hashes"]) > 2
    bad = bytearray(good)
    bad[300] ^= 1  # one bit in the second chunk
    mirror.put("/a.json", bytes(bad))
    data_dir = tmp_path / "buyer"
    result = cli("audit", "pack", "fetch", "--announcement", note, "--data-dir", data_dir,
                 "--publishers", setup["publishers"], "--at", AT)  # fmt: skip
    _one_line_exit_2(result, "chunk_mismatch")
    assert "chunk 1 " in result.stderr and not data_dir.exists()
    ok = mirror.put("/ok.json", good)  # a second mirror, given on the command line first
    result = cli("audit", "pack", "fetch", ok, "--announcement", note, "--data-dir", data_dir,
                 "--publishers", setup["publishers"], "--at", AT, "--json")  # fmt: skip
    assert result.status == 0, result.stderr
    assert result.json()["pack_id"] == announced["pack_id"]


def test_an_untrusted_announcement_downloads_nothing(
    setup: dict[str, Path], tmp_path: Path, t0: datetime, cli: Callable[..., Any],
    mirror: _Mirror,
) -> None:  # fmt: skip
    url = mirror.put("/a.json", b"")
    pack, note = _announce(setup, tmp_path, cli, url)
    mirror.put("/a.json", pack.read_bytes())
    stranger = tmp_path / "stranger"
    KeyDirectory(stranger).create("pub-1", at=t0)
    result = cli("audit", "pack", "fetch", "--announcement", note, "--data-dir", tmp_path / "b",
                 "--publishers", stranger / "keys.json", "--at", AT)  # fmt: skip
    _one_line_exit_2(result, "bad_signature")
    assert mirror.requests == []


def test_an_announcement_cannot_be_served_another_pack(
    setup: dict[str, Path], tmp_path: Path, cli: Callable[..., Any], mirror: _Mirror
) -> None:
    """A mirror pairs the new pack's signed id with an older pack's bytes and chunk hashes."""
    url = mirror.put("/a.json", setup["pack"].read_bytes())  # the older, also valid pack
    new, note = _announce(setup, tmp_path, cli, url)
    old_pack, old_note = tmp_path / "old.json", tmp_path / "old-announcement.json"
    result = cli("audit", "pack", "build", setup["ref"], tmp_path / "gemma-3-270m.json",
                 "--key-dir", setup["keys"], "--key-id", "pub-1", "--out", old_pack,
                 "--announce", old_note, "--chunk-size", "256",
                 "--at", "2026-04-12T14:00:00Z")  # fmt: skip
    assert result.status == 0, result.stderr
    mirror.put("/a.json", old_pack.read_bytes())
    forged = json.loads(old_note.read_bytes())
    fresh = json.loads(note.read_bytes())
    forged.update(pack_id=fresh["pack_id"], signature=fresh["signature"], mirrors=[url])
    note.write_text(json.dumps(forged))
    result = cli("audit", "pack", "fetch", "--announcement", note, "--data-dir", tmp_path / "b",
                 "--publishers", setup["publishers"], "--at", AT)  # fmt: skip
    _one_line_exit_2(result, "hash_mismatch")
    assert "not the announced" in result.stderr and new.exists()
