"""Gateway configuration with PostgreSQL locations (no database needed to check them)."""

from __future__ import annotations

import pytest

from llmseal.errors import ConfigError
from llmseal.gateway.config.config import GatewayConfig
from llmseal.store.opening import commits_block
from llmseal.store.pg import describe, is_postgres_url

URL = "postgresql://llmseal:secret@db.internal:5432/fleet"


def test_the_store_location_defaults_to_the_data_directory() -> None:
    config = GatewayConfig(upstream="http://127.0.0.1:1", data_dir="/srv/data")
    assert config.store_location == "/srv/data/receipts"
    assert GatewayConfig(upstream="http://x", data_dir="d", store=URL).store_location == URL


def test_remote_and_durable_stores_commit_off_the_loop() -> None:
    assert commits_block(URL) and commits_block("postgres://h/db")
    assert not commits_block("/srv/data/receipts") and commits_block("d", durable=True)
    assert is_postgres_url(URL) and not is_postgres_url("postgresql") and not is_postgres_url(None)


def test_messages_never_show_the_password() -> None:
    assert describe(URL) == "postgresql://llmseal@db.internal:5432/fleet"
    assert describe("postgresql://h/db") == "postgresql://h/db"


def test_witnessing_a_postgres_log_is_refused_not_ignored() -> None:
    with pytest.raises(ConfigError, match="not PostgreSQL"):
        GatewayConfig(upstream="http://x", data_dir="d", log_dir=URL, log_witness_policy="p")
