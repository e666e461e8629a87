"""The CLI contract of issue 2: keys, sign, verify (vectors, exit codes, bad input)."""

from __future__ import annotations

import functools
import http.server
import json
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from llmseal.bench._support.payload import REQUEST, RESPONSE


@pytest.fixture
def vector_files(tmp_path: Path, attest_vectors: dict[str, Any]) -> dict[str, Path]:
    files = {
        "bare": tmp_path / "keyset-bare.json",
        "object": tmp_path / "keyset-object.json",
    }
    files["bare"].write_text(json.dumps(attest_vectors["keyset"]))
    files["object"].write_text(json.dumps({"keys": attest_vectors["keyset"]}, indent=2))
    for case in attest_vectors["cases"]:
        path = tmp_path / f"{case['receipt']['receipt_id']}.json"
        path.write_text(json.dumps(case["receipt"], indent=2))
        files[case["expected"]] = path
    return files


@pytest.mark.parametrize("shape", ["bare", "object"])
@pytest.mark.parametrize(
    ("expected", "status"), [("valid", 0), ("tampered", 1), ("unknown_key", 1), ("revoked", 1)]
)
def test_official_vectors_through_the_cli(
    cli: Callable[..., Any], vector_files: dict[str, Path], shape: str, expected: str, status: int
) -> None:
    result = cli("verify", vector_files[expected], "--keys", vector_files[shape], "--json")
    assert result.status == status, result.stderr
    out = result.json()
    assert out["status"] == expected
    assert set(out) >= {"status", "key_id", "issued_at", "reasons"}
    human = cli("verify", vector_files[expected], "--keys", vector_files[shape])
    assert human.status == status
    assert expected in human.stdout


@pytest.fixture
def issuer(tmp_path: Path, cli: Callable[..., Any]) -> dict[str, Path]:
    keys = tmp_path / "issuer"
    created = ("--at", "2025-12-01T00:00:00Z")  # before every --issued-at below
    assert cli("keys", "new", "lab/2026q2", "--dir", keys, *created).status == 0
    request = tmp_path / "request.json"
    response = tmp_path / "response.json"
    request.write_text(json.dumps(REQUEST))
    response.write_text(json.dumps(RESPONSE))
    return {"dir": keys, "keys": keys / "keys.json", "request": request, "response": response}


def _sign(cli: Callable[..., Any], issuer: dict[str, Path], tmp_path: Path, *extra: str) -> Path:
    result = cli(
        "sign", "--dir", issuer["dir"], "--key-id", "lab/2026q2", "--model-id", "lab/smollm2",
        "--prompt", issuer["request"], "--output", issuer["response"], *extra,
    )  # fmt: skip
    assert result.status == 0, result.stderr
    path = tmp_path / "receipt.json"
    path.write_text(result.stdout)
    return path


def test_keys_sign_verify_round_trip(
    cli: Callable[..., Any], issuer: dict[str, Path], tmp_path: Path
) -> None:
    receipt = _sign(cli, issuer, tmp_path, "--claim", "issuer=api.example", "--claim", "tier=3")
    wire = json.loads(receipt.read_text())
    assert wire["issuer"] == "api.example" and wire["tier"] == 3
    result = cli(
        "verify", receipt, "--keys", issuer["keys"], "--prompt", issuer["request"],
        "--output", issuer["response"], "--json",
    )  # fmt: skip
    assert result.status == 0, result.stderr
    assert result.json()["content_checked"] == ["prompt", "output"]


def test_reformatted_files_verify_the_same(
    cli: Callable[..., Any], issuer: dict[str, Path], tmp_path: Path
) -> None:
    receipt = _sign(cli, issuer, tmp_path)
    pretty_receipt = tmp_path / "pretty-receipt.json"
    wire = json.loads(receipt.read_text())
    pretty_receipt.write_text(json.dumps(dict(sorted(wire.items(), reverse=True)), indent=8))
    pretty_response = tmp_path / "pretty-response.json"
    pretty_response.write_text(
        json.dumps(dict(sorted(RESPONSE.items())), indent=2, ensure_ascii=True)
    )
    result = cli("verify", pretty_receipt, "--keys", issuer["keys"], "--output", pretty_response)
    assert result.status == 0, result.stdout + result.stderr


def test_edited_response_is_tampered(
    cli: Callable[..., Any], issuer: dict[str, Path], tmp_path: Path
) -> None:
    receipt = _sign(cli, issuer, tmp_path)
    edited = tmp_path / "edited.json"
    body = json.loads(issuer["response"].read_text())
    body["choices"][0]["message"]["content"] = "Because it reflects the ocean."
    edited.write_text(json.dumps(body))
    result = cli("verify", receipt, "--keys", issuer["keys"], "--output", edited, "--json")
    assert result.status == 1
    assert result.json()["status"] == "tampered"


def test_response_with_embedded_receipt(
    cli: Callable[..., Any], issuer: dict[str, Path], tmp_path: Path
) -> None:
    receipt = json.loads(_sign(cli, issuer, tmp_path).read_text())
    delivered = tmp_path / "delivered.json"
    delivered.write_text(json.dumps(dict(RESPONSE, receipt=receipt)))
    assert cli("verify", delivered, "--keys", issuer["keys"]).status == 0
    body = dict(RESPONSE, receipt=receipt, model="gpt-frontier")
    delivered.write_text(json.dumps(body))
    assert cli("verify", delivered, "--keys", issuer["keys"]).status == 1


