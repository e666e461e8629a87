"""``llmseal audit enroll`` / ``audit run``: bad input is one line and exit 2."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from llmseal.audit import registry
from llmseal.audit.enrollment.enroll import enroll, join_url
from tests.conftest import CliResult
from tests.unit.audit.fakemodel import FakeSource
from tests.unit.audit.test_text_families import OPTIONS


def test_urls_join_without_a_doubled_prefix() -> None:
    assert join_url("http://h:1/v1", "/v1/models") == "http://h:1/v1/models"
    assert join_url("http://h:1/v1/", "/v1/chat/completions") == "http://h:1/v1/chat/completions"
    assert join_url("http://h:1", "/v1/models") == "http://h:1/v1/models"


def test_enroll_needs_a_source(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    result = cli("audit", "enroll", "--model-id", "m", "--out", tmp_path / "r.json")
    assert result.status == 2 and "--endpoint" in result.stderr
    result = cli("audit", "enroll", "--endpoint", "http://127.0.0.1:9/v1", "--model-id", "m",
                 "--families", "kbf,nope", "--out", tmp_path / "r.json")  # fmt: skip
    assert result.status == 2 and "no verifier family 'nope'" in result.stderr


def test_run_refuses_a_pack_for_another_model(
    cli: Callable[..., CliResult], tmp_path: Path, t0: datetime
) -> None:
    ref = enroll([FakeSource("a"), FakeSource("b")], registry().resolve(["kbf"]), OPTIONS, at=t0)
    pack = tmp_path / "ref.json"
    pack.write_bytes(ref.to_json())
    args = ("audit", "run", "--endpoint", "http://127.0.0.1:9/v1", "--keys", tmp_path / "k.json",
            "--pack", pack, "--data-dir", tmp_path / "d")  # fmt: skip
    result = cli(*args, "--model-id", "gpt-5")
    assert result.status == 2 and "no reference in the pack is for model 'gpt-5'" in result.stderr
    forged = json.loads(pack.read_text())
    forged["families"]["kbf"]["probes"] = []
    pack.write_text(json.dumps(forged))
    result = cli(*args, "--model-id", OPTIONS.model_id)
    assert result.status == 2 and "does not match its content" in result.stderr
