"""Fixtures for the transparency-log integration tests."""

from __future__ import annotations

import pytest

from tests.integration.log.gopeer import GoPeer, build


@pytest.fixture(scope="session")
def go_peer(tmp_path_factory: pytest.TempPathFactory) -> GoPeer:
    return build(tmp_path_factory.mktemp("gopeer"))
