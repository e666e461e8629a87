"""PostgreSQL benchmark (issue 14): the shared store and log against the embedded defaults.

Same run, same machine, one throwaway PostgreSQL cluster (fsync on, Debian's
defaults otherwise) on loopback:

* signed requests/s through ``llmseal serve --workers 2`` at 32 connections with the
  SQLite shards and with ``--store postgresql://…``, and p50/p99 at 1 connection —
  the ratio ``pg_vs_sqlite_rps`` is the target (≥ 0.8);
* PostgreSQL round trips per stored receipt at that load: statements the gateways
  sent (``pg_stat_statements``; each is one round trip) over receipts stored
  (target ≤ 0.1);
* log entries/s sequenced *and* integrated (tiles, signed checkpoint) by a replica of
  the PostgreSQL log (target ≥ 3,000/s), two replicas submitting, and how long the log
  is without an integrator after the integrator's database session is cut (one of
  the two replicas — whichever takes the advisory lock first — integrates again).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from llmseal.bench._support.payload import REQUEST
from llmseal.bench._support.procs import process
from llmseal.bench.gateway import _LUA, _wrk
from llmseal.devpostgres import PgCluster

__all__ = ["run"]


def run(*, quick: bool) -> dict[str, Any]:
    wrk = shutil.which("wrk")
    if wrk is None:
        return {"postgres": {"error": "wrk is not installed (apt-get install wrk)"}}
    seconds = 3 if quick else 10
    with (
        tempfile.TemporaryDirectory(prefix="llmseal-bench-pg-") as tmp,
        PgCluster(stat_statements=True) as cluster,
    ):
        work = Path(tmp)
        plain = work / "plain.lua"
        plain.write_text(_LUA % orjson.dumps(REQUEST).decode())
        out: dict[str, Any] = {}
        with process([sys.executable, "-m", "llmseal.bench._beds.mock_upstream", "{port}"]) as up:
            upstream = f"http://127.0.0.1:{up}"
            sqlite = _gateway(wrk, plain, upstream, work / "sqlite", None, seconds)
            url = cluster.create_database("bench_store")
            pg = _gateway(wrk, plain, upstream, work / "pg", url, seconds)
        out["sqlite_shards"] = sqlite
        out["postgres_store"] = pg
        out["pg_vs_sqlite_rps"] = round(pg["signed_rps_32"] / max(sqlite["signed_rps_32"], 1), 3)
        out["added_p50_ms_1"] = round(pg["p50_ms_1"] - sqlite["p50_ms_1"], 3)
        out["added_p99_ms_1"] = round(pg["p99_ms_1"] - sqlite["p99_ms_1"], 3)
        out["log"] = _log(cluster.create_database("bench_log"), work, 5000 if quick else 30000)
    return {"postgres": out}


def _statements(url: str) -> tuple[int, int]:
    """(statements the gateways sent to this database, receipts stored), from
    pg_stat_statements (updated as each statement ends)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        row = conn.execute(
            "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s JOIN pg_database d"
            " ON d.oid = s.dbid WHERE d.datname = current_database()"
            " AND s.query NOT ILIKE '%pg_stat_statements%'"
            " AND s.query NOT ILIKE 'SELECT count(*) FROM receipts%'"
        ).fetchone()
        count = conn.execute("SELECT count(*) FROM receipts").fetchone()
    return int(row[0]) if row else 0, int(count[0]) if count else 0


def _gateway(
    wrk: str, plain: Path, upstream: str, data: Path, store: str | None, seconds: int
) -> dict[str, Any]:
    command = [
        *(sys.executable, "-m", "llmseal", "serve", "--upstream", upstream),
        *("--port", "{port}", "--workers", "2", "--data-dir", str(data), "--no-dashboard"),
        *(("--store", store) if store else ()),
        *("--log-level", "error"),
    ]
    with process(command, health="/healthz") as port:
        gateway = f"http://127.0.0.1:{port}/v1/chat/completions"
        _wrk(wrk, plain, gateway, connections=8, seconds=1)  # warm-up
        before = _statements(store) if store else None
        loaded = _wrk(wrk, plain, gateway, connections=32, seconds=seconds)
        after = _statements(store) if store else None
        one = _wrk(wrk, plain, gateway, connections=1, seconds=seconds)
    result: dict[str, Any] = {
        "signed_rps_32": loaded["rps"],
        "errors": loaded["errors"] + loaded["non2xx"],
        "p50_ms_1": one["p50_ms"],
        "p99_ms_1": one["p99_ms"],
    }
    if before is not None and after is not None:
        stored = after[1] - before[1]
        result["receipts_stored"] = stored
        result["round_trips_per_receipt"] = round((after[0] - before[0]) / max(stored, 1), 4)
    return result


def _log(url: str, work: Path, entries: int) -> dict[str, Any]:
    import psycopg

    from llmseal.core.keyset import KeySet
    from llmseal.log.service.pgservice import init_pg_log, open_pg_log
    from llmseal.log.service.replicated import ReplicatedSequencer
    from llmseal.log.storage.base import PendingEntry
    from llmseal.log.tree.merkle import leaf_hash

    init_pg_log(url, "bench.example/log", work / "logkey")
    a = open_pg_log(url, work / "logkey", keys=KeySet([]), lead_interval=0.05)
    b = open_pg_log(url, work / "logkey", keys=KeySet([]), lead_interval=0.05)
    try:
        seq_a, seq_b = a.sequencer, b.sequencer
        assert isinstance(seq_a, ReplicatedSequencer) and isinstance(seq_b, ReplicatedSequencer)
        deadline = time.monotonic() + 30
        while not (seq_a.leading or seq_b.leading) and time.monotonic() < deadline:
            time.sleep(0.01)
        datas = [
            orjson.dumps({"receipt_id": f"bench-{i}", "pad": "x" * 400}) for i in range(entries)
        ]
        pending = [PendingEntry(d, leaf_hash(d), f"bench-{i}") for i, d in enumerate(datas)]
        half = entries // 2
        start = time.perf_counter()
        futures = a.submit_entries(pending[:half]) + b.submit_entries(pending[half:])
        for future in futures:
            future.result(120)
        sequenced = time.perf_counter() - start
        a.sequencer.wait_published(entries, timeout=300)
        integrated = time.perf_counter() - start
        leader, other = (seq_a, seq_b) if seq_a.leading else (seq_b, seq_a)
        with psycopg.connect(url, autocommit=True) as conn:  # the integrator's session dies
            cut = time.perf_counter()
            conn.execute(
                "SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_stat_activity s"
                " ON s.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted"
                " AND s.application_name LIKE 'llmseal-log-%'"
            )
        while not (other.leading or leader.leading) and time.perf_counter() - cut < 30:
            time.sleep(0.005)
        takeover = time.perf_counter() - cut
    finally:
        a.close()
        b.close()
    return {
        "entries": entries,
        "sequenced_per_s": round(entries / sequenced),
        "integrated_per_s": round(entries / integrated),
        "integrator_takeover_s": round(takeover, 3),
    }
