"""``llmseal witness init`` and ``serve`` as a user runs them: a real process, real HTTP."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from llmseal.log.note.checkpoint import open_checkpoint
from llmseal.log.note.cosignature import cosignature_time
from llmseal.log.note.note import parse_note, verify_note
from llmseal.log.note.notekeys import load_verifier
from llmseal.log.witness.witnessstore import origin_hash
from tests.logtree import TreeLog
from tests.witnessproc import running_witness


def test_init_writes_a_private_key_and_prints_the_vkey(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    result = cli("witness", "init", "--dir", tmp_path / "w", "--name", "witness.example/one")
    assert result.status == 0, result.stderr
    vkey = result.stdout.strip()
    assert vkey.startswith("witness.example/one+") and load_verifier(vkey).name.endswith("one")
    key = tmp_path / "w" / "witness.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_text().startswith("PRIVATE+KEY+witness.example/one+")
    assert key.read_text().split("+")[4][:12] not in result.stdout + result.stderr
    again = cli("witness", "init", "--dir", tmp_path / "w", "--name", "witness.example/one")
    assert again.status == 2 and "refusing to overwrite" in again.stderr
    bad = cli("witness", "init", "--dir", tmp_path / "x", "--name", "has space")
    assert bad.status == 2 and "invalid witness name" in bad.stderr


def test_serve_refuses_bad_setups(tmp_path: Path, cli: Callable[..., Any]) -> None:
    log = TreeLog.new()
    missing = cli("witness", "serve", "--dir", tmp_path / "none", "--log-vkey", log.signer.vkey())
    assert missing.status == 2 and "witness init" in missing.stderr
    assert cli("witness", "init", "--dir", tmp_path / "w", "--name", "w.example").status == 0
    wkey = (tmp_path / "w" / "witness.vkey").read_text().strip()
    as_log = cli("witness", "serve", "--dir", tmp_path / "w", "--log-vkey", wkey)
    assert as_log.status == 2 and "witness key, not a log key" in as_log.stderr
    nofile = cli("witness", "serve", "--dir", tmp_path / "w", "--log-vkey", tmp_path / "nope")
    assert nofile.status == 2 and "cannot read" in nofile.stderr
    os.chmod(tmp_path / "w" / "witness.key", 0o644)
    loose = cli("witness", "serve", "--dir", tmp_path / "w", "--log-vkey", log.signer.vkey())
    assert loose.status == 2 and "readable by others" in loose.stderr


def test_a_real_witness_cosigns_refuses_and_serves_evidence(tmp_path: Path) -> None:
    log = TreeLog.new(size=5)
    vkey_file = tmp_path / "log.vkey"
    vkey_file.write_text(log.signer.vkey() + "\n")
    with running_witness(tmp_path / "w", [str(vkey_file)]) as w, httpx.Client(base_url=w.url) as c:
        first = c.post("/add-checkpoint", content=log.request(0))
        assert first.status_code == 200, first.text
        note = parse_note(log.checkpoint().note.encode() + first.content)
        (good,) = verify_note(note, [load_verifier(w.vkey)])
        assert cosignature_time(good) > 1_700_000_000  # the wall clock, not a test clock
        conflict = c.post("/add-checkpoint", content=log.request(0))
        assert conflict.status_code == 409 and conflict.text == "5\n"
        assert conflict.headers["content-type"] == "text/x.tlog.size"
        fork = log.fork(3, 5)  # rewrites entries 3 and 4, which we cosigned
        log.append(3)
        assert c.post("/add-checkpoint", content=fork.request(5)).status_code == 422
        assert c.post("/add-checkpoint", content=log.request(5)).status_code == 200
        digest = origin_hash(log.origin)
        latest = c.get(f"/{digest}/checkpoint")
        cp = open_checkpoint(latest.content, origin=log.origin, verifiers=[log.signer.verifier()])
        assert cp.size == 8
        (item,) = c.get(f"/{digest}/evidence").json()["evidence"]
        assert item["kind"] == "inconsistent" and item["old_size"] == 5
        refused = open_checkpoint(
            item["refused"], origin=log.origin, verifiers=[log.signer.verifier()]
        )
        assert refused.root == fork.root()
    # Restarted on the same directory, it remembers what it cosigned.
    with (
        running_witness(tmp_path / "w", [log.signer.vkey()]) as w,
        httpx.Client(base_url=w.url) as c,
    ):
        assert c.post("/add-checkpoint", content=log.request(0)).text == "8\n"
