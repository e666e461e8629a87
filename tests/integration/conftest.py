"""Shared by the integration tests: one SoftHSM2 token store per session (SoftHSM reads
its configuration once per process, so every token is made before the module loads)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest

from llmseal.bench._beds.softhsm import SoftHsm, init_softhsm

TOKENS = ("llmseal-main", "llmseal-errors", "llmseal-gateway")


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHsm]:
    """Initialized tokens; raises (the tests fail) when SoftHSM2 is missing."""
    before = os.environ.get("SOFTHSM2_CONF")
    yield init_softhsm(tmp_path_factory.mktemp("softhsm"), TOKENS)
    if before is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = before


@pytest.fixture
def pin_env(softhsm: SoftHsm, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("LLMSEAL_TEST_PIN", softhsm.pin)
    monkeypatch.setenv("LLMSEAL_WRONG_PIN", "0000-wrong")
    return "LLMSEAL_TEST_PIN"


@pytest.fixture
def label() -> Callable[[str], str]:
    """A key label (or key id part) no other test uses: the tokens live for the whole
    session, and a test run twice in one process must not meet its own earlier key."""

    def unique(stem: str) -> str:
        return f"{stem}-{uuid.uuid4().hex[:10]}"

    return unique
