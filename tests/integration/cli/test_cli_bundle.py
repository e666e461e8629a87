"""The CLI contract of issue 17: ``llmseal bundle create|verify|show``, exit codes, attacks."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmseal.bench._support.payload import REQUEST, RESPONSE
from llmseal.bundle.commit import commit_request
from llmseal.core.canonical import canonicalize
from llmseal.core.receipt import Receipt
from llmseal.store.evidence import EvidenceStore
from llmseal.store.evidencerecord import EvidenceRecord, Sample
from tests.bundle_helpers import Issuer, Log, answer, chat, keysets, link

ISSUER = Issuer("api.lab.example")


def _write(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value, indent=2))
    return path


@pytest.fixture
def sealed(tmp_path: Path) -> dict[str, Path]:
    receipt = ISSUER.seal(REQUEST, RESPONSE)
    log = Log()
    proof = tmp_path / "r.tlog-proof"
    proof.write_text(log.prove(receipt))
    (tmp_path / "vkey.txt").write_text(log.vkey)
    return {
        "response": _write(tmp_path / "response.json", {**RESPONSE, "receipt": receipt.to_dict()}),
        "request": _write(tmp_path / "request.json", REQUEST),
        "keys": _write(tmp_path / "keys.json", ISSUER.keyset().to_dict()),
        "other_keys": _write(tmp_path / "other.json", Issuer("x").keyset().to_dict()),
        "proof": proof,
        "vkey": tmp_path / "vkey.txt",
        "bundle": tmp_path / "answer.bundle.json",
    }


def _create(cli: Callable[..., Any], f: dict[str, Path], *extra: str | Path) -> None:
    made = cli("bundle", "create", f["response"], "--request", f["request"], "--keys", f["keys"],
               "--out", f["bundle"], *extra)  # fmt: skip
    assert made.status == 0, made.stderr


def test_create_verify_show(cli: Callable[..., Any], sealed: dict[str, Path]) -> None:
    _create(cli, sealed, "--proof", sealed["proof"])
    ok = cli("bundle", "verify", sealed["bundle"], "--keys", sealed["keys"], "--json",
             "--log-vkey", sealed["vkey"].read_text())  # fmt: skip
    assert ok.status == 0, ok.stdout
    report = ok.json()
    assert report["ok"] is True and report["items"][0]["log"]["verified"] is True
    human = cli("bundle", "verify", sealed["bundle"], "--keys", sealed["keys"])
    assert human.status == 0 and "ok" in human.stdout and "api.lab.example" in human.stdout
    shown = cli("bundle", "show", sealed["bundle"], "--json")
    assert shown.status == 0
    assert shown.json()["items"][0]["evidence"] == ["keyset", "log"]


def test_a_tampered_bundle_fails_with_the_reason(
    cli: Callable[..., Any], sealed: dict[str, Path]
) -> None:
    _create(cli, sealed)
    data = json.loads(sealed["bundle"].read_text())
    data["items"][0]["response"]["choices"][0]["message"]["content"] = "Forged answer."
    sealed["bundle"].write_text(json.dumps(data))
    result = cli("bundle", "verify", sealed["bundle"], "--keys", sealed["keys"])
    assert result.status == 1
    assert "tampered" in result.stdout and "output does not match output_hash" in result.stdout


def test_a_bundle_rooted_in_nothing_of_the_verifiers_fails(
    cli: Callable[..., Any], sealed: dict[str, Path]
) -> None:
    _create(cli, sealed)
    result = cli("bundle", "verify", sealed["bundle"], "--keys", sealed["other_keys"], "--json")
    assert result.status == 1 and result.json()["items"][0]["status"] == "unknown_key"


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("{not json", ("--keys", "KEYS"), "the bundle is not valid JSON"),
        ('{"bundle": "other/1"}', ("--keys", "KEYS"), "not an evidence bundle"),
        (None, (), "no anchor"),
        (None, ("--domain", "lab.example"), "need --anchors"),
    ],
)
def test_unusable_input_is_one_line_and_exit_2(
    cli: Callable[..., Any], sealed: dict[str, Path], content: str | None,
    args: tuple[str, ...], message: str,
) -> None:  # fmt: skip
    _create(cli, sealed)
    if content is not None:
        sealed["bundle"].write_text(content)
    argv = [str(sealed["keys"]) if a == "KEYS" else a for a in args]
    result = cli("bundle", "verify", sealed["bundle"], *argv)
    assert result.status == 2 and message in result.stderr
    if content is not None:  # a file it cannot use: one line (usage errors show the usage)
        assert len(result.stderr.strip().splitlines()) == 1


def test_create_refuses_unpaired_requests(cli: Callable[..., Any], sealed: dict[str, Path]) -> None:
    result = cli("bundle", "create", sealed["response"], sealed["response"], "--request",
                 sealed["request"], "--out", sealed["bundle"])  # fmt: skip
    assert result.status == 2 and "one --request per RESPONSE.json" in result.stderr


def test_policy_require_logged_and_issuers(
    cli: Callable[..., Any], sealed: dict[str, Path], tmp_path: Path
) -> None:
    _create(cli, sealed)  # no log proof
    policy = tmp_path / "policy.toml"
    policy.write_text(f'require_logged = true\nlogs = ["{sealed["vkey"].read_text()}"]\n')
    refused = cli("bundle", "verify", sealed["bundle"], "--keys", sealed["keys"],
                  "--policy", policy)  # fmt: skip
    assert refused.status == 1 and "require_logged" in refused.stdout
    _create(cli, sealed, "--proof", sealed["proof"])
    admitted = cli("bundle", "verify", sealed["bundle"], "--keys", sealed["keys"],
                   "--policy", policy)  # fmt: skip
    assert admitted.status == 0, admitted.stdout


def test_a_pipeline_bundle_shows_its_chain_as_a_tree(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    steps = [Issuer("extract.example"), Issuer("analyse.example"), Issuer("summary.example")]
    files: list[str] = []
    previous: Receipt | None = None
    for n, issuer in enumerate(steps):
        text = f"step {n} output"
        prompt = "Begin." if previous is None else f"Use: step {n - 1} output"
        request, response = chat([{"role": "user", "content": prompt}]), answer(text)
        parents = [link(previous, "input")] if previous is not None else None
        previous = issuer.seal(request, response, parents=parents)
        res = _write(tmp_path / f"r{n}.json", {**response, "receipt": previous.to_dict()})
        req = _write(tmp_path / f"q{n}.json", request)
        files += [str(res), "--request", str(req)]
    keys = _write(tmp_path / "keys.json", keysets(*steps).to_dict())
    out = tmp_path / "pipeline.bundle.json"
    responses, requests = files[0::3], files[2::3]
    argv = [*responses, *[x for r in requests for x in ("--request", r)], "--out", str(out)]
    assert cli("bundle", "create", *argv).status == 0
    result = cli("bundle", "verify", out, "--keys", keys)
    assert result.status == 0, result.stdout
    lines = [line for line in result.stdout.splitlines() if ".example" in line]
    depth = [next(i for i, ch in enumerate(line) if ch.isalnum()) for line in lines]
    assert depth[0] < depth[1] < depth[2], result.stdout  # summary > analysis > extraction
    assert "input: valid" in result.stdout and "extract.example" in lines[2]


def test_disclose_one_message(cli: Callable[..., Any], tmp_path: Path) -> None:
    seed = os.urandom(32)
    request = chat([{"role": "system", "content": "SECRET-SYSTEM-PROMPT"},
                    {"role": "user", "content": "Public question"},
                    {"role": "user", "content": "SECRET-FOLLOWUP"}])  # fmt: skip
    response = answer("Public answer")
    receipt = ISSUER.seal(request, response, commitments=commit_request(request, seed))
    (tmp_path / "seed").write_bytes(seed)
    out = tmp_path / "d.bundle.json"
    saved = _write(tmp_path / "r.json", {**response, "receipt": receipt.to_dict()})
    asked = _write(tmp_path / "q.json", request)
    made = cli("bundle", "create", saved, "--request", asked, "--disclose", "1",
               "--seed", tmp_path / "seed", "--out", out)  # fmt: skip
    assert made.status == 0, made.stderr
    assert b"SECRET" not in out.read_bytes()
    keys = _write(tmp_path / "k.json", ISSUER.keyset().to_dict())
    result = cli("bundle", "verify", out, "--keys", keys, "--json")
    assert result.status == 0 and result.json()["items"][0]["disclosed"] == "message(s) 1 of 3"


def test_create_from_an_evidence_store(cli: Callable[..., Any], tmp_path: Path) -> None:
    receipt = ISSUER.seal(REQUEST, RESPONSE)
    body = canonicalize({**RESPONSE, "receipt": receipt.to_dict()})
    store = EvidenceStore(tmp_path / "data")
    rec = EvidenceRecord(
        receipt.receipt_id, "valid", "api.lab.example", receipt.key_id, receipt.model_id,
        receipt.issued_at, receipt.issued_at, receipt.nonce, receipt.prompt_hash,
        receipt.output_hash, "/v1/chat/completions", (), canonicalize(receipt.to_dict()),
    )  # fmt: skip
    store.submit(rec, Sample(canonicalize(REQUEST), body, canonicalize(receipt.to_dict())))
    store.close()
    keys = _write(tmp_path / "k.json", ISSUER.keyset().to_dict())
    out = tmp_path / "s.bundle.json"
    made = cli("bundle", "create", "--data-dir", tmp_path / "data", "--receipt-id",
               receipt.receipt_id, "--keys", keys, "--out", out)  # fmt: skip
    assert made.status == 0, made.stderr
    result = cli("bundle", "verify", out, "--keys", keys, "--json")
    assert result.status == 0, result.stdout
    assert result.json()["items"][0]["content_checked"] == ["prompt", "output"]
    missing = cli("bundle", "create", "--data-dir", tmp_path / "data", "--receipt-id", "nope",
                  "--out", out)  # fmt: skip
    assert missing.status == 2 and "holds no receipt 'nope'" in missing.stderr
