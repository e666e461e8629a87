"""The log benchmarks over HTTP (:mod:`llmseal.bench.log`), load from ``wrk``.

* ``proofs_http``: a real ``llmseal log serve`` holding ``len(receipts)`` entries,
  ``GET /proof/<leaf hash>`` cycling over all of them at 32 connections; ``static``
  is the same ``wrk`` fetching the log's checkpoint file from a bare static file
  server (:mod:`llmseal.bench._beds.static_files`, what nginx or a CDN would do with the tiles).
* ``gateway_log``: ``llmseal serve`` (one worker, the ~2 KB bench pair, instant
  upstream) without a log, with the embedded log (``--log DIR``: receipts reach it
  through the outbox) and with ``--log-inline`` (each answer waits for its
  checkpoint and carries the proof), same run, 32 connections, plus p50/p99 at one
  connection — what inline costs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
import orjson

from llmseal.bench._support.payload import REQUEST
from llmseal.bench._support.procs import process as _process
from llmseal.bench.gateway import _LUA, _wrk
from llmseal.core.keyset import KeySet

__all__ = ["run"]

_PATHS_LUA = """
paths = {%s}
i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""
_DONE = _LUA[_LUA.index("done = ") :].replace("%%", "%")


def run(keys: KeySet, receipts: list[bytes], *, quick: bool) -> dict[str, Any]:
    wrk = shutil.which("wrk")
    if wrk is None:
        return {"proofs_http": {"error": "wrk is not installed (apt-get install wrk)"}}
    seconds = 3 if quick else 10
    with tempfile.TemporaryDirectory(prefix="llmseal-bench-loghttp-") as tmp:
        work = Path(tmp)
        keyfile = work / "keys.json"
        keyfile.write_text(json.dumps(keys.to_dict()))
        return {
            "proofs_http": _proofs_http(wrk, work, keyfile, receipts, seconds),
            "gateway_log": _gateway(wrk, work, seconds),
        }


def _proofs_http(
    wrk: str, work: Path, keyfile: Path, receipts: list[bytes], seconds: int
) -> dict[str, Any]:
    log_dir = work / "log"
    _cli("log", "init", "--dir", str(log_dir), "--origin", "bench.example/http")
    serve = [
        sys.executable,
        "-m",
        "llmseal",
        "log",
        "serve",
        "--dir",
        str(log_dir),
        "--port",
        "{port}",
        "--keys",
        str(keyfile),
        "--log-level",
        "error",
    ]
    with _process(serve, health="/checkpoint") as port:
        url = f"http://127.0.0.1:{port}"
        leaves = []
        with httpx.Client(timeout=60) as client:
            for n in range(0, len(receipts), 1024):
                body = b"[" + b",".join(receipts[n : n + 1024]) + b"]"
                answer = client.post(f"{url}/add", content=body)
                answer.raise_for_status()
                leaves += [item["leaf_hash"] for item in answer.json()]
            proof = client.get(f"{url}/proof/{leaves[-1]}?wait=30")  # the last checkpoint
            proof.raise_for_status()
        script = work / "proofs.lua"
        script.write_text(_PATHS_LUA % ",".join(f'"/proof/{leaf}"' for leaf in leaves) + _DONE)
        _wrk(wrk, script, url + "/", connections=8, seconds=1)  # warm-up
        ours = _wrk(wrk, script, url + "/", connections=32, seconds=seconds)
    static = [
        sys.executable,
        "-m",
        "llmseal.bench._beds.static_files",
        str(log_dir / "public"),
        "{port}",
    ]
    with _process(static) as port:
        checkpoint = work / "checkpoint.lua"
        checkpoint.write_text(_PATHS_LUA % '"/checkpoint"' + _DONE)
        raw = _wrk(wrk, checkpoint, f"http://127.0.0.1:{port}/", connections=32, seconds=seconds)
    return {
        "ops_per_s": ours["rps"],
        "static_ops_per_s": raw["rps"],
        "vs_static": round(ours["rps"] / raw["rps"], 3),
        "entries": len(leaves),
        "proof_bytes": len(proof.content),
        "errors": ours["errors"] + ours["non2xx"],
        "p99_ms": ours["p99_ms"],
        "target_ops_per_s": 10_000,
    }


def _gateway(wrk: str, work: Path, seconds: int) -> dict[str, Any]:
    plain = work / "plain.lua"
    plain.write_text(_LUA % orjson.dumps(REQUEST).decode())
    runs: dict[str, dict[str, Any]] = {}
    with _process(
        [sys.executable, "-m", "llmseal.bench._beds.mock_upstream", "{port}"]
    ) as upstream:
        for name, extra in (("none", []), ("embedded", ["--log"]), ("inline", ["--log"])):
            data = work / f"gateway-{name}"
            options = [*extra, str(data / "log")] if extra else []
            if name == "inline":
                options.append("--log-inline")
            command = [
                sys.executable,
                "-m",
                "llmseal",
                "serve",
                "--upstream",
                f"http://127.0.0.1:{upstream}",
                "--port",
                "{port}",
                "--workers",
                "1",
                "--data-dir",
                str(data),
                "--log-level",
                "error",
                *options,
            ]
            with _process(command, health="/healthz") as port:
                target = f"http://127.0.0.1:{port}/v1/chat/completions"
                _wrk(wrk, plain, target, connections=8, seconds=1)  # warm-up
                many = _wrk(wrk, plain, target, connections=32, seconds=seconds)
                one = _wrk(wrk, plain, target, connections=1, seconds=seconds)
            runs[name] = {
                "rps_32": many["rps"],
                "p50_ms_1": one["p50_ms"],
                "p99_ms_1": one["p99_ms"],
                "errors": many["errors"] + many["non2xx"],
            }
    base = runs["none"]["rps_32"]
    return {
        **{f"{name}_{key}": value for name, row in runs.items() for key, value in row.items()},
        "embedded_vs_none": round(runs["embedded"]["rps_32"] / base, 3),
        "inline_vs_none": round(runs["inline"]["rps_32"] / base, 3),
        "inline_added_p50_ms_1": round(runs["inline"]["p50_ms_1"] - runs["none"]["p50_ms_1"], 3),
        "target_embedded_vs_none": 0.8,
    }


def _cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "llmseal", *args], check=True, capture_output=True)
