"""The sdist and the wheel hold what they should and nothing else (issue 16, item 6)."""

from __future__ import annotations

import email
import os
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.integration.packaging.conftest import ROOT, Dist

pytestmark = pytest.mark.slow  # python -m build, its isolated environment from the index

SRC = ROOT / "src" / "llmseal"
BASE = {"cryptography", "orjson", "rfc8785", "click", "rich", "httpx"}
EXTRAS = set(
    tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
)
JUNK = (".venv/", "__pycache__", ".pyc", ".so", ".pytest_cache", ".mypy_cache", ".ruff_cache",
        ".hypothesis", "mutants/", "/build/", ".git/", "node_modules")  # fmt: skip


def _package_files() -> set[str]:
    """The package as it is in the checkout: its modules, stubs, static files, marker
    (static/js is a link to js/src there: followed)."""
    found = set()
    for folder, _dirs, files in os.walk(SRC, followlinks=True):
        for name in files:
            path = Path(folder, name)
            rel = path.relative_to(SRC.parent).as_posix()
            if "__pycache__" not in rel and path.suffix not in (".so", ".c", ".pyc"):
                found.add(rel)
    return found


def test_the_sdist_has_the_sources_and_no_junk(dist: Dist) -> None:
    with tarfile.open(dist.sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    top = {
        "PKG-INFO",
        "README.md",
        "CHANGELOG.md",
        "LICENSE",
        "pyproject.toml",
        "setup.py",
        "MANIFEST.in",
    }
    assert top <= names, top - names
    assert "src/llmseal/core/_jcs.c" in names  # the accelerator builds from the sdist
    missing = {f"src/{f}" for f in _package_files()} - names
    assert not missing, missing
    junk = sorted(n for n in names if any(j in f"/{n}" for j in JUNK))
    assert not junk, junk
    assert not any(n.startswith(("tests/", "docs/", "js/", "scripts/")) for n in names)


def test_the_wheel_is_the_package_the_compiled_accelerator_and_metadata(dist: Dist) -> None:
    with zipfile.ZipFile(dist.wheel) as whl:
        names = set(whl.namelist())
        metadata = email.message_from_bytes(whl.read("llmseal-0.1.0.dist-info/METADATA"))
    info = {n for n in names if n.startswith("llmseal-0.1.0.dist-info/")}
    modules = names - info
    compiled = {n for n in modules if n.startswith("llmseal/core/_jcs.") and n.endswith(".so")}
    assert len(compiled) == 1, "the wheel carries the C accelerator"
    assert modules - compiled == _package_files()
    assert "llmseal/py.typed" in modules and "llmseal/gateway/web/static/js/verify.js" in modules
    assert {n.rsplit("/", 1)[1] for n in info} == {
        "METADATA", "WHEEL", "RECORD", "entry_points.txt", "top_level.txt", "LICENSE"
    }  # fmt: skip
    assert "llmseal-0.1.0.dist-info/licenses/LICENSE" in info  # PEP 639: the licence text
    assert (
        "llmseal = llmseal.cli:main"
        in zipfile.ZipFile(dist.wheel).read("llmseal-0.1.0.dist-info/entry_points.txt").decode()
    )

    requires = [Requirement(r) for r in metadata.get_all("Requires-Dist") or []]
    assert {r.name for r in requires if r.marker is None} == BASE
    assert set(metadata.get_all("Provides-Extra") or []) == EXTRAS
    assert metadata["Version"] == "0.1.0" and metadata["License-Expression"] == "Apache-2.0"


def test_the_checkout_is_left_clean_by_the_build(dist: Dist) -> None:
    # `python -m build` builds the wheel from the unpacked sdist: no build/ in the checkout,
    # whose stale files would otherwise slip into the next wheel.
    assert not (ROOT / "build").exists()
    assert dist.wheel.name.startswith("llmseal-0.1.0-cp3")  # platform wheel: compiled module
