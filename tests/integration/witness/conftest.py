"""Fixtures for the witness integration tests."""

from __future__ import annotations

import pytest

from tests.integration.log.gopeer import GoPeer
from tests.integration.log.gopeer import build as build_log_peer
from tests.integration.witness.gopeer import WitnessPeer, build


@pytest.fixture(scope="session")
def witness_peer(tmp_path_factory: pytest.TempPathFactory) -> WitnessPeer:
    return build(tmp_path_factory.mktemp("witnesspeer"))


@pytest.fixture(scope="session")
def log_peer(tmp_path_factory: pytest.TempPathFactory) -> GoPeer:
    return build_log_peer(tmp_path_factory.mktemp("tlogpeer"))
