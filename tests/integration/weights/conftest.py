"""Real model files: SmolLM2 (the committed weights) and its substitutes, cached on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmseal.devmodels import gemma_path, requantized, smollm2_path
from llmseal.weights import WeightManifest, commit_file


@pytest.fixture(scope="session")
def smollm2() -> Path:
    return smollm2_path()


@pytest.fixture(scope="session")
def smollm2_manifest(smollm2: Path) -> WeightManifest:
    return commit_file(smollm2)


@pytest.fixture(scope="session")
def q4_0() -> Path:
    return requantized("Q4_0")


@pytest.fixture(scope="session")
def q2_k() -> Path:
    return requantized("Q2_K")


@pytest.fixture(scope="session")
def gemma() -> Path:
    return gemma_path()
