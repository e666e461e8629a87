"""The real SmolLM2-135M model server, started once per test session (never mocked)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llmseal.devserver import ModelServer


@pytest.fixture(scope="session")
def model_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("model") / "server.log"
    # No skip: if the real model cannot start, the tests that need it fail.
    with ModelServer(log=log) as server:
        yield server.url
