"""The `postgres` bench group's log measurement runs (small) and reports what it says."""

from __future__ import annotations

from pathlib import Path

from llmseal.bench import GROUPS
from llmseal.bench.postgres import _log
from llmseal.devpostgres import PgCluster


def test_the_log_measurement_sequences_integrates_and_fails_over(
    pg_cluster: PgCluster, tmp_path: Path
) -> None:
    assert "postgres" in GROUPS
    url = pg_cluster.create_database()
    try:
        out = _log(url, tmp_path, 600)
    finally:
        pg_cluster.drop_database(url)
    assert out["entries"] == 600
    assert out["sequenced_per_s"] >= out["integrated_per_s"] > 0
    assert 0 < out["integrator_takeover_s"] < 30  # a hang guard, not a speed target
