"""Issue 18, CLI items: ``sign --out`` is atomic and failures say nothing was written;
``keys revoke --at`` before the key existed is refused; ``verify`` reports the content
it compared even for an unknown key; tables stay one line per row in a pipe; an
NDJSON stream without a receipt gets a clear error."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmseal.bench._support.payload import REQUEST, RESPONSE
from llmseal.bench._support.report import render
from llmseal.cli._common import print_table


@pytest.fixture
def issuer(tmp_path: Path, cli: Callable[..., Any]) -> dict[str, Path]:
    keys = tmp_path / "keys"
    assert cli("keys", "new", "lab-2026q4", "--dir", keys).status == 0
    (tmp_path / "request.json").write_text(json.dumps(REQUEST))
    (tmp_path / "response.json").write_text(json.dumps(RESPONSE))
    return {
        "dir": keys,
        "request": tmp_path / "request.json",
        "response": tmp_path / "response.json",
    }


def _sign(cli: Callable[..., Any], issuer: dict[str, Path], *extra: str | Path) -> Any:
    return cli("sign", "--dir", issuer["dir"], "--model-id", "lab/model", "--prompt",
               issuer["request"], "--output", issuer["response"], *extra)  # fmt: skip


def test_sign_out_writes_the_receipt(
    issuer: dict[str, Path], tmp_path: Path, cli: Callable[..., Any]
) -> None:
    out = tmp_path / "receipt.json"
    result = _sign(cli, issuer, "--key-id", "lab-2026q4", "--out", out)
    assert result.status == 0 and result.stdout == ""
    assert json.loads(out.read_text())["key_id"] == "lab-2026q4"
    check = cli("verify", out, "--keys", issuer["dir"] / "keys.json",
                "--prompt", issuer["request"], "--output", issuer["response"])  # fmt: skip
    assert check.status == 0, check.stdout
    assert list(tmp_path.glob(".receipt.json.*")) == []  # no temp file left behind


def test_a_failed_sign_writes_nothing_and_says_so(
    issuer: dict[str, Path], tmp_path: Path, cli: Callable[..., Any]
) -> None:
    out = tmp_path / "receipt.json"
    out.write_text("the previous receipt")
    failed = _sign(cli, issuer, "--key-id", "no-such-key", "--out", out)
    assert failed.status == 2 and failed.stdout == ""
    assert failed.stderr.count("\n") == 1 and f"nothing was written to {out}" in failed.stderr
    assert out.read_text() == "the previous receipt"
    to_stdout = _sign(cli, issuer, "--key-id", "no-such-key")
    assert to_stdout.status == 2 and to_stdout.stdout == ""
    assert "(nothing was written)" in to_stdout.stderr
    bad_claim = _sign(cli, issuer, "--key-id", "lab-2026q4", "--claim", "no-equals-sign")
    assert bad_claim.status == 2 and "(nothing was written)" in bad_claim.stderr


def test_revoking_before_the_key_existed_is_refused(
    issuer: dict[str, Path], cli: Callable[..., Any]
) -> None:
    before = (issuer["dir"] / "keys.json").read_bytes()
    result = cli(
        "keys", "revoke", "lab-2026q4", "--dir", issuer["dir"], "--at", "2000-01-01T00:00:00Z"
    )
    assert result.status == 2 and "before key 'lab-2026q4' was created" in result.stderr
    assert (issuer["dir"] / "keys.json").read_bytes() == before
    assert cli("keys", "revoke", "lab-2026q4", "--dir", issuer["dir"]).status == 0


def test_unknown_key_still_reports_the_content_it_compared(
    issuer: dict[str, Path], tmp_path: Path, cli: Callable[..., Any]
) -> None:
    out = tmp_path / "receipt.json"
    assert _sign(cli, issuer, "--key-id", "lab-2026q4", "--out", out).status == 0
    (tmp_path / "other.json").write_text(json.dumps({"keys": []}))
    other = tmp_path / "other-request.json"
    other.write_text(json.dumps({**REQUEST, "model": "another"}))
    result = cli("verify", out, "--keys", tmp_path / "other.json", "--prompt", other)
    assert result.status == 1 and result.stdout.startswith("unknown_key")
    assert "content  prompt" in result.stdout and "not supplied" not in result.stdout
    assert "the supplied prompt does not match prompt_hash" in result.stdout


def test_tables_in_a_pipe_keep_one_line_per_row(capsys: pytest.CaptureFixture[str]) -> None:
    measurement = {"ops_per_s": 123456.789, "llm_sign_ops_per_s": 2345.6, "vs_llm_sign": 52.6}
    sign = {"ops_per_s": 4430.1, "llm_sign_ops_per_s": 1643.2, "raw_ops_per_s": 12519.0}
    nested = {"a_rather_long_measurement_name_for_a_row": measurement}
    gateway = {"streaming_chat_completions_through_the_proxy_p99": measurement, "nested": nested}
    results = {"sign": {**sign, "vs_llm_sign": 2.7, "vs_raw": 0.35}, "gateway": gateway}
    print_table(render(results))
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if "│" in line and "operation" not in line]
    assert len(rows) == 3
    assert any("gateway.nested.a_rather_long_measurement_name_for_a_row" in r and "123456.79" in r
               for r in rows)  # fmt: skip


def test_an_ndjson_stream_without_a_receipt_is_refused_in_one_line(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    path = tmp_path / "answer.ndjson"
    path.write_text('{"message": {"content": "Hi"}, "done": false}\n{"done": true}\n')
    result = cli("verify", path, "--keys", tmp_path / "none.json")
    assert result.status == 2 and result.stderr.count("\n") == 1
    assert "holds no receipt" in result.stderr
    path.write_text('{"done": true}\n{"llmseal_receipt": 2, "receipt": {}, "response": "x"}\n')
    result = cli("verify", path, "--keys", tmp_path / "none.json")
    assert result.status == 2 and "must carry no content" in result.stderr
