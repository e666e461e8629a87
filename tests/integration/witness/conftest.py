"""Fixtures for the witness integration tests."""

from __future__ import annotations

import pytest

from tests.integration.witness.gopeer import WitnessPeer, build


@pytest.fixture(scope="session")
def witness_peer(tmp_path_factory: pytest.TempPathFactory) -> WitnessPeer:
    return build(tmp_path_factory.mktemp("witnesspeer"))
