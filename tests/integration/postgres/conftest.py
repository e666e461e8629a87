"""A PostgreSQL cluster for the whole session, a fresh database per module (tests/pg.py),
and the fake upstream the gateway replicas forward to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers import ThreadedUvicorn
from tests.integration.gateway.fake_upstream import FakeUpstream
from tests.pg import pg_cluster, pg_url

__all__ = ["pg_cluster", "pg_url", "upstream"]


@pytest.fixture
def upstream() -> Iterator[str]:
    with ThreadedUvicorn(FakeUpstream().app) as server:
        yield server.url
