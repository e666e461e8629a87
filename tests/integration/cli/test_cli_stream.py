"""``llmseal verify`` on a saved stream (``curl -N ... > answer.sse``), both framings."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmseal.core.framing import receipt_comment

LEGACY = Path(__file__).parents[2] / "vectors" / "streams" / "framing-1"


def _args(name: str) -> tuple[Path | str, ...]:
    return ("--keys", LEGACY / f"{name}.keys.json", "--prompt", LEGACY / f"{name}.request.json")


@pytest.mark.parametrize("name", ["chat", "completions", "messages"])
def test_saved_round_one_streams_verify(name: str, cli: Callable[..., Any]) -> None:
    result = cli("verify", LEGACY / f"{name}.sse", *_args(name), "--json")
    assert result.status == 0, result.stderr
    assert result.json()["status"] == "valid"
    assert result.json()["content_checked"] == ["prompt", "output"]


def test_a_stream_moved_to_framing_two_verifies_and_an_edit_fails(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    raw = (LEGACY / "chat.sse").read_bytes()
    events = raw.split(b"\n\n")
    legacy = next(e for e in events if b'"receipt"' in e)
    receipt = legacy[legacy.index(b'"receipt":') + 10 : -1]
    moved = raw.replace(legacy + b"\n\n", receipt_comment(receipt))
    (tmp_path / "answer.sse").write_bytes(moved)
    assert cli("verify", tmp_path / "answer.sse", *_args("chat")).status == 0
    (tmp_path / "edited.sse").write_bytes(moved.replace(b'"blue"', b'"ultraviolet"'))
    result = cli("verify", tmp_path / "edited.sse", *_args("chat"))
    assert result.status == 1 and result.stdout.startswith("tampered")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'data: {"a": 1}\n\ndata: [DONE]\n\n', "holds no receipt"),
        (b"data: {oops\n\n", "not valid JSON|JSON"),
        (b': llmseal-receipt 9 {"receipt":{}}\n\n', "framing 9 is not supported"),
        (b"hello\n", "is not valid JSON|JSON"),
    ],
)
def test_unusable_streams_exit_2(
    content: bytes, message: str, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    (tmp_path / "bad.sse").write_bytes(content)
    result = cli("verify", tmp_path / "bad.sse", *_args("chat"))
    assert result.status == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert re.search(message, result.stderr), result.stderr
