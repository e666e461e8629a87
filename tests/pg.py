"""PostgreSQL for the tests: one throwaway cluster per test session, a fresh database
per test module (``pg_url``), all on loopback. Never skipped: a missing PostgreSQL is
a failure (scripts/install-system.sh installs Debian's ``postgresql``).

Import the fixtures into a conftest (``from tests.pg import pg_cluster, pg_url``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llmseal.devpostgres import PgCluster

__all__ = ["pg_cluster", "pg_url"]


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    cluster = PgCluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def pg_url(pg_cluster: PgCluster) -> Iterator[str]:
    """A database of its own for this test module, dropped at its end."""
    url = pg_cluster.create_database()
    try:
        yield url
    finally:
        pg_cluster.drop_database(url)
