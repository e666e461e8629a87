"""``llmseal weights commit`` / ``check``: printed root, manifest file, exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llmseal.weights import WeightManifest, commit_file
from tests.unit.weights.conftest import write_gguf


def test_commit_prints_the_root_and_writes_the_manifest(
    cli: Callable[..., Any], tiny_gguf: Path, tmp_path: Path
) -> None:
    out = tmp_path / "m.json"
    result = cli("weights", "commit", tiny_gguf, "--chunk-size", "4096", "--out", out)
    assert result.status == 0, result.stderr
    manifest = WeightManifest.from_json(out.read_bytes())
    assert result.stdout.strip() == manifest.weight_hash
    assert manifest == commit_file(tiny_gguf, chunk_size=4096)
    assert "4 tensors" in result.stderr
    assert json.loads(out.read_text())["format"] == "llmseal-weights/1"


def test_check_names_the_tensor_that_differs(
    cli: Callable[..., Any], tiny_gguf: Path, tmp_path: Path
) -> None:
    out = tmp_path / "m.json"
    assert cli("weights", "commit", tiny_gguf, "--out", out).status == 0
    same = cli("weights", "check", tiny_gguf, "--manifest", out)
    assert same.status == 0 and same.stdout.startswith("same ")
    data = bytearray(tiny_gguf.read_bytes())
    manifest = WeightManifest.from_json(out.read_bytes())
    target = manifest.tensor("blk.0.ffn_down.weight")
    assert target is not None
    data[target.region.offset + 10] ^= 0xFF
    other = tmp_path / "other.gguf"
    other.write_bytes(bytes(data))
    diff = cli("weights", "check", other, "--manifest", out)
    assert diff.status == 1
    assert "tensor blk.0.ffn_down.weight content" in diff.stdout


def test_bad_input_is_one_line_exit_2(cli: Callable[..., Any], tmp_path: Path) -> None:
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a model" * 100)
    result = cli("weights", "commit", junk, "--out", tmp_path / "m.json")
    assert result.status == 2
    assert result.stderr.count("\n") == 1 and "not a GGUF" in result.stderr
    assert not (tmp_path / "m.json").exists()
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "nope"}')
    good = write_gguf(tmp_path / "g.gguf")
    result = cli("weights", "check", good, "--manifest", bad)
    assert result.status == 2 and "format" in result.stderr
