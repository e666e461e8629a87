"""The sdist and the wheel, built once per session the way a release is (``python -m build``),
and a fresh venv holding only the wheel and its base dependencies.

``python -m build`` builds the sdist, then the wheel from the unpacked sdist, each in
an isolated environment whose setuptools comes from the configured package index
(the build needs no compiler: the C accelerator is optional, see setup.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3]
BUILD_TIMEOUT = 600
# What the fresh venv runs with: nothing of this checkout or this venv leaks in.
CLEAN_ENV = {
    k: v for k, v in os.environ.items()
    if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV") and not k.startswith("LLMSEAL_")
}  # fmt: skip


@dataclass(frozen=True)
class Dist:
    sdist: Path
    wheel: Path


@dataclass(frozen=True)
class FreshVenv:
    root: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    @property
    def llmseal(self) -> Path:
        return self.root / "bin" / "llmseal"


def run(args: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    kwargs.setdefault("env", CLEAN_ENV)
    done: subprocess.CompletedProcess[str] = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=BUILD_TIMEOUT,
        check=False, **kwargs,  # type: ignore[call-overload]
    )  # fmt: skip
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", out, ROOT])
    (sdist,) = out.glob("llmseal-*.tar.gz")
    (wheel,) = out.glob("llmseal-*.whl")
    return Dist(sdist, wheel)


@pytest.fixture(scope="session")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory, dist: Dist) -> FreshVenv:
    """``python -m venv`` + ``pip install <wheel>``: nothing else, no extras."""
    root = tmp_path_factory.mktemp("fresh") / "venv"
    venv.create(root, with_pip=True, clear=True)
    made = FreshVenv(root)
    run([made.python, "-m", "pip", "install", "-q", "--disable-pip-version-check", dist.wheel])
    return made