def test_revocation_through_the_cli(
    cli: Callable[..., Any], issuer: dict[str, Path], tmp_path: Path
) -> None:
    early = _sign(cli, issuer, tmp_path, "--issued-at", "2026-01-01T00:00:00Z").read_text()
    late = _sign(cli, issuer, tmp_path, "--issued-at", "2026-06-01T00:00:00Z").read_text()
    assert (
        cli(
            "keys", "revoke", "lab/2026q2", "--dir", issuer["dir"], "--at", "2026-03-01T00:00:00Z"
        ).status
        == 0
    )
    (tmp_path / "early.json").write_text(early)
    (tmp_path / "late.json").write_text(late)
    assert cli("verify", tmp_path / "early.json", "--keys", issuer["keys"]).status == 0
    out = cli("verify", tmp_path / "late.json", "--keys", issuer["keys"], "--json")
    assert out.status == 1 and out.json()["status"] == "revoked"
    listing = cli("keys", "list", "--dir", issuer["dir"], "--json").json()
    assert listing["keys"][0]["status"] == "revoked"
    assert listing["keys"][0]["rotated_at"] == "2026-03-01T00:00:00Z"
    refused = cli(
        "sign", "--dir", issuer["dir"], "--key-id", "lab/2026q2", "--model-id", "m",
        "--prompt", issuer["request"], "--output", issuer["response"],
    )  # fmt: skip
    assert refused.status == 2 and "revoked" in refused.stderr


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log on stderr."""


@pytest.fixture
def served(vector_files: dict[str, Path]) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(vector_files["bare"].parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_keyset_from_url(
    cli: Callable[..., Any], vector_files: dict[str, Path], served: str
) -> None:
    url = f"{served}/{vector_files['object'].name}"
    assert cli("verify", vector_files["valid"], "--keys", url).status == 0
    assert cli("verify", vector_files["revoked"], "--keys", url).status == 1
    missing = cli("verify", vector_files["valid"], "--keys", f"{served}/nope.json")
    assert missing.status == 2 and "404" in missing.stderr


BAD_INPUTS: dict[str, str | bytes | dict[str, Any] | None] = {
    "missing file": None,
    "not json": "{not json",
    "json array": "[1, 2]",
    "missing member": {"receipt_id": "x"},
    "ill-typed member": "ILL_TYPED",
    "binary": b"\xff\xfe\x00garbage",
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_unusable_receipt_exits_2_with_one_line(
    cli: Callable[..., Any],
    vector_files: dict[str, Path],
    tmp_path: Path,
    name: str,
    attest_vectors: dict[str, Any],
) -> None:
    content = BAD_INPUTS[name]
    path = tmp_path / "bad.json"
    if content == "ILL_TYPED":
        content = dict(attest_vectors["cases"][0]["receipt"], issued_at=1712932320)
    if isinstance(content, dict):
        content = json.dumps(content)
    if isinstance(content, str):
        path.write_text(content)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    result = cli("verify", path, "--keys", vector_files["object"])
    assert result.status == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("llmseal: error:")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "keyset", ["{}", '{"keys": [{"key_id": 1}]}', '[{"key_id": "k", "public_key": "@@"}]', "nope"]
)
def test_unusable_keyset_exits_2(
    cli: Callable[..., Any], vector_files: dict[str, Path], tmp_path: Path, keyset: str
) -> None:
    path = tmp_path / "keys.json"
    path.write_text(keyset)
    result = cli("verify", vector_files["valid"], "--keys", path)
    assert result.status == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_unusable_content_exits_2(
    cli: Callable[..., Any], issuer: dict[str, Path], tmp_path: Path
) -> None:
    receipt = _sign(cli, issuer, tmp_path)
    junk = tmp_path / "junk.json"
    junk.write_text("<html>not json</html>")
    result = cli("verify", receipt, "--keys", issuer["keys"], "--output", junk)
    assert result.status == 2 and "not valid JSON" in result.stderr


def test_no_traceback_in_a_real_process(python: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    proc = subprocess.run(
        [python, "-m", "llmseal", "verify", str(bad), "--keys", str(bad)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_usage_errors_exit_2(cli: Callable[..., Any]) -> None:
    assert cli("verify").status == 2
    assert cli("keys", "new", "x").status == 2
    assert cli("nonsense").status == 2


def test_broken_policy_and_export_paths_are_one_line_errors(
    cli: Callable[..., Any], vector_files: dict[str, Path], tmp_path: Path
) -> None:
    policy = tmp_path / "p.toml"
    for text in ('max_age = "99999999999d"', "policy = 1"):
        policy.write_text(text)
        result = cli(
            "verify", vector_files["valid"], "--keys", vector_files["object"], "--policy", policy
        )
        assert result.status == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    (tmp_path / "ev").mkdir()
    result = cli(
        "evidence", "export", "--data-dir", tmp_path / "ev", "--out", tmp_path / "no" / "x.tgz"
    )
    assert result.status == 2 and "cannot write" in result.stderr
