"""Gateway benchmark: direct to an instant upstream vs through ``llmseal serve``.

Same run, same machine, same request (the ~2 KB bench pair): requests/s at 32
connections, latency p50/p99 at 1 connection (so the *added* latency is the
difference), and streaming time to first chunk. Load comes from ``wrk`` (C,
one thread) so the load generator costs little of the two cores; the upstream
is :mod:`llmseal.bench._beds.mock_upstream`, which answers in microseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from llmseal.bench._support.otel import tracing_overhead
from llmseal.bench._support.payload import REQUEST
from llmseal.bench._support.procs import process as _process

__all__ = ["run"]

_LUA = """
wrk.method = "POST"
wrk.body = [==[%s]==]
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%%d,"duration_us":%%d,"errors":%%d,"non2xx":%%d,' ..
    '"p50_us":%%d,"p99_us":%%d}\\n', summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout, e.status, latency:percentile(50),
    latency:percentile(99)))
end
"""


def run(*, quick: bool) -> dict[str, Any]:
    wrk = shutil.which("wrk")
    if wrk is None:
        return {"gateway": {"error": "wrk is not installed (apt-get install wrk)"}}
    seconds = 3 if quick else 10
    with tempfile.TemporaryDirectory(prefix="llmseal-bench-") as tmp:
        work = Path(tmp)
        plain = work / "plain.lua"
        stream = work / "stream.lua"
        plain.write_text(_LUA % orjson.dumps(REQUEST).decode())
        stream.write_text(_LUA % orjson.dumps({**REQUEST, "stream": True}).decode())
        with _process(
            [sys.executable, "-m", "llmseal.bench._beds.mock_upstream", "{port}"]
        ) as upstream:
            direct = f"http://127.0.0.1:{upstream}/v1/chat/completions"
            results = _measure_gateway(
                wrk, work, direct, upstream, plain, stream, seconds, workers=2
            )
            if not quick:
                one = _measure_gateway(
                    wrk, work, direct, upstream, plain, stream, seconds, workers=1
                )
                results["one_worker"] = {k: one[k] for k in ("signed_rps_32", "added_p50_ms_1")}
    results["tracing"] = tracing_overhead(quick=quick)  # the inference span, in-process
    return {"gateway": results}


def _measure_gateway(
    wrk: str,
    work: Path,
    direct: str,
    upstream: int,
    plain: Path,
    stream: Path,
    seconds: int,
    *,
    workers: int,
) -> dict[str, Any]:
    data = work / f"gateway-{workers}"
    command = [
        *(sys.executable, "-m", "llmseal", "serve", "--upstream", f"http://127.0.0.1:{upstream}"),
        *("--port", "{port}", "--workers", str(workers), "--data-dir", str(data)),
        *("--log-level", "error"),
    ]
    with _process(command, health="/healthz") as port:
        gateway = f"http://127.0.0.1:{port}/v1/chat/completions"
        _wrk(wrk, plain, gateway, connections=8, seconds=1)  # warm-up: connections, caches
        direct_32 = _wrk(wrk, plain, direct, connections=32, seconds=seconds)
        signed_32 = _wrk(wrk, plain, gateway, connections=32, seconds=seconds)
        direct_1 = _wrk(wrk, plain, direct, connections=1, seconds=seconds)
        signed_1 = _wrk(wrk, plain, gateway, connections=1, seconds=seconds)
        stream_32 = _wrk(wrk, stream, gateway, connections=32, seconds=seconds)
        ttfb_direct = _ttfb(direct, rounds=200 if seconds < 5 else 1000)
        ttfb_gateway = _ttfb(gateway, rounds=200 if seconds < 5 else 1000)
    return {
        "workers": workers,
        "direct_rps_32": direct_32["rps"],
        "signed_rps_32": signed_32["rps"],
        "signed_stream_rps_32": stream_32["rps"],
        "errors": signed_32["errors"] + signed_32["non2xx"] + stream_32["errors"],
        "direct_p50_ms_1": direct_1["p50_ms"],
        "direct_p99_ms_1": direct_1["p99_ms"],
        "signed_p50_ms_1": signed_1["p50_ms"],
        "signed_p99_ms_1": signed_1["p99_ms"],
        "added_p50_ms_1": round(signed_1["p50_ms"] - direct_1["p50_ms"], 3),
        "added_p99_ms_1": round(signed_1["p99_ms"] - direct_1["p99_ms"], 3),
        "stream_ttfb_direct_ms": ttfb_direct,
        "stream_ttfb_gateway_ms": ttfb_gateway,
        "stream_ttfb_added_ms": round(ttfb_gateway - ttfb_direct, 3),
    }


def _wrk(wrk: str, script: Path, url: str, *, connections: int, seconds: int) -> dict[str, Any]:
    argv = [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script)]
    proc = subprocess.run(
        [*argv, url], capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    for line in proc.stdout.splitlines():
        if line.startswith("WRKJSON "):
            data = json.loads(line[8:])
            return {
                "rps": round(data["requests"] / data["duration_us"] * 1e6),
                "p50_ms": data["p50_us"] / 1000,
                "p99_ms": data["p99_us"] / 1000,
                "errors": data["errors"],
                "non2xx": data["non2xx"],
            }
    raise RuntimeError(f"wrk failed: {proc.stderr.strip() or proc.stdout.strip()}")


def _ttfb(url: str, *, rounds: int) -> float:
    """Median ms from sending a streaming request to receiving its first SSE event."""
    host, port, path = _split(url)
    body = orjson.dumps({**REQUEST, "stream": True})
    request = (
        f"POST {path} HTTP/1.1\r\nhost: {host}:{port}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    ).encode() + body

    async def measure() -> float:
        samples = []
        for _ in range(rounds):
            reader, writer = await asyncio.open_connection(host, port)
            start = time.perf_counter()
            writer.write(request)
            seen = b""
            while b"data:" not in seen:
                data = await reader.read(65536)
                if not data:
                    raise RuntimeError(f"{url} closed the stream before the first event")
                seen += data
            samples.append(time.perf_counter() - start)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        return statistics.median(samples) * 1000

    return round(asyncio.run(measure()), 3)


def _split(url: str) -> tuple[str, int, str]:
    rest = url.split("://", 1)[1]
    hostport, path = rest.split("/", 1)
    host, port = hostport.rsplit(":", 1)
    return host, int(port), "/" + path
