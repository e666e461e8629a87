"""A PostgreSQL cluster for the whole session, a fresh database per module (tests/pg.py)."""

from __future__ import annotations

from tests.pg import pg_cluster, pg_url

__all__ = ["pg_cluster", "pg_url"]
