"""Gateway replicas for the PostgreSQL tests: separate `llmseal serve` processes."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg

from tests.helpers import ServeProcess

REQUEST = {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]}


def replicas(upstream: str, store: str, root: Path, n: int, *extra: str) -> list[ServeProcess]:
    """``n`` gateways on one store; every replica has the first one's keys (and log key)."""
    first = root / "r0"
    running = [ServeProcess(["--upstream", upstream, "--data-dir", str(first),
                             "--store", store, *extra])]  # fmt: skip
    for i in range(1, n):
        data = root / f"r{i}"
        shutil.copytree(first, data, ignore=shutil.ignore_patterns("metrics", "recent"))
        running.append(ServeProcess(["--upstream", upstream, "--data-dir", str(data),
                                     "--store", store, *extra]))  # fmt: skip
    return running


def integrator_pid(url: str) -> int | None:
    """The process holding the log's advisory lock (its connection's application_name)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a"
            " ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted"
            " AND a.application_name LIKE 'llmseal-log-%'"
        ).fetchone()
    return int(row[0].rsplit("-", 1)[1]) if row else None
