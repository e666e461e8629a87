"""Shared fixtures: vectors as data files, a CLI runner, fixed times and keys."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# A deadline is a timed assertion: on a shared, busy machine a slow example is not a bug.
settings.register_profile("llmseal", deadline=None, print_blob=True)
settings.load_profile("llmseal")

VECTORS = Path(__file__).parent / "vectors"


@pytest.fixture
def vector() -> Callable[[str], Path]:
    """Path of a vector file under tests/vectors/."""

    def _get(name: str) -> Path:
        path = VECTORS / name
        assert path.exists(), path
        return path

    return _get


@pytest.fixture(scope="session")
def attest_vectors() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / "attest-v0.3" / "vectors.json").read_text())
    return data


@dataclass
class CliResult:
    status: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``llmseal ARGS...`` in-process through the real error boundary."""
    from llmseal.cli import main

    def _run(*args: str | Path) -> CliResult:
        capsys.readouterr()
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else 1
        else:  # pragma: no cover - main always exits
            status = 0
        out = capsys.readouterr()
        return CliResult(status, out.out, out.err)

    return _run


@pytest.fixture
def t0() -> datetime:
    return datetime(2026, 4, 12, 14, 32, 0, tzinfo=UTC)


@pytest.fixture
def python() -> str:
    return sys.executable
